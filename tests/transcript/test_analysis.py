"""Classifying an answered call from its transcript (pure: no database, no clock)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credira.models import Call, Callout
from credira.report import service as response
from credira.transcript.analysis import Analysis, analyze, find_cues
from credira.transcript.format import Turn

NEW_YORK = ZoneInfo("America/New_York")
# Monday 2024-01-15, 17:30 in New York.
ENDED = datetime(2024, 1, 15, 22, 30, tzinfo=UTC)
INTRO = (
    "Hello, this is Ana from Acme Supplies calling about invoice INV-1001 for 250.00 USD, "
    "which was due on January 10. Is now a good moment?"
)
CLOSING = "Thank you, I have made a note of that. Have a good evening."
FOLLOW_UPS = ("I see. Could you tell me more?", "Understood. When would suit you?")


def call(*debtor: str) -> list[Turn]:
    """A transcript as the agent drives it: introduction, the debtor's lines, a closing."""
    turns = [Turn("agent", INTRO)]
    for index, line in enumerate(debtor):
        if index:
            turns.append(Turn("agent", FOLLOW_UPS[(index - 1) % len(FOLLOW_UPS)]))
        turns.append(Turn("debtor", line))
    turns.append(Turn("agent", CLOSING))
    return turns


def run(*debtor: str, ended_at: datetime = ENDED, zone: ZoneInfo = NEW_YORK) -> Analysis:
    return analyze(call(*debtor), ended_at=ended_at, debtor_zone=zone)


# The simulator's debtor lines, verbatim: each must classify clearly.
SIMULATOR = {
    "promise_to_pay": "Yes, I know about it. I can pay the full amount in 7 days.",
    "dispute": "I don't owe this. I never received those goods, I dispute this invoice.",
    "callback_requested": "I'm busy right now. Can you call me back tomorrow at 10?",
    "opt_out": "Stop calling me. Do not call this number again.",
    "acknowledged": "Yes, I received the invoice. Thanks for the reminder.",
}


@pytest.mark.parametrize(("expected", "line"), SIMULATOR.items(), ids=list(SIMULATOR))
def test_simulator_lines_classify_with_high_confidence(expected: str, line: str) -> None:
    result = run(line)
    assert result.outcome == expected, find_cues(call(line), today=date(2024, 1, 15))
    assert result.confidence_score >= 0.8
    assert result.summary


def test_simulator_promise_is_dated_seven_days_after_the_call() -> None:
    result = run(SIMULATOR["promise_to_pay"])
    assert result.promised_date == date(2024, 1, 22)
    assert result.summary == "Customer promised to pay by 2024-01-22."
    assert result.callback_time is None


def test_simulator_callback_is_tomorrow_at_ten_in_the_debtors_zone() -> None:
    result = run(SIMULATOR["callback_requested"])
    assert result.callback_time == datetime(2024, 1, 16, 15, 0, tzinfo=UTC)
    assert result.callback_time.tzinfo is UTC
    assert result.promised_date is None


