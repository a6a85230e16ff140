"""Per-account outreach settings, with the defaults every new account starts from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from credira.conversation.context import SettlementPolicy

DEFAULT_MAX_CALL_ATTEMPTS = 3
DEFAULT_RETRY_MINUTES = (30, 120, 240)
DEFAULT_WEEKLY_CONTACTS = 10
DEFAULT_DAILY_CALL_CAP = 1000
DEFAULT_DAILY_EMAIL_CAP = 5000


@dataclass(frozen=True)
class OutreachSettings:
    # Call attempts one callout may make when calls go unanswered (no answer, busy,
    # voicemail, provider failure), the first included.
    max_call_attempts: int = DEFAULT_MAX_CALL_ATTEMPTS
    # Wait before retry n (the last value repeats).
    retry_minutes: tuple[int, ...] = DEFAULT_RETRY_MINUTES
    # No calls on the public holidays of the debtor's country.
    observe_holidays: bool = False
    # Contacts (emails sent and calls placed) per invoice in any 7 days beyond which no more
    # emails go out; calls have their own legal limit (7 in 7).
    weekly_contacts: int = DEFAULT_WEEKLY_CONTACTS
    # The locale amounts and dates are written in, when the invoice does not say.
    locale: str = "en_US"
    # Cost guards: calls placed and emails sent by the whole account per UTC day, beyond
    # which outreach waits for the next UTC midnight.
    daily_call_cap: int = DEFAULT_DAILY_CALL_CAP
    daily_email_cap: int = DEFAULT_DAILY_EMAIL_CAP
    # Our own voice agent: a debt collector acting for others says the debt-collector
    # disclosure before any detail of the debt; the number a third party is asked to have
    # the debtor call back; and what the agent may agree to (``SettlementPolicy``'s fields).
    third_party_collector: bool = False
    callback_number: str | None = None
    settlement: dict[str, Any] = field(default_factory=lambda: SettlementPolicy().to_json())

    def retry_delay(self, attempts_made: int) -> timedelta:
        index = min(max(attempts_made - 1, 0), len(self.retry_minutes) - 1)
        return timedelta(minutes=self.retry_minutes[index])

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> OutreachSettings:
        data = data or {}
        return cls(
            max_call_attempts=int(data.get("max_call_attempts", DEFAULT_MAX_CALL_ATTEMPTS)),
            retry_minutes=tuple(int(m) for m in data.get("retry_minutes", DEFAULT_RETRY_MINUTES)),
            observe_holidays=bool(data.get("observe_holidays", False)),
            weekly_contacts=int(data.get("weekly_contacts", DEFAULT_WEEKLY_CONTACTS)),
            locale=str(data.get("locale", "en_US")),
            daily_call_cap=int(data.get("daily_call_cap", DEFAULT_DAILY_CALL_CAP)),
            daily_email_cap=int(data.get("daily_email_cap", DEFAULT_DAILY_EMAIL_CAP)),
            third_party_collector=bool(data.get("third_party_collector", False)),
            callback_number=data.get("callback_number") or None,
            settlement=SettlementPolicy.from_json(data.get("settlement")).to_json(),
        )
