"""``credira.transcript.keyphrases`` gives the keyphrases the ``yake`` package gives, in the same
order, for transcripts and for text built to reach its corners (repeats, plurals, acronyms,
capitals, numbers, punctuation-only tokens, several sentences per line)."""

from __future__ import annotations

import random

import pytest
import yake

from credira.channel.voice.simulator import SCENARIOS, _transcript
from credira.transcript import keyphrases
from credira.transcript.analysis import _stopwords

SCRIPTS = [
    "Hello, this is Acme Corp calling about invoice INV-000123 for 1,250.00 USD, which was due "
    "on 2024-01-30. Could you let us know when you plan to pay?",
    "Hi John Doe, this is Ava from Globex about invoice number 42. It is overdue by 30 days; "
    "the amount is $99.",
]
CORNERS = [
    "",
    "A.",
    "12 34 56",
    "Yes yes yes. Pay pay. The the invoice invoices Invoice. OK",
    "Hello... World!!! It's me, O'Neil; U.S.A. at 5pm e-mail: x@y.com http://a.b/c",
    "The IBM team. NASA NASA said\nhello\n\nThere. Mr. Smith went to Washington D.C. on Jan. 5th.",
]
WORDS = [
    "invoice", "pay", "payment", "the", "a", "of", "I", "you", "we", "will", "can", "not",
    "money", "Friday", "tomorrow", "bank", "transfer", "account", "number", "call", "back",
    "later", "dispute", "goods", "received", "thanks", "reminder", "IBM", "42", "e-mail", "don't",
]  # fmt: skip


def _texts() -> list[str]:
    texts = list(CORNERS)
    for scenario in [*SCENARIOS.values(), "acknowledge"]:
        for script in SCRIPTS:
            transcript = _transcript(scenario, script)
            if transcript:
                texts += [transcript, transcript.lower()]
    draw = random.Random(5)
    for _ in range(120):
        sentences = [
            " ".join(draw.choice(WORDS) for _ in range(draw.randint(1, 12)))
            for _ in range(draw.randint(1, 5))
        ]
        texts.append(draw.choice([". ", "\n", "! "]).join(sentences) + draw.choice([".", "?", ""]))
    return texts


@pytest.mark.parametrize("n", [2, 3])
def test_same_keyphrases_as_yake(n: int) -> None:
    stopwords = _stopwords()
    for text in _texts():
        extractor = yake.KeywordExtractor(lan="en", n=n, top=30, dedup_lim=0.9, stopwords=stopwords)
        expected = [kw for kw, _score in extractor.extract_keywords(text)]
        assert keyphrases.extract(text, stopwords, n=n, top=30) == expected, text