CASES: list[tuple[str, tuple[str, ...]]] = [
    # promise_to_pay
    ("promise_to_pay", ("Sorry, I completely forgot.", "I'll transfer the money on Friday.")),
    ("promise_to_pay", ("I'm not disputing it, I just can't pay until the 30th.",)),
    ("promise_to_pay", ("I haven't paid yet, sorry.", "I will settle the balance by 2024-01-27.")),
    ("promise_to_pay", ("Okay, fine, I'll pay it right now.",)),
    ("promise_to_pay", ("I get paid on Friday, I'll pay then. Call me back Monday if not.",)),
    ("promise_to_pay", ("Don't call me back, I'll pay on Friday.",)),
    # dispute
    ("dispute", ("I already paid this last week, check your records.",)),
    ("dispute", ("That's not my debt.", "I never ordered anything from Acme.")),
    ("dispute", ("I'm not going to pay for something I never ordered.",)),
    ("dispute", ("I don't owe this, but I'll pay it next week just to make you stop.",)),
    ("dispute", ("The amount is wrong, you charged me twice.",)),
    # callback_requested
    ("callback_requested", ("I'm driving, don't call me now. Call me back at 6pm.",)),
    ("callback_requested", ("No, you have the right number, I just can't talk. Call me later.",)),
    ("callback_requested", ("Can you call back at 3pm on Monday?",)),
    ("callback_requested", ("My husband handles the bills. Ring us again on Thursday morning.",)),
    ("callback_requested", ("Not a good time, can we talk tomorrow?",)),
    # opt_out
    ("opt_out", ("Don't ever call me again.",)),
    ("opt_out", ("Please remove my number from your list.",)),
    ("opt_out", ("You've got the wrong number. Stop calling.",)),
    ("opt_out", ("Stop calling me, I already told you I dispute this.",)),
    ("opt_out", ("I don't want any more calls. Put me on your do not call list.",)),
    ("opt_out", ("I'll pay on Friday, but never call this number again!",)),
    # wrong_party
    ("wrong_party", ("There's no one here by that name.",)),
    ("wrong_party", ("He doesn't live here anymore, he moved out last year.",)),
    ("wrong_party", ("You've got the wrong number, mate.",)),
    ("wrong_party", ("Sorry, who? Nobody called John lives here.",)),
    ("wrong_party", ("I think you have the wrong person. I never received anything.",)),
    # acknowledged, including what must not be read as something else
    ("acknowledged", ("Yes, I'm aware of it. I'll look into it.",)),
    ("acknowledged", ("Okay. I need to check with my wife first.",)),
    ("acknowledged", ("I won't pay this, not now, not ever.",)),
    ("acknowledged", ("It's not the wrong number, it's me. I got the letter.",)),
    ("acknowledged", ("Can I pay by card?",)),
    ("acknowledged", ("Don't call me back, I'll call you.",)),
]


@pytest.mark.parametrize(("expected", "lines"), CASES, ids=[" / ".join(c[1]) for c in CASES])
def test_transcript_classifies_as_expected(expected: str, lines: tuple[str, ...]) -> None:
    result = run(*lines)
    assert result.outcome == expected, find_cues(call(*lines), today=date(2024, 1, 15))
    assert 0 < result.confidence_score < 1
    assert result.confidence_score == round(result.confidence_score, 2)
    if expected != "promise_to_pay":
        assert result.promised_date is None
    if expected != "callback_requested":
        assert result.callback_time is None


@pytest.mark.parametrize(
    ("clearer", "vaguer"),
    [
        # Several consistent cues beat one weak cue.
        (SIMULATOR["dispute"], "That's wrong, the amount should be lower."),
        (SIMULATOR["opt_out"], "Leave me alone."),
        # A dated promise beats an undated one, which beats a hedged one.
        ("I'll pay on Friday.", "I'll pay when I can."),
        ("I'll pay when I can.", "I might be able to pay something."),
        # Consistent cues beat conflicting ones.
        ("I don't owe this.", "I don't owe this, but I'll pay it next week."),
        ("I don't owe this, I never received it.", "I don't owe this, but I'll pay it next week."),
        ("I'll pay on Friday.", "I can't pay now. Well, maybe I'll pay on Friday."),
        # A callback with a time beats "I'm busy".
        (SIMULATOR["callback_requested"], "Sorry, I'm busy right now."),
        # Acknowledged: with cues, then without any, then with a refusal to pay.
        (SIMULATOR["acknowledged"], "Hmm."),
        ("Hmm.", "I won't pay this."),
    ],
)
def test_confidence_is_higher_for_clearer_evidence(clearer: str, vaguer: str) -> None:
    sharp, vague = run(clearer), run(vaguer)
    assert sharp.outcome == vague.outcome
    assert sharp.confidence_score > vague.confidence_score


