"""Transcripts of calls: the one format every voice provider's transcript is read as
(`format`), and what the debtor said on it: the outcome, sentiment and keywords (`analysis`),
with the days and times named (`when`) and YAKE's keyphrases (`keyphrases`).

Pure: no I/O, no HTTP, no database. The NLP libraries are imported on first use.
"""

from credira.transcript.analysis import (
    Analysis,
    AnalysisSource,
    Outcome,
    SentimentLabel,
    analyze,
    sentiment_label,
)
from credira.transcript.format import (
    Speaker,
    Turn,
    debtor_took_part,
    parse_transcript,
    render_transcript,
)

__all__ = [
    "Analysis",
    "AnalysisSource",
    "Outcome",
    "SentimentLabel",
    "Speaker",
    "Turn",
    "analyze",
    "debtor_took_part",
    "parse_transcript",
    "render_transcript",
    "sentiment_label",
]
