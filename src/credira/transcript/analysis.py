"""What a debtor said on an answered call: outcome, confidence, sentiment, keywords, summary.

Pure: no I/O and no wall clock (the call's end and the debtor's zone are passed in).

The outcome is rule-based so that every decision can be explained: each outcome has a family
of weighted cues (regular expressions) matched clause by clause against the debtor's turns
only. A cue in a clause negated just before it ("don't call me back") does not count. Promises
are found from a payment verb and what stands between it and its subject: a modal ("I'll",
"I can") makes a promise, a negation ("I won't", "I can't") makes a refusal, which is never a
promise unless a date follows ("I can't pay until Friday"). A date or a time attached to a
promise or a callback request is extra evidence.

Conflicts: an opt-out outranks everything, then wrong party, dispute, promise, callback. An
outcome with at least one strong cue (score >= 1) or with half the best score is in the running,
and the highest ranked one in the running wins. Confidence grows with the winner's evidence and
shrinks with the evidence for outcomes it conflicts with; a call with no cue at all is
``acknowledged`` with a moderate confidence.

Sentiment is VADER's compound score of the debtor's words, mapped from -1..1 to 0..1 and
labelled by `sentiment_label` (VADER's thresholds, the callout response's too); keywords are
YAKE's over the whole transcript (`credira.transcript.keyphrases`), those the debtor said
first. Both libraries are imported on first use so that importing credira stays light. Days
and times are read by `credira.transcript.when`; the turns are those of
`credira.transcript.format`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from credira.transcript import keyphrases
from credira.transcript.format import Turn
from credira.transcript.when import (
    WEEKDAY,
    When,
    callback_instant,
    callback_request,
    find_dates,
    promised_date,
)

Outcome = Literal[
    "acknowledged", "promise_to_pay", "dispute", "callback_requested", "opt_out", "wrong_party"
]
SentimentLabel = Literal["positive", "neutral", "negative"]
# Which analysis classified a call: these rules, or an LLM's structured answer (credira.llm).
AnalysisSource = Literal["llm", "rules"]
# A refusal to pay is not an outcome; it is evidence against a promise.
CueKind = Literal[
    "acknowledged",
    "promise_to_pay",
    "dispute",
    "callback_requested",
    "opt_out",
    "wrong_party",
    "refusal",
]


@dataclass(frozen=True)
class Analysis:
    outcome: Outcome
    confidence_score: float
    sentiment_score: float
    sentiment_label: SentimentLabel
    keywords: list[str]
    summary: str
    promised_date: date | None
    callback_time: datetime | None
    source: AnalysisSource = "rules"


@dataclass(frozen=True)
class Cue:
    """One piece of evidence: which rule matched where (turn index, span in normalized text)."""

    kind: CueKind
    label: str
    weight: float
    turn: int
    start: int
    end: int


# -- analysis ---------------------------------------------------------------------------------


def analyze(turns: Sequence[Turn], *, ended_at: datetime, debtor_zone: ZoneInfo) -> Analysis:
    """Classify an answered call from its transcript. ``ended_at`` (aware) anchors relative
    dates ("in 7 days", "tomorrow at 10"), read in ``debtor_zone``."""
    if ended_at.tzinfo is None:
        raise ValueError("ended_at must be timezone-aware")
    ended_at = ended_at.astimezone(UTC)
    today = ended_at.astimezone(debtor_zone).date()
    texts = [_normalize(t.text) if t.speaker == "debtor" else "" for t in turns]
    cues = _find_cues(texts, today)

    promised = promised_date([c for c in cues if c.kind == "promise_to_pay"], texts, today)
    requests = sorted(
        (c for c in cues if c.kind == "callback_requested"), key=lambda c: (-c.weight, c.start)
    )
    asked = callback_request(requests, texts, today)
    scores: dict[CueKind, float] = {}
    for cue in cues:
        scores[cue.kind] = scores.get(cue.kind, 0.0) + cue.weight
    if promised is not None:
        # A date makes a promise clearer, in proportion to how firm the promise was.
        firmest = max(c.weight for c in cues if c.kind == "promise_to_pay")
        scores["promise_to_pay"] += _DETAIL_BONUS * firmest
    if asked is not None and asked.explicit:
        scores["callback_requested"] = scores.get("callback_requested", 0.0) + _DETAIL_BONUS

    outcome = _choose(scores)
    spoke = any(texts)
    confidence = _confidence(outcome, scores, spoke)
    callback_time = None
    if outcome == "callback_requested":
        callback_time = callback_instant(asked or When(), ended_at, debtor_zone)
    compound = _compound([t.text for t in turns if t.speaker == "debtor"])
    sentiment = round((compound + 1) / 2, 2)
    return Analysis(
        outcome=outcome,
        confidence_score=confidence,
        sentiment_score=sentiment,
        sentiment_label=sentiment_label(sentiment),
        keywords=_keywords(turns),
        summary=_summary(outcome, scores, cues, spoke, promised, callback_time, debtor_zone),
        promised_date=promised if outcome == "promise_to_pay" else None,
        callback_time=callback_time,
    )


def find_cues(turns: Sequence[Turn], *, today: date) -> list[Cue]:
    """The evidence `analyze` weighs, for explaining a classification."""
    return _find_cues([_normalize(t.text) if t.speaker == "debtor" else "" for t in turns], today)


# -- normalization and clauses ----------------------------------------------------------------

_CONTRACTED = re.compile(
    r"\b(don|won|can|didn|doesn|isn|haven|hasn|couldn|wouldn|shouldn|aren|wasn)t\b"
)


def _normalize(text: str) -> str:
    text = text.translate({0x2019: "'", 0x2018: "'", 0x02BC: "'", 0x60: "'"}).lower()
    text = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", text)
    text = re.sub(r"\b(mr|mrs|ms|dr)\.", r"\1", text)
    text = _CONTRACTED.sub(r"\1't", text)
    text = re.sub(r"\bim\b", "i'm", text)
    # A decimal point is not the end of a sentence: keep the length, change the character.
    text = re.sub(r"(?<=\d)\.(?=\d)", "\u00b7", text)
    return " ".join(text.split())


class _Clause(NamedTuple):
    start: int
    end: int
    question: bool


_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_CLAUSE_BREAK = re.compile(
    r"[,;]|\s[-\u2013\u2014]\s|\u2014|\b(?:but|so|because|although|though|however|except)\b"
)


def _clauses(text: str) -> Iterator[_Clause]:
    for sentence in _SENTENCE.finditer(text):
        question = sentence.group().rstrip().endswith("?")
        start = sentence.start()
        for brk in _CLAUSE_BREAK.finditer(text, sentence.start(), sentence.end()):
            yield _Clause(start, brk.start(), question)
            start = brk.end()
        yield _Clause(start, sentence.end(), question)


# -- cue tables -------------------------------------------------------------------------------


class _Rule(NamedTuple):
    kind: CueKind
    label: str
    pattern: re.Pattern[str]
    weight: float
    negatable: bool


def _rule(kind: CueKind, weight: float, negatable: bool, label: str, pattern: str) -> _Rule:
    return _Rule(kind, label, re.compile(pattern), weight, negatable)


_OBJ = r"(?:me|us|this number|my number|here|this phone)"

# One row per rule: kind, weight, whether a negation just before it cancels it, label (the
# dispute and wrong-party labels end up in the summary), pattern on normalized lowercase text.
# fmt: off
_RULES: tuple[_Rule, ...] = (
    # opt_out: the patterns carry their own negation ("do not call"), so are never negated.
    _rule("opt_out", 1.0, False, "stop calling",
          r"\bstop (?:calling|phoning|ringing|contacting|bothering|harass\w*)\b"),
    _rule("opt_out", 1.0, False, "do not call again",
          rf"\b(?:don't|do not|never)\s+(?:ever\s+)?(?:call|phone|ring|contact|bother)\s+{_OBJ}"
          r"\s+(?:again|anymore|any more|ever)\b"),
    _rule("opt_out", 0.8, False, "do not call",
          rf"\b(?:don't|do not|never)\s+(?:ever\s+)?(?:call|phone|ring|contact)\s+{_OBJ}"
          r"\s*[.!?]*$"),
    _rule("opt_out", 0.8, False, "do not contact", r"\b(?:do not|don't) contact\b"),
    _rule("opt_out", 1.0, False, "remove my number",
          r"\bremove (?:me|my (?:phone )?(?:number|name|details|information)|this number)\b"),
    _rule("opt_out", 1.0, False, "take me off",
          r"\btake (?:me|my number|my name|this number) off\b"),
    _rule("opt_out", 1.0, False, "do-not-call list",
          r"\b(?:do[- ]not[- ]call list|unsubscribe|opt (?:me )?out|cease and desist)\b"),
    _rule("opt_out", 0.8, False, "no more calls",
          r"\b(?:no|any) (?:more|further) calls\b"
          r"|\bi don't want (?:any )?(?:more )?(?:calls|to be called|you calling)\b"),
    _rule("opt_out", 0.6, False, "leave me alone", r"\bleave me alone\b"),

    _rule("wrong_party", 1.0, True, "says it is the wrong number",
          r"\bwrong (?:number|person|guy|man|woman|lady|house|address)\b"),
    _rule("wrong_party", 1.0, True, "says no one by that name lives there",
          r"\bno(?:body| one)\s+(?:here\s+|lives here\s+)?(?:by|with|called|named)\s+"
          r"(?:that|this|the)\s+name\b"),
    _rule("wrong_party", 0.8, True, "says no one by that name lives there",
          r"\bthere(?:'s| is) no(?:body| one)? \w+ (?:here|at this number|living here)\b"
          r"|\bno(?:body| one) (?:called|named) \w+"),
    _rule("wrong_party", 1.0, False, "says the customer does not live there",
          r"\b(?:doesn't|does not|don't|do not|no longer|never)\s+(?:\w+\s+)?lived?s?\s+here\b"),
    _rule("wrong_party", 0.6, True, "says the customer moved away",
          r"\bmoved (?:out|away)\b|\bpassed away\b|\bno longer at this number\b"),
    _rule("wrong_party", 0.8, False, "says they do not know the customer",
          r"\bnever heard of (?:him|her|them|that person|this person|that name)\b"),
    _rule("wrong_party", 0.8, False, "says this is not the customer's number",
          r"\b(?:this|that|it) (?:is not|isn't) (?:his|her|their) (?:number|phone)\b"
          r"|\bi'm not (?:him|her|mr|mrs|ms|miss|the (?:person|account holder|customer))\b"),

    _rule("dispute", 1.0, False, "says they do not owe it",
          r"\b(?:i|we) (?:don't|do not|didn't|did not) owe\b|\bi owe (?:you )?nothing\b"),
    _rule("dispute", 1.0, False, "says it is not their debt",
          r"\bnot (?:my|our) (?:debt|bill|invoice|account|charge|order)\b"
          r"|\b(?:isn't|is not) (?:mine|ours)\b"),
    _rule("dispute", 1.0, False, "says they never received it",
          r"\bnever (?:received|got(?! (?:a)?round)|ordered|signed|agreed to|bought)\b"),
    _rule("dispute", 0.8, False, "says they never received it",
          r"\b(?:haven't|have not|didn't|did not) (?:receive|get|got) (?:the |any |those |these "
          r"|that |this |your |an? |my )?(?:\w+ )?(?:goods|invoice|bill|order|delivery|items?"
          r"|products?|services?|package|parcel|shipment|anything)\b"),
    _rule("dispute", 1.0, True, "disputes the invoice",
          r"\b(?:i|we) (?:strongly |formally )?(?:dispute|contest|challenge|reject)\b"
          r"|\b(?:i'm|i am|we're|we are) (?:disputing|contesting|challenging)\b"),
    _rule("dispute", 0.8, True, "wants to raise a dispute",
          r"\b(?:raise|file|open|lodge|make) a (?:dispute|complaint)\b"),
    _rule("dispute", 1.0, True, "says it is already paid",
          r"\balready (?:paid|settled|made (?:the|a|that) payment"
          r"|sent (?:you )?the (?:money|payment))\b|\bpaid in full\b"),
    _rule("dispute", 0.8, True, "says it is already paid",
          r"\b(?:i|we) (?:paid|settled) (?:it|this|that|the (?:\w+ )?(?:invoice|bill|balance"
          r"|amount))\b(?! (?:yet|soon))"),
    _rule("dispute", 0.7, True, "says the amount is wrong",
          r"\b(?:that|this|it)(?:'s| is) (?:wrong|a mistake|an error|incorrect|not (?:right"
          r"|correct))\b|\b(?:amount|bill|invoice|charge|balance|total) is (?:wrong|incorrect"
          r"|not right|too high)\b|\bovercharged\b|\b(?:charged twice|double[- ]charged)\b"
          r"|\byou(?:'ve| have) (?:made a mistake|got it wrong)\b"),
    _rule("dispute", 0.7, True, "says the goods were returned or the order cancelled",
          r"\b(?:i|we) (?:returned|sent back) (?:the|it|them|those|that|everything)\b"
          r"|\b(?:cancelled|canceled) (?:the|my|our|that) (?:order|contract|subscription"
          r"|service)\b"),
    _rule("dispute", 0.5, True, "calls it a scam", r"\b(?:scam|fraud(?:ulent)?)\b"),

    _rule("callback_requested", 1.0, True, "call me back", r"\bcall (?:me |us )?back\b"),
    _rule("callback_requested", 1.0, True, "call me later",
          r"\b(?:call|ring|phone|try) (?:me |us )?(?:again )?(?:later|tomorrow|another time"
          r"|some other time|next week|tonight|this (?:afternoon|evening)"
          rf"|in the (?:morning|afternoon|evening)|(?:on |next )?{WEEKDAY})\b"),
    _rule("callback_requested", 0.8, True, "call me at",
          r"\b(?:call|ring|phone) (?:me|us) (?:again )?(?:at|after|around|in)\b"),
    _rule("callback_requested", 0.8, True, "try again", r"\b(?:try|ring) (?:me |us )?again\b"),
    _rule("callback_requested", 0.7, True, "talk later",
          r"\b(?:can|could|shall) we (?:talk|speak|do this) (?:later|another time|tomorrow"
          r"|some other time)\b|\btalk (?:later|tomorrow)\b"),
    _rule("callback_requested", 0.5, False, "not a good time",
          r"\b(?:not a good time|bad time|can't talk(?: right)? now|cannot talk(?: right)? now)\b"),
    _rule("callback_requested", 0.4, True, "busy",
          r"\b(?:i'm|i am) (?:busy|driving|at work|in a meeting"
          r"|with (?:a )?(?:client|customer|patient)s?)\b"),

    # promise_to_pay beyond "<subject> <modal> <pay verb>", which _promise_cues finds.
    _rule("promise_to_pay", 0.8, True, "you will have the money",
          r"\byou(?:'ll| will) (?:have|get|receive) (?:it|the money|the payment|your money"
          r"|payment|the funds)\b"),
    _rule("promise_to_pay", 0.8, True, "payment will be made",
          r"\b(?:payment|the money|the transfer) (?:will|should|is going to) (?:go out|be made"
          r"|be sent|arrive|reach you|come through|be there)\b"),
    _rule("promise_to_pay", 0.6, True, "will take care of it",
          r"\b(?:i'll|i will|we'll|we will) (?:take care of|sort out|deal with) (?:it|this|that"
          r"|the (?:bill|invoice|balance))\b"),

    _rule("acknowledged", 0.6, True, "received the invoice",
          r"\b(?:i|we)(?:'ve| have)?\s+(?:received|got|seen|gotten)\s+(?:the|your|it|that|this)\b"),
    _rule("acknowledged", 0.6, True, "knows about it",
          r"\b(?:i'm|i am|we're|we are) aware\b"
          r"|\bi know (?:about (?:it|that|this|the \w+)|it's (?:due|overdue|late))\b"),
    _rule("acknowledged", 0.6, True, "thanks for the reminder",
          r"\bthank(?:s| you) for (?:the |your )?(?:reminder|call|calling|letting me know"
          r"|heads up)\b"),
    _rule("acknowledged", 0.3, True, "will look into it",
          r"\b(?:i'll|i will|let me) (?:look into|check|have a look)\b"),
    _rule("acknowledged", 0.2, True, "confirms",
          r"\b(?:yes|yeah|yep|correct|that's (?:me|right|correct)|speaking|ok|okay|understood"
          r"|noted|got it|sure|alright|all right)\b"),
)
# fmt: on

# In a question ("didn't I already pay?") these kinds of evidence count less.
_QUESTION_FACTOR: dict[CueKind, float] = {"dispute": 0.5, "wrong_party": 0.6, "promise_to_pay": 0.5}
_NEGATED_BEFORE = re.compile(
    r"\b(?:don't|do not|never|not|no need to|didn't|won't|wouldn't|shouldn't|isn't|is not)"
    r"\s+(?:\w+\s+)?$"
)

_SUBJECT = re.compile(r"\b(?:i|we)\b")
_PAY_VERB = re.compile(
    r"\b(?:pay|paying|settle|settling|transfer|wire|make (?:a |the )?(?:\w+ )?payment|"
    r"send (?:you )?(?:the |a )?(?:money|payment|funds|check|cheque)|"
    r"(?:clear|cover) (?:it|this|that|the (?:balance|debt|invoice|bill|amount))|"
    r"(?:get|have) (?:it|this|that|the \w+) paid|afford(?: it| to pay)?)\b"
)
_NEGATION = re.compile(r"\b(?:not|never|no|cannot|unable|refuse)\b|n't")
_WEAK_MODAL = re.compile(
    r"\b(?:try|trying|hope|hoping|want|would like|'d like|might|may|maybe|probably|possibly"
    r"|should)\b"
)
_ABLE_MODAL = re.compile(r"\b(?:can|could|able)\b")
_STRONG_MODAL = re.compile(r"'ll\b|\b(?:will|shall|going to|gonna|promise|am|are)\b|'m\b|'re\b")
_UNTIL = re.compile(r"^\s*(?:\w+\s+){0,4}?(?:until|till|til|before)\b")


def _find_cues(texts: Sequence[str], today: date) -> list[Cue]:
    found: list[Cue] = []
    for index, text in enumerate(texts):
        if not text:
            continue
        for clause in _clauses(text):
            part = text[clause.start : clause.end]
            hits: list[Cue] = []
            for rule in _RULES:
                for m in rule.pattern.finditer(part):
                    if rule.negatable and _NEGATED_BEFORE.search(part, 0, m.start()):
                        continue
                    hits.append(_cue(rule.kind, rule.label, rule.weight, clause, index, m))
            hits.extend(_promise_cues(part, clause, index, text, today))
            found.extend(_without_overlaps(hits))
    return found


def _cue(
    kind: CueKind, label: str, weight: float, clause: _Clause, turn: int, m: re.Match[str]
) -> Cue:
    if clause.question:
        weight *= _QUESTION_FACTOR.get(kind, 1.0)
    return Cue(kind, label, weight, turn, clause.start + m.start(), clause.start + m.end())


def _promise_cues(part: str, clause: _Clause, turn: int, text: str, today: date) -> Iterator[Cue]:
    for verb in _PAY_VERB.finditer(part):
        prefix = part[: verb.start()]
        subjects = list(_SUBJECT.finditer(prefix))
        if not subjects:
            continue
        between = prefix[subjects[-1].end() :]
        words = len(between.split())
        if _NEGATION.search(between) and words <= 6:
            rest = text[clause.start + verb.end() :]
            until = _UNTIL.match(rest)
            if until and any(d.start < until.end() + 4 for d in find_dates(rest, today)):
                yield _cue("promise_to_pay", "cannot pay until", 0.8, clause, turn, verb)
            else:
                yield _cue("refusal", "says they cannot pay", 1.0, clause, turn, verb)
        elif words <= 4 and not verb.group().startswith("afford"):
            if _WEAK_MODAL.search(between):
                weight = 0.4
            elif _ABLE_MODAL.search(between):
                weight = 0.8
            elif _STRONG_MODAL.search(between):
                weight = 1.0
            else:
                continue
            yield _cue("promise_to_pay", "will pay", weight, clause, turn, verb)


def _without_overlaps(hits: list[Cue]) -> list[Cue]:
    """Within one kind, overlapping matches are one piece of evidence: keep the heaviest."""
    kept: list[Cue] = []
    for cue in sorted(hits, key=lambda c: -c.weight):
        if not any(k.kind == cue.kind and k.start < cue.end and cue.start < k.end for k in kept):
            kept.append(cue)
    return sorted(kept, key=lambda c: c.start)


# -- choosing and confidence ------------------------------------------------------------------

_PRIORITY: tuple[Outcome, ...] = (
    "opt_out",
    "wrong_party",
    "dispute",
    "promise_to_pay",
    "callback_requested",
)
_DETAIL_BONUS = 0.6
# Evidence for the second kind weakens a classification as the first.
_CONFLICTS: dict[Outcome, tuple[CueKind, ...]] = {
    "opt_out": (),  # "don't call me again" stands whatever else was said
    "wrong_party": ("dispute", "promise_to_pay", "callback_requested", "acknowledged"),
    "dispute": ("wrong_party", "promise_to_pay"),
    "promise_to_pay": ("wrong_party", "dispute", "refusal"),
    "callback_requested": ("wrong_party", "dispute", "promise_to_pay"),
    "acknowledged": ("refusal",),
}


def _choose(scores: dict[CueKind, float]) -> Outcome:
    best = max((scores.get(o, 0.0) for o in _PRIORITY), default=0.0)
    for outcome in _PRIORITY:
        score = scores.get(outcome, 0.0)
        if score > 0 and score >= min(1.0, best / 2):
            return outcome
    return "acknowledged"


def _confidence(outcome: Outcome, scores: dict[CueKind, float], spoke: bool) -> float:
    support = scores.get(outcome, 0.0)
    against = sum(scores.get(kind, 0.0) for kind in _CONFLICTS[outcome])
    if outcome == "acknowledged":
        # The fallback: moderate without any cue, low when the debtor said nothing at all.
        if not spoke:
            return 0.3
        base = 1 - 0.45 * math.exp(-0.9 * support)
        support = max(support, 1.0)
    else:
        base = 1 - 0.5 * math.exp(-0.9 * support)
    value = base * support / (support + 0.5 * against)
    return round(min(max(value, 0.05), 0.99), 2)


# -- summary ----------------------------------------------------------------------------------

_ALSO: dict[CueKind, str] = {
    "opt_out": "asked to be left alone",
    "wrong_party": "suggested this may be the wrong number",
    "dispute": "questioned the debt",
    "promise_to_pay": "offered to pay",
    "callback_requested": "asked to be called back",
    "refusal": "said they cannot pay",
}


def _summary(
    outcome: Outcome,
    scores: dict[CueKind, float],
    cues: Sequence[Cue],
    spoke: bool,
    promised: date | None,
    callback_time: datetime | None,
    zone: ZoneInfo,
) -> str:
    strongest = max((c for c in cues if c.kind == outcome), key=lambda c: c.weight, default=None)
    if outcome == "promise_to_pay":
        main = (
            f"Customer promised to pay by {promised.isoformat()}."
            if promised
            else "Customer promised to pay but gave no date."
        )
    elif outcome == "dispute":
        main = f"Customer disputes the debt: {strongest.label if strongest else 'disputes it'}."
    elif outcome == "callback_requested" and callback_time is not None:
        local = callback_time.astimezone(zone)
        main = (
            f"Customer asked to be called back on {local:%Y-%m-%d} at {local:%H:%M} ({zone.key})."
        )
    elif outcome == "opt_out":
        main = "Customer asked not to be called again."
    elif outcome == "wrong_party":
        label = strongest.label if strongest else "says it is the wrong number"
        main = f"The person who answered {label}."
    elif not spoke:
        main = "Customer did not speak."
    elif scores.get("refusal"):
        acknowledged = "acknowledged the invoice but " if scores.get("acknowledged") else ""
        main = f"Customer {acknowledged}said they cannot pay."
    elif scores.get("acknowledged"):
        main = "Customer acknowledged the invoice."
    else:
        main = "Customer answered but gave no clear response."
    # Mixed evidence is worth a second sentence (a refusal is in the first when acknowledged).
    others = [
        k
        for k in _ALSO
        if k != outcome
        and scores.get(k, 0.0) >= 0.5
        and not (k == "refusal" and outcome == "acknowledged")
    ]
    if others:
        return f"{main} They also {_ALSO[max(others, key=lambda k: scores[k])]}."
    return main


# -- sentiment and keywords -------------------------------------------------------------------


class _Polarity(Protocol):
    def polarity_scores(self, text: str) -> dict[str, float]: ...


_NEUTRAL_WORDS = ("pay", "debt")


@functools.cache
def _vader() -> _Polarity:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    # Words every collection call uses whatever the mood: VADER rates them negative.
    for word in _NEUTRAL_WORDS:
        analyzer.lexicon.pop(word, None)
    polarity: _Polarity = analyzer
    return polarity


def _compound(debtor_texts: Sequence[str]) -> float:
    """VADER's compound score (-1..1) of everything the debtor said; 0 when nothing."""
    text = " ".join(t.strip() for t in debtor_texts if t.strip())
    return float(_vader().polarity_scores(text)["compound"]) if text else 0.0