@pytest.mark.parametrize(
    ("line", "summary"),
    [
        (SIMULATOR["dispute"], "Customer disputes the debt: says they do not owe it."),
        (SIMULATOR["opt_out"], "Customer asked not to be called again."),
        (SIMULATOR["acknowledged"], "Customer acknowledged the invoice."),
        ("I won't pay this.", "Customer said they cannot pay."),
        (
            "He doesn't live here anymore.",
            "The person who answered says the customer does not live there.",
        ),
        (
            "I don't owe this, but I'll pay it next week.",
            "Customer disputes the debt: says they do not owe it. They also offered to pay.",
        ),
    ],
)
def test_summary_says_what_was_decided_and_why(line: str, summary: str) -> None:
    assert run(line).summary == summary


def test_call_where_the_debtor_says_nothing_is_acknowledged_with_low_confidence() -> None:
    turns = [Turn("agent", INTRO), Turn("agent", CLOSING)]
    result = analyze(turns, ended_at=ENDED, debtor_zone=NEW_YORK)
    assert result.outcome == "acknowledged"
    assert result.confidence_score < run("Hmm.").confidence_score
    assert (result.sentiment_score, result.sentiment_label) == (0.5, "neutral")
    assert result.summary == "Customer did not speak."


def test_only_the_debtors_words_are_classified() -> None:
    turns = [
        Turn("agent", "If you don't owe this, say so; otherwise call us back or stop calling."),
        Turn("debtor", "Yes, I received the invoice. Thanks for the reminder."),
    ]
    assert analyze(turns, ended_at=ENDED, debtor_zone=NEW_YORK).outcome == "acknowledged"


def test_negated_cues_are_not_evidence() -> None:
    cues = find_cues(call("Don't call me back. I'm not disputing it."), today=date(2024, 1, 15))
    assert {c.kind for c in cues} == set()


def test_sentiment_of_an_angry_dispute_is_below_a_friendly_promise() -> None:
    angry = run("This is ridiculous! I don't owe you anything, I never received those goods.")
    friendly = run("Oh, thank you for reminding me! I'll happily pay it on Friday.")
    assert angry.sentiment_score < 0.5 < friendly.sentiment_score
    assert (angry.sentiment_label, friendly.sentiment_label) == ("negative", "positive")
    assert (
        run(SIMULATOR["dispute"]).sentiment_score
        < 0.5
        < run(SIMULATOR["promise_to_pay"]).sentiment_score
    )
    assert angry.sentiment_score == round(angry.sentiment_score, 2)


def test_sentiment_ignores_the_agents_words() -> None:
    turns = [
        Turn("agent", "Wonderful, fantastic, thank you so much, you are great!"),
        Turn("debtor", "This is terrible and I am furious."),
    ]
    result = analyze(turns, ended_at=ENDED, debtor_zone=NEW_YORK)
    assert result.sentiment_label == "negative"


def _answered_call(analysis: Analysis) -> tuple[Callout, Call]:
    """A callout whose one call was answered and classified as ``analysis`` says."""
    callout = Callout(id="callout_1", status="completed", created_time=ENDED, completed_time=ENDED)
    call = Call(
        id="call_1",
        attempt_id="attempt_1",
        status="completed",
        placed_time=ENDED,
        created_time=ENDED,
        duration=95,
        answered=True,
        confidence_score=analysis.confidence_score,
        sentiment_score=analysis.sentiment_score,
        keywords=list(analysis.keywords),
        summary=analysis.summary,
        outcome=analysis.outcome,
    )
    return callout, call


@pytest.mark.parametrize(
    ("line", "label"), [("Okay, sorry.", "positive"), ("I'm sorry, I forgot.", "negative")]
)
def test_a_sentiment_score_between_the_two_old_thresholds_gets_one_label(
    line: str, label: str
) -> None:
    result = run(line)
    # Between the callout response's former 0.4 and 0.6, outside the analysis' neutral band.
    assert 0.4 < result.sentiment_score < 0.6
    assert result.sentiment_label == label
    callout, answered = _answered_call(result)
    report = response.build(callout, [answered], "http://testserver")
    assert report["analytics"]["sentiment_analysis"] == label
    assert report["responses"][0]["sentiment_score"] == result.sentiment_score


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (SIMULATOR["promise_to_pay"], "pay"),
        (SIMULATOR["dispute"], "dispute"),
        (SIMULATOR["callback_requested"], "busy"),
        (SIMULATOR["opt_out"], "stop calling"),
        (SIMULATOR["acknowledged"], "reminder"),
    ],
)
def test_keywords_are_few_lowercase_distinct_and_about_the_call(line: str, expected: str) -> None:
    keywords = run(line).keywords
    assert expected in keywords
    assert 0 < len(keywords) <= 5
    assert all(k == k.lower() and k.strip() == k and k for k in keywords)
    words = [w for k in keywords for w in k.split()]
    assert len(words) == len(set(words))
    assert not set(words) & {"the", "i", "you", "this", "me", "yes", "and", "agent", "debtor"}


