"""The email's life cycle as a pure module: what each change sets, which changes it refuses,
and the event each appends (kept with the session until its commit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from credira.email import state
from credira.email.state import EmailStatus, IllegalTransition
from credira.email.view import to_detail
from credira.event.log import pending
from credira.models import Email

NOW = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)


def _email(session: Session) -> Email:
    return state.new(
        session,
        NOW,
        id="email_01",
        account_id="acc_01",
        callout_id="callout_01",
        invoice_id="inv_01",
        template_id="template_01",
        template_name="Reminder",
        attempt_id="attempt_01",
        idempotency_key="email:01",
        message_id="<01@credira.local>",
        tracking_id="track_01",
        recipient_email="john@example.com",
        recipient_name="John",
        subject="Invoice",
        html_body="<p>Pay</p>",
        text_body="Pay",
        origin="send_email",
        email_type="payment_reminder",
        priority="high",
        priority_rank=1,
        scheduled_time=NOW,
        run_at=NOW,
        metadata_={},
    )


def _types(session: Session) -> list[str]:
    return [e["type"] for e in pending(session)]


def test_a_new_email_is_scheduled_with_its_event() -> None:
    session = Session()
    email = _email(session)

    assert email.status == EmailStatus.SCHEDULED
    [event] = pending(session)
    assert event["type"] == "email.scheduled"
    assert (event["object_id"], event["invoice_id"], event["callout_id"]) == (
        "email_01",
        "inv_01",
        "callout_01",
    )
    assert event["data"] == to_detail(email)


def test_an_attempt_appends_no_event_until_the_hand_over() -> None:
    session = Session()
    email = _email(session)
    later = NOW + timedelta(seconds=5)

    assert state.attempt(session, email, later) == 1

    assert (email.status, email.sent_time, email.updated_time) == ("sending", later, later)
    assert _types(session) == ["email.scheduled"]
    assert state.hand_over_values(later) == {"status": "sent", "updated_time": later}


def test_a_bounce_after_the_attempt_ends_the_lease_and_says_so() -> None:
    session = Session()
    email = _email(session)
    state.attempt(session, email, NOW)
    email.lease_owner = "worker-1"

    state.bounced(session, email, NOW)

    assert (email.status, email.bounced, email.lease_owner) == ("bounced", True, None)
    assert _types(session) == ["email.scheduled", "email.bounced"]
    assert pending(session)[-1]["data"]["status"] == "bounced"


def test_updated_time_never_goes_back() -> None:
    session = Session()
    email = _email(session)

    state.cancel(session, email, "invoice paid", NOW - timedelta(minutes=1))

    assert email.updated_time == NOW


@pytest.mark.parametrize(
    "final", [EmailStatus.DELIVERED, EmailStatus.BOUNCED, EmailStatus.FAILED, EmailStatus.CANCELLED]
)
def test_a_final_email_refuses_every_change(final: EmailStatus) -> None:
    session = Session()
    email = _email(session)
    email.status = final.value
    before = (_types(session), to_detail(email))

    with pytest.raises(IllegalTransition):
        state.reschedule(session, email, NOW + timedelta(hours=1), "again", NOW)
    with pytest.raises(IllegalTransition):
        state.attempt(session, email, NOW)

    assert (_types(session), to_detail(email)) == before
    assert email.run_at == NOW


def test_only_an_attempt_in_flight_may_become_unconfirmed() -> None:
    session = Session()
    email = _email(session)

    with pytest.raises(IllegalTransition):
        state.unconfirmed(session, email, "unknown", NOW)
    email.status = EmailStatus.SENT.value
    state.unconfirmed(session, email, "unknown", NOW)

    assert email.status == "unconfirmed"
    assert _types(session)[-1] == "email.unconfirmed"