# VADER's own thresholds, +/-0.05 compound, on the 0..1 scale the score is kept in.
_POSITIVE_FROM = (1 + 0.05) / 2
_NEGATIVE_UP_TO = (1 - 0.05) / 2


def sentiment_label(score: float) -> SentimentLabel:
    """The label of a sentiment score (0..1, as calls keep it): the one definition, for a
    call's analysis and for the callout response's ``sentiment_analysis`` alike."""
    if score >= _POSITIVE_FROM:
        return "positive"
    if score <= _NEGATIVE_UP_TO:
        return "negative"
    return "neutral"


_FILLERS = frozenset((
    "agent", "debtor", "bye", "goodbye", "yeah", "yep", "nope", "hey", "um", "uh", "hmm",
    "alright", "gonna", "wanna", "gotta", "sorry", "hello", "hi", "speaking", "moment", "good",
    "great", "fine", "don", "won", "didn", "doesn", "isn", "ll", "ve", "re",
))  # fmt: skip


@functools.cache
def _stopwords() -> frozenset[str]:
    import yake

    english: set[str] = yake.KeywordExtractor(lan="en").stopword_set
    return frozenset(english) | _FILLERS


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _keywords(turns: Sequence[Turn]) -> list[str]:
    """Up to five YAKE keywords of the whole transcript, those the debtor said first (the agent's
    introduction otherwise dominates), no stopwords, no two sharing a word stem."""
    sentences = [t.text.strip() for t in turns if t.text.strip()]
    text = " ".join(s if s[-1] in ".!?" else s + "." for s in sentences).lower()
    if not text:
        return []
    stopwords = _stopwords()
    # YAKE as the yake package computes it, several times faster (see keyphrases).
    candidates = keyphrases.extract(text, stopwords, n=2, top=30)
    debtor = {
        word
        for t in turns
        if t.speaker == "debtor"
        for word in re.findall(r"[\w'-]+", t.text.lower())
    }
    candidates.sort(key=lambda kw: not all(word in debtor for word in kw.split()))
    chosen: list[str] = []
    stems: set[str] = set()
    for keyword in candidates:
        words = keyword.split()
        if any(w in stopwords or len(w) < 2 or not any(c.isalpha() for c in w) for w in words):
            continue
        keyword_stems = {_stem(w) for w in words}
        if keyword_stems & stems:
            continue
        chosen.append(keyword)
        stems |= keyword_stems
        if len(chosen) == 5:
            break
    return chosen