def test_keywords_of_an_empty_transcript_are_empty() -> None:
    assert analyze([], ended_at=ENDED, debtor_zone=NEW_YORK).keywords == []


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (("I can pay the full amount in 7 days.",), date(2024, 1, 22)),
        (("I'll pay next week.",), date(2024, 1, 22)),
        (("I'll pay by Friday.",), date(2024, 1, 19)),
        (("I'll pay on Monday.",), date(2024, 1, 22)),  # today is a Monday: the next one
        (("I'll pay tomorrow.",), date(2024, 1, 16)),
        (("I'll pay the day after tomorrow.",), date(2024, 1, 17)),
        (("I will pay on 2024-01-27.",), date(2024, 1, 27)),
        (("I'll pay on the 30th.",), date(2024, 1, 30)),
        (("I'll pay on the 10th.",), date(2024, 2, 10)),  # the 10th has passed this month
        (("I'll pay at the end of the month.",), date(2024, 1, 31)),
        (("I'll pay on January 20th.",), date(2024, 1, 20)),
        (("I can pay in two weeks.",), date(2024, 1, 29)),
        (("I can't pay until Friday.",), date(2024, 1, 19)),
        (("I can pay half now and the rest on March 3rd.",), date(2024, 3, 3)),
        (("On Friday I get my salary, so I'll pay then.",), date(2024, 1, 19)),
        (("I get paid on Friday, I'll pay then. Call me back Monday if not.",), date(2024, 1, 19)),
        (("Okay, I'll pay.", "On Wednesday."), date(2024, 1, 17)),
        (("I'll pay right away.",), date(2024, 1, 15)),
        (("I'll pay, I promise.",), None),
    ],
)
def test_promised_date_is_read_in_the_debtors_calendar(
    lines: tuple[str, ...], expected: date | None
) -> None:
    result = run(*lines)
    assert result.outcome == "promise_to_pay"
    assert result.promised_date == expected
    if expected is None:
        assert result.summary == "Customer promised to pay but gave no date."


def test_promised_date_counts_from_the_local_date_not_the_utc_one() -> None:
    # 22:30 UTC on the 15th is already 07:30 on the 16th in Tokyo.
    result = run(SIMULATOR["promise_to_pay"], zone=ZoneInfo("Asia/Tokyo"))
    assert result.promised_date == date(2024, 1, 23)


def test_the_30th_skips_a_month_that_has_none() -> None:
    result = run("I'll pay on the 30th.", ended_at=datetime(2024, 2, 5, 15, 0, tzinfo=UTC))
    assert result.promised_date == date(2024, 3, 30)


