"""Reading a CSV of invoices: every row checked by the rules ``POST /v1/invoices`` applies,
before anything is written, each refusal named by line, column and reason. Pure: no SQL.

Columns (a header row names them, in any order): ``number``, ``amount``, ``currency``,
``due_date`` (YYYY-MM-DD) and ``customer_name`` are required; ``customer_email``,
``customer_phone`` (E.164), ``customer_timezone`` (IANA) and ``payment_url`` optional; every
``metadata.<key>`` column becomes that metadata key. An empty cell is a value left out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from credira.invoice.schemas import InvoiceCreate
from credira.kit.validation import currency_precision

REQUIRED = ("number", "amount", "currency", "due_date", "customer_name")
OPTIONAL = ("customer_email", "customer_phone", "customer_timezone", "payment_url")
COLUMNS = REQUIRED + OPTIONAL
METADATA_PREFIX = "metadata."
_CUSTOMER = {"name", "email", "phone", "timezone"}
MAX_ERRORS = 1000  # kept and reported; the count goes on


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


@dataclass
class Parsed:
    """The good rows (with their line numbers and raw cells) and the refusals."""

    rows: list[tuple[int, InvoiceCreate]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    bad_lines: int = 0
    raw_bad: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows) + self.bad_lines


class HeaderError(ValueError):
    """The header row cannot be read: nothing of the file can."""


def _header(names: list[str]) -> list[str]:
    names = [n.strip() for n in names]
    for name in names:
        if name in COLUMNS:
            continue
        if name.startswith(METADATA_PREFIX) and len(name) > len(METADATA_PREFIX):
            continue
        raise HeaderError(
            f"line 1: unknown column {name!r}; the columns are {', '.join(COLUMNS)} and "
            "metadata.<key>"
        )
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise HeaderError(f"line 1: missing column(s) {', '.join(missing)}")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise HeaderError(f"line 1: column {name!r} appears twice")
        seen.add(name)
    return names


def _body(cells: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    customer: dict[str, str] = {}
    metadata: dict[str, str] = {}
    for name, value in cells.items():
        if value == "":
            continue
        if name.startswith(METADATA_PREFIX):
            metadata[name[len(METADATA_PREFIX) :]] = value
        elif name.startswith("customer_") and name[9:] in _CUSTOMER:
            customer[name[9:]] = value
        else:
            body[name] = value
    body["customer"] = customer
    if metadata:
        body["metadata"] = metadata
    return body


def _column(loc: tuple[int | str, ...]) -> str:
    if not loc:
        return "row"
    if loc[0] == "customer":
        return f"customer_{loc[1]}" if len(loc) > 1 else "customer_name"
    if loc[0] == "metadata":
        return f"metadata.{loc[1]}" if len(loc) > 1 else "metadata"
    return str(loc[0])


def _reason(error: dict[str, Any]) -> str:
    if error["type"] == "missing":
        return "required, the cell is empty"
    return str(error["msg"]).removeprefix("Value error, ")


def check_row(line: int, cells: dict[str, str]) -> tuple[InvoiceCreate | None, list[RowError]]:
    """One row as ``POST /v1/invoices`` would take it, or what is wrong with it."""
    try:
        invoice = InvoiceCreate.model_validate(_body(cells))
    except ValidationError as exc:
        return None, [RowError(line, _column(e["loc"]), _reason(dict(e))) for e in exc.errors()]
    places = currency_precision(invoice.currency)
    exponent = invoice.amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        return None, [
            RowError(line, "amount", f"{invoice.currency} amounts have at most {places} decimals")
        ]
    return invoice, []


def read_rows(lines: Iterable[str]) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """The header, and each data row with the line it starts on."""
    reader = csv.reader(lines)
    try:
        header = _header(next(reader))
    except StopIteration:
        raise HeaderError("line 1: the file is empty; it needs a header row") from None
    except csv.Error as exc:
        raise HeaderError(f"line 1: {exc}") from None

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        line = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line, {"__error__": str(exc)}
                line = reader.line_num + 1
                continue
            if cells and any(c.strip() for c in cells):
                if len(cells) != len(header):
                    yield line, {"__width__": f"{len(cells)} cells for {len(header)} columns"}
                else:
                    yield line, dict(zip(header, (c.strip() for c in cells), strict=True))
            line = reader.line_num + 1

    return header, rows()


def parse(text: str | Iterable[str], progress: Any = None) -> Parsed:
    """Check every row; ``progress(n)`` is told of each row read."""
    lines = io.StringIO(text) if isinstance(text, str) else text
    header, rows = read_rows(lines)
    parsed = Parsed(header=header)
    first_line: dict[str, int] = {}
    for line, cells in rows:
        if progress is not None:
            progress(1)
        if "__error__" in cells or "__width__" in cells:
            reason = cells.get("__error__") or cells["__width__"]
            _refuse(parsed, line, [RowError(line, "row", reason)], cells)
            continue
        invoice, errors = check_row(line, cells)
        if invoice is not None:
            earlier = first_line.setdefault(invoice.number, line)
            if earlier != line:
                errors = [RowError(line, "number", f"{invoice.number} is also on line {earlier}")]
        if errors or invoice is None:
            _refuse(parsed, line, errors, cells)
        else:
            parsed.rows.append((line, invoice))
    return parsed


def _refuse(parsed: Parsed, line: int, errors: list[RowError], cells: dict[str, str]) -> None:
    parsed.bad_lines += 1
    parsed.raw_bad.append((line, cells))
    room = MAX_ERRORS - len(parsed.errors)
    if room > 0:
        parsed.errors.extend(errors[:room])


def bad_rows_csv(parsed: Parsed) -> str:
    """The refused rows, as CSV with the header and a last ``error`` column."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*parsed.header, "error"])
    by_line: dict[int, list[str]] = {}
    for error in parsed.errors:
        by_line.setdefault(error.line, []).append(f"{error.column}: {error.reason}")
    for line, cells in parsed.raw_bad:
        reasons = "; ".join(by_line.get(line, [])) or "refused"
        writer.writerow(
            [*(cells.get(name, "") for name in parsed.header), f"line {line}: {reasons}"]
        )
    return out.getvalue()
