"""The embedded default: every email becomes a ``.eml`` file in a local folder.

``<folder>/<UTC timestamp>-<message id>.eml`` holds the exact bytes SMTP would carry; any
mail client opens it, and ``credira outbox`` lists them. Each file appears whole (written to a
temporary file, then renamed). A message is written once per Message-ID, whichever process
sends it: ``<folder>/.sent/<message id>`` is claimed with an exclusive create before the file
is published, so a retried attempt finds the claim and writes nothing. (A crash between the
claim and the rename leaves the message in a ``.tmp`` file and the claim standing: the retry
then reports it delivered; that is the price of never writing it twice.)
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import structlog

from credira.channel.email.mime import encode_message
from credira.channel.email.port import HandOver, OutgoingEmail, SendResult
from credira.kit.clock import Clock, SystemClock

log = structlog.get_logger("credira.email")

CLAIMS = ".sent"
_STAMP = "%Y%m%dT%H%M%S.%fZ"
_NAME_RE = re.compile(r"(\d{8}T\d{6}\.\d{6}Z)-(.+)\.eml")
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.@-")
_MAX_SAFE = 160


def safe_message_id(message_id: str) -> str:
    """A file-name-safe, one-to-one spelling of a Message-ID: the brackets dropped, any other
    character than letters, digits, ``.@-`` written ``_XX`` (its code in hex)."""
    inner = message_id.strip()
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    safe = "".join(c if c in _SAFE else "".join(f"_{b:02X}" for b in c.encode()) for c in inner)
    if len(safe) > _MAX_SAFE:  # keep file names short; the digest keeps them distinct
        digest = hashlib.sha256(inner.encode()).hexdigest()[:16]
        safe = f"{safe[: _MAX_SAFE - 17]}~{digest}"
    return safe


@dataclass(frozen=True)
class OutboxEntry:
    path: Path
    date: datetime
    to: str
    subject: str
    message_id: str


class OutboxSender:
    name = "outbox"
    # A Message-ID is written once whoever sends it: an attempt whose outcome went unrecorded
    # is safely sent again.
    dedupes = True

    def __init__(self, folder: Path, *, clock: Clock | None = None) -> None:
        self.folder = folder
        self._clock = clock or SystemClock()

    def __repr__(self) -> str:
        return f"OutboxSender({str(self.folder)!r})"

    async def send(
        self, message: OutgoingEmail, *, hand_over: HandOver | None = None
    ) -> SendResult:
        now = self._clock.now()
        try:
            data = encode_message(message, date=now).data
        except ValueError as exc:
            return SendResult("permanent_failure", f"invalid message: {exc}")
        if hand_over is not None:
            try:
                await hand_over()
            except Exception as exc:
                return SendResult("temporary_failure", f"not sent: {exc}"[:500])
        try:
            name, written = await asyncio.to_thread(self._write, message.message_id, data, now)
        except OSError as exc:
            return SendResult("temporary_failure", f"cannot write the outbox: {exc}")
        if not written:
            log.info("email.outbox.duplicate", message_id=message.message_id, file=name)
            where = f" as {name}" if name else ""
            return SendResult("delivered", f"250 already in the outbox{where}")
        log.info("email.outbox.delivered", message_id=message.message_id, file=name)
        return SendResult("delivered", f"250 written to the outbox as {name}")

    def _write(self, message_id: str, data: bytes, now: datetime) -> tuple[str, bool]:
        safe = safe_message_id(message_id)
        claims = self.folder / CLAIMS
        claims.mkdir(parents=True, exist_ok=True)
        claim = claims / safe
        if claim.exists():
            return _read_claim(claim), False
        name = f"{now.astimezone(UTC).strftime(_STAMP)}-{safe}.eml"
        temp = self.folder / f".{secrets.token_hex(8)}.tmp"
        try:
            with temp.open("xb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            try:
                fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:  # another sender won the race for this Message-ID
                return _read_claim(claim), False
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as file:
                    file.write(name)
                os.replace(temp, self.folder / name)
            except OSError:  # not published: release the claim so that a retry writes it
                claim.unlink(missing_ok=True)
                raise
        finally:
            temp.unlink(missing_ok=True)
        return name, True


def _read_claim(claim: Path) -> str:
    try:
        return claim.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def _entry(path: Path, stamp: str) -> OutboxEntry:
    with path.open("rb") as file:
        headers = BytesParser(policy=policy.default).parse(file, headersonly=True)
    written = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    date_header = headers["Date"]
    when = getattr(date_header, "datetime", None) if date_header is not None else None
    return OutboxEntry(
        path=path,
        date=when.astimezone(UTC) if isinstance(when, datetime) and when.tzinfo else written,
        to=str(headers["To"] or ""),
        subject=str(headers["Subject"] or ""),
        message_id=str(headers["Message-ID"] or ""),
    )


def _files(folder: Path) -> list[tuple[str, str, Path]]:
    """(timestamp, safe message id, path) of every message in the folder, newest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _NAME_RE.fullmatch(path.name)
        if match and path.is_file():
            found.append((match.group(1), match.group(2), path))
    found.sort(key=lambda item: item[2].name, reverse=True)
    return found


def list_outbox(folder: Path, *, limit: int | None = None) -> list[OutboxEntry]:
    """The messages in the outbox, newest first (at most ``limit`` of them)."""
    files = _files(folder)
    return [_entry(path, stamp) for stamp, _, path in files[:limit]]


def find_outbox_message(folder: Path, message_id: str) -> EmailMessage | None:
    """The message written for ``message_id`` (with or without its angle brackets)."""
    safe = safe_message_id(message_id)
    claimed = _read_claim(folder / CLAIMS / safe)
    candidates = [folder / claimed] if _NAME_RE.fullmatch(claimed) else []
    candidates += [path for _, found, path in _files(folder) if found == safe]
    for path in candidates:
        if path.is_file():
            with path.open("rb") as file:
                return BytesParser(policy=policy.default).parse(file)
    return None