def at(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (("Can you call me back tomorrow at 10?",), at(2024, 1, 16, 15, 0)),
        (("Call me back at 6pm.",), at(2024, 1, 15, 23, 0)),  # still ahead today
        (("Call me back at 3pm.",), at(2024, 1, 16, 20, 0)),  # gone today: tomorrow
        (("Call me back at 3.",), at(2024, 1, 16, 20, 0)),  # a bare 3 is the afternoon
        (("Can you call back at 3pm on Monday?",), at(2024, 1, 22, 20, 0)),
        (("Call me Monday at 10:30.",), at(2024, 1, 22, 15, 30)),
        (("Call me on Thursday.",), at(2024, 1, 18, 15, 0)),  # only a day: 10:00
        (("Call me back next week.",), at(2024, 1, 22, 15, 0)),
        (("Call me later.",), at(2024, 1, 16, 15, 0)),  # no time: tomorrow 10:00
        (("I'm busy right now.",), at(2024, 1, 16, 15, 0)),
        (("Call me back in an hour.",), at(2024, 1, 15, 23, 30)),
        (("Call back tonight at 8.",), at(2024, 1, 16, 1, 0)),
        (("Ring me on Wednesday afternoon.",), at(2024, 1, 17, 19, 0)),
        (("Please call me back.", "Wednesday at 9am."), at(2024, 1, 17, 14, 0)),
    ],
)
def test_callback_time_is_the_asked_instant_in_utc(
    lines: tuple[str, ...], expected: datetime
) -> None:
    result = run(*lines)
    assert result.outcome == "callback_requested"
    assert result.callback_time == expected
    assert result.callback_time.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("ended_at", "zone", "expected"),
    [
        # New York springs forward on Sunday 2024-03-10: 10:00 is EDT (UTC-4).
        (at(2024, 3, 9, 22, 30), "America/New_York", at(2024, 3, 10, 14, 0)),
        # ... and falls back on Sunday 2024-11-03: 10:00 is EST (UTC-5).
        (at(2024, 11, 2, 22, 30), "America/New_York", at(2024, 11, 3, 15, 0)),
        # London springs forward on 2024-03-31: 10:00 is BST (UTC+1).
        (at(2024, 3, 30, 18, 0), "Europe/London", at(2024, 3, 31, 9, 0)),
        # Sydney falls back on 2024-04-07: 10:00 is AEST (UTC+10), the call was in AEDT.
        (at(2024, 4, 6, 5, 0), "Australia/Sydney", at(2024, 4, 7, 0, 0)),
    ],
)
def test_callback_tomorrow_at_ten_across_a_dst_transition(
    ended_at: datetime, zone: str, expected: datetime
) -> None:
    result = run(SIMULATOR["callback_requested"], ended_at=ended_at, zone=ZoneInfo(zone))
    assert result.callback_time == expected


def test_callback_summary_states_the_local_time_and_zone() -> None:
    assert run(SIMULATOR["callback_requested"]).summary == (
        "Customer asked to be called back on 2024-01-16 at 10:00 (America/New_York)."
    )


def test_analyze_refuses_a_naive_end_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        analyze(call("Hello?"), ended_at=datetime(2024, 1, 15, 22, 30), debtor_zone=NEW_YORK)


def test_importing_the_module_does_not_load_the_nlp_libraries() -> None:
    code = (
        "import sys, credira.transcript;"
        "assert not {'yake', 'vaderSentiment', 'numpy'} & set(sys.modules), sys.modules.keys()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


FRAGMENTS = (
    "i'll", "i can't", "we will", "pay", "call me back", "don't", "not", "stop calling", "never",
    "wrong number", "i dispute", "already paid", "yes", "at", "10", "12", "0", "23:59", "pm",
    "tomorrow", "tonight", "friday", "on the 31st", "the first of next month", "in 999 months",
    "in 100 hours", "9999-12-31", "0000-00-00", "2020-01-02", "february 30", "may 31st",
    "end of next month", "half past 13", "until", ".", "?", ",", "!", "—", "3.50",
)  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(
    lines=st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join), max_size=3),
    ended_at=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31),
        timezones=st.just(UTC),
    ),
    zone=st.sampled_from(["America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]),
)
def test_any_transcript_gives_a_well_formed_analysis(
    lines: list[str], ended_at: datetime, zone: str
) -> None:
    result = run(*lines, ended_at=ended_at, zone=ZoneInfo(zone))
    assert 0.05 <= result.confidence_score <= 0.99
    assert 0 <= result.sentiment_score <= 1
    assert len(result.keywords) <= 5
    assert len(set(result.keywords)) == len(result.keywords)
    assert (result.promised_date is not None) <= (result.outcome == "promise_to_pay")
    assert (result.callback_time is not None) == (result.outcome == "callback_requested")
    if result.callback_time is not None:
        assert result.callback_time.tzinfo is UTC
        assert result.callback_time >= ended_at
