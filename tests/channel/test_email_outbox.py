"""The local outbox adapter, its listing, the ``credira outbox`` command, and the factory."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from credira.channel.email import (
    OutboxSender,
    OutgoingEmail,
    SmtpSender,
    list_outbox,
    sender_from_settings,
)
from credira.cli import main
from credira.config import Settings
from credira.kit.clock import FrozenClock

T0 = datetime(2024, 1, 25, 14, 0, 0, 123456, tzinfo=UTC)


def email(n: int = 1, **changes: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "message_id": f"<em_{n}.a1@credira.example.com>",
        "from_address": "Acme Billing <billing@acme.example>",
        "to_address": f"debtor{n}@example.com",
        "to_name": "Zoë Ng",
        "subject": f"Invoice INV-{n} is overdue — reminder",
        "text": f"Hello Zoë,\ninvoice INV-{n} is overdue.\n",
        "html": f"<p>Hello Zo&euml;, invoice INV-{n} is overdue.</p>",
        "headers": {"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    }
    fields.update(changes)
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


def eml_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml"))


async def test_outbox_writes_the_message_as_an_eml_file(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"

    result = await OutboxSender(folder, clock=FrozenClock(T0)).send(email())

    [path] = eml_files(folder)
    assert path.name == "20240125T140000.123456Z-em_5F1.a1@credira.example.com.eml"
    assert result.status == "delivered"
    assert result.reply == f"250 written to the outbox as {path.name}"
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == "<em_1.a1@credira.example.com>"
    assert parsed["Subject"] == "Invoice INV-1 is overdue — reminder"
    assert parsed["Date"].datetime == T0.replace(microsecond=0)
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = parsed.get_body(("plain",))
    assert text is not None
    assert text.get_content().replace("\r\n", "\n") == "Hello Zoë,\ninvoice INV-1 is overdue.\n"
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


async def test_outbox_same_message_twice_writes_one_file(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    clock = FrozenClock(T0)
    sender = OutboxSender(folder, clock=clock)

    first = await sender.send(email())
    clock.set(T0 + timedelta(minutes=5))
    second = await sender.send(email(subject="changed on retry"))
    racing = await asyncio.gather(*(sender.send(email()) for _ in range(5)))
    # Another process (another sender object) on the same folder agrees.
    other = await OutboxSender(folder, clock=clock).send(email())

    [path] = eml_files(folder)
    assert first.reply == f"250 written to the outbox as {path.name}"
    assert {r.status for r in [second, *racing, other]} == {"delivered"}
    assert {r.reply for r in [second, *racing, other]} == {
        f"250 already in the outbox as {path.name}"
    }
    assert b"changed on retry" not in path.read_bytes()


async def test_outbox_distinct_message_ids_never_share_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    sender = OutboxSender(folder)
    ids = ["<a/b@x.example>", "<a_2Fb@x.example>", "<a.b@x.example>", "<A.b@x.example>"]
    ids.append("<" + "k" * 300 + "@x.example>")
    ids.append("<" + "k" * 300 + "j@x.example>")

    for message_id in ids:
        assert (await sender.send(email(message_id=message_id))).status == "delivered"

    assert sorted(entry.message_id for entry in list_outbox(folder)) == sorted(ids)
    assert all(len(path.name) < 255 for path in eml_files(folder))


async def test_outbox_refuses_an_invalid_message_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"

    result = await OutboxSender(folder).send(email(subject="a\nb"))

    assert result.status == "permanent_failure"
    assert result.reply is not None
    assert result.reply.startswith("invalid message: subject")
    assert eml_files(folder) == []


async def test_outbox_unwritable_folder_is_a_temporary_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the folder should be")

    result = await OutboxSender(blocker).send(email())

    assert result.status == "temporary_failure"
    assert result.reply is not None
    assert result.reply.startswith("cannot write the outbox:")


async def _fill(folder: Path, count: int) -> None:
    clock = FrozenClock(T0)
    sender = OutboxSender(folder, clock=clock)
    for n in range(1, count + 1):
        clock.set(T0 + timedelta(hours=n))
        await sender.send(email(n))


async def test_list_outbox_newest_first(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    await _fill(folder, 3)
    (folder / "notes.txt").write_text("not a message")

    entries = list_outbox(folder)

    newest_first = [f"<em_{n}.a1@credira.example.com>" for n in (3, 2, 1)]
    assert [e.message_id for e in entries] == newest_first
    assert [e.date for e in entries] == [
        (T0 + timedelta(hours=n)).replace(microsecond=0) for n in (3, 2, 1)
    ]
    assert entries[0].to == "Zoë Ng <debtor3@example.com>"
    assert entries[0].subject == "Invoice INV-3 is overdue — reminder"
    assert entries[0].path.parent == folder
    assert [e.message_id for e in list_outbox(folder, limit=1)] == [entries[0].message_id]
    assert list_outbox(tmp_path / "missing") == []


def run_cli(data_dir: Path, *args: str) -> tuple[int, str]:
    env = {"CREDIRA_DATA_DIR": str(data_dir), "CREDIRA_SMTP_URL": None}
    result = CliRunner().invoke(main, ["outbox", *args], env=env)
    return result.exit_code, result.output


async def test_cli_outbox_lists_and_shows_messages(tmp_path: Path) -> None:
    await _fill(tmp_path / "outbox", 3)

    code, output = run_cli(tmp_path)
    assert code == 0, output
    header, *rows = output.splitlines()
    assert header.split() == ["DATE", "(UTC)", "TO", "SUBJECT", "MESSAGE-ID"]
    assert [row.split()[-1] for row in rows] == [
        f"<em_{n}.a1@credira.example.com>" for n in (3, 2, 1)
    ]
    assert rows[0].startswith("2024-01-25 17:00:00  Zoë Ng <debtor3@example.com>")
    assert "Invoice INV-3 is overdue — reminder" in rows[0]

    code, output = run_cli(tmp_path, "--limit", "1")
    assert (code, len(output.splitlines())) == (0, 2)

    for message_id in ("<em_2.a1@credira.example.com>", "em_2.a1@credira.example.com"):
        code, output = run_cli(tmp_path, "--show", message_id)
        assert code == 0, output
        assert "Subject: Invoice INV-2 is overdue — reminder" in output
        assert "Message-ID: <em_2.a1@credira.example.com>" in output
        assert output.replace("\r\n", "\n").endswith("\nHello Zoë,\ninvoice INV-2 is overdue.\n")


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        ((), 0, "is empty"),
        (("--show", "<nope@credira.example.com>"), 1, "no message <nope@credira.example.com>"),
        (("--limit", "0"), 2, "--limit"),
    ],
)
def test_cli_outbox_empty_unknown_and_bad_input(
    tmp_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    exit_code, output = run_cli(tmp_path, *args)

    assert exit_code == code
    assert says in output


def test_factory_picks_outbox_without_smtp_url_and_smtp_with_it(tmp_path: Path) -> None:
    outbox = sender_from_settings(Settings(data_dir=tmp_path, smtp_url=None))
    smtp = sender_from_settings(
        Settings(data_dir=tmp_path, smtp_url="smtps://u:secret@mail.example.com")
    )

    assert isinstance(outbox, OutboxSender)
    assert outbox.folder == tmp_path / "outbox"
    assert isinstance(smtp, SmtpSender)
    assert (smtp.config.host, smtp.config.port, smtp.config.implicit_tls) == (
        "mail.example.com",
        465,
        True,
    )
    assert "secret" not in repr(smtp)
    with pytest.raises(ValueError, match="invalid CREDIRA_SMTP_URL"):
        sender_from_settings(Settings(data_dir=tmp_path, smtp_url="smtp://h?tls=1"))


async def test_outbox_refused_hand_over_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    sender = OutboxSender(folder, clock=FrozenClock(T0))

    async def hand_over() -> None:
        raise RuntimeError("another attempt took this email over")

    result = await sender.send(email(), hand_over=hand_over)

    assert result.status == "temporary_failure"
    assert result.reply == "not sent: another attempt took this email over"
    assert eml_files(folder) == []
