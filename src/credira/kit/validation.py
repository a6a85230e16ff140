"""Input types validated with the libraries made for them (phonenumbers, email-validator,
zoneinfo, babel), each failing with an error type that the envelope maps to a documented message.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from babel.numbers import get_currency_precision, list_currencies
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, Field, StrictStr
from pydantic_core import PydanticCustomError

PHONE_DETAILS = "Phone number must be in E.164 format (e.g., +1234567890)"
EMAIL_DETAILS = "Email address must be a valid format"

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def normalize_phone(value: str) -> str:
    """Accept E.164 numbers with a real country calling code.

    Validity of the national part (``is_valid_number``) is not required here: the documented
    examples (``+1234567890``) are well-formed E.164 but not assigned numbers, and clients
    written against the docs send them. Dialling decides separately whether a number can be
    called.
    """
    if not _E164.fullmatch(value):
        raise PydanticCustomError("phone_format", PHONE_DETAILS)
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise PydanticCustomError("phone_format", PHONE_DETAILS) from None
    if phonenumbers.region_code_for_country_code(parsed.country_code or 0) == "ZZ":
        raise PydanticCustomError("phone_format", PHONE_DETAILS)
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalize_email(value: str) -> str:
    # "=?" is legal in an address but starts an RFC 2047 encoded word, which mail readers
    # decode even there: an address cannot be encoded, so it could not be written as meant.
    if "=?" in value:
        raise PydanticCustomError("email_format", EMAIL_DETAILS)
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise PydanticCustomError("email_format", EMAIL_DETAILS) from None
    return str(result.normalized)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(value: str) -> str:
    if value not in _zones():
        raise PydanticCustomError(
            "timezone_name", "Time zone must be an IANA name such as America/New_York"
        )
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "timezone_name", "Time zone must be an IANA name such as America/New_York"
        ) from None
    return value


@cache
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(value: str) -> str:
    code = value.upper()
    if code not in _currencies():
        raise PydanticCustomError("currency_code", "Currency must be an ISO 4217 code such as USD")
    return code


def currency_precision(code: str) -> int:
    return int(get_currency_precision(code))


def parse_amount(value: Any) -> Decimal:
    """A money amount from a decimal string or a JSON number, kept exact."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise PydanticCustomError("amount", "Amount must be a decimal string or number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PydanticCustomError("amount", "Amount must be a decimal string or number") from None
    if not amount.is_finite() or amount <= 0:
        raise PydanticCustomError("amount", "Amount must be a positive number")
    if amount.as_tuple().exponent < -4 or amount >= Decimal(10) ** 14:  # type: ignore[operator]
        raise PydanticCustomError(
            "amount", "Amount must be below 10^14 with at most 4 decimal places"
        )
    return amount


NAIVE_TIME = "Time must carry a zone (Z or an offset), e.g. 2024-01-25T14:00:00Z"

# The instants a request may name, on every time field. Before the Unix epoch nothing Credira
# does can have happened or be scheduled; 9999 is the last year ISO 8601 writes in four digits
# (and the last one Python's datetime holds). Both ends are inclusive, read in UTC.
TIME_MIN = datetime(1970, 1, 1, tzinfo=UTC)
TIME_RANGE = "between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z"
TIME_OUT_OF_RANGE = f"Time is out of range: it must be {TIME_RANGE}"
# The days a request may name (``due_date``): the same years.
DATE_MIN = date(1970, 1, 1)
DATE_OUT_OF_RANGE = "Date is out of range: it must be between 1970-01-01 and 9999-12-31"
# A year of other than four digits (0, 10000, a sign) is out of range, not malformed.
_YEAR = re.compile(r"\s*([+-]?)([0-9]+)-")


def to_utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-05:00 is past the last representable day
        raise PydanticCustomError("time_range", TIME_OUT_OF_RANGE) from None
    if utc < TIME_MIN:
        raise PydanticCustomError("time_range", TIME_OUT_OF_RANGE)
    return utc


def reject_naive(value: Any) -> Any:
    """Refuse times without a zone, and anything but an ISO 8601 string, before pydantic
    parses them: pydantic would take a number as Unix seconds, which no client documents."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise PydanticCustomError("naive_time", NAIVE_TIME)
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "time_type", "Time must be an ISO 8601 string with a zone, e.g. 2024-01-25T14:00:00Z"
        )
    if value and not _has_zone(value):
        raise PydanticCustomError("naive_time", NAIVE_TIME)
    year = _YEAR.match(value)
    if year is not None and (year[1] or len(year[2]) != 4 or year[2] == "0000"):
        raise PydanticCustomError("time_range", TIME_OUT_OF_RANGE)
    return value


def _has_zone(text: str) -> bool:
    return text.endswith(("Z", "z")) or re.search(r"[+-]\d{2}:?\d{2}$", text) is not None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(value: Any) -> Any:
    """A day as the documentation writes it (``2024-01-30``), in years 1970 to 9999, before
    pydantic parses it: pydantic would also take a number as Unix seconds."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_format", "must be a date in the form YYYY-MM-DD")
    if value < DATE_MIN.isoformat():
        raise PydanticCustomError("date_range", DATE_OUT_OF_RANGE)
    return value


def whole_number(value: Any) -> Any:
    """JSON has one number type: ``600.0`` is the integer 600 (JSON Schema's ``integer`` says
    so too), so a float without a fraction is taken as the integer; anything else is left for
    ``StrictInt`` to refuse (a string, a boolean, ``600.5``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# For an integer field, after its StrictInt and its bounds (``Annotated[StrictInt,
# Field(ge=1), WHOLE]``): a JSON integer or a number with no fraction, never a string or a
# boolean. (Nested in an alias of its own, pydantic would drop the bounds from the schema.)
WHOLE = BeforeValidator(whole_number)
Phone = Annotated[StrictStr, AfterValidator(normalize_phone)]
Email = Annotated[StrictStr, Field(max_length=320), AfterValidator(normalize_email)]
TimeZoneName = Annotated[StrictStr, AfterValidator(check_timezone)]
Currency = Annotated[StrictStr, AfterValidator(check_currency)]
Amount = Annotated[Decimal, BeforeValidator(parse_amount)]
UTCTime = Annotated[datetime, BeforeValidator(reject_naive), AfterValidator(to_utc)]
IsoDate = Annotated[date, BeforeValidator(iso_date)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
ShortText = Annotated[StrictStr, Field(max_length=200)]
Metadata = Annotated[dict[str, Any], Field(max_length=50)]


# A person's name that an email's To header carries (a customer, a contact, a recipient) is one
# line: control characters (CR, LF, tab, NUL, U+0085 ...), the line and paragraph separators
# (U+2028, U+2029) and lone surrogates cannot be written in a mail header safely.
ONE_LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029]*$"
_NOT_ONE_LINE = frozenset({"Cc", "Zl", "Zp", "Cs"})


def one_line(value: str) -> str:
    if any(unicodedata.category(char) in _NOT_ONE_LINE for char in value):
        raise PydanticCustomError(
            "one_line", "A name is one line: no line breaks or control characters"
        )
    return value


_ONE_LINE = {"pattern": ONE_LINE_PATTERN}
PersonName = Annotated[
    StrictStr,
    Field(min_length=1, max_length=200, json_schema_extra=_ONE_LINE),
    AfterValidator(one_line),
]
ContactName = Annotated[
    StrictStr, Field(max_length=200, json_schema_extra=_ONE_LINE), AfterValidator(one_line)
]
