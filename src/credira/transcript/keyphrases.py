"""YAKE keyphrase extraction (Campos et al., 2020), as the ``yake`` package computes it, in a
fraction of its time.

``yake.KeywordExtractor`` builds a networkx graph and numpy arrays for every text and spends
several milliseconds on a three-line transcript; the worker extracts keywords from every
answered call. This is the same algorithm on plain dictionaries, for the settings Credira uses
(phrases of up to ``n`` words, a co-occurrence window of one word, the ``seqm`` deduplication):
the same tokenizer (segtok, through yake's own helpers), the same features per word
(casing, position, frequency, relatedness to context, spread over sentences), the same score
per phrase, the same order and the same deduplication. ``tests/transcript/test_keyphrases.py``
checks that both give the same keywords.
"""

from __future__ import annotations

import functools
import math
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

EXCLUDE = frozenset(string.punctuation)
DISCARD = frozenset({"u", "d"})  # tags of tokens that are numbers or mixed/unusual
_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)


@dataclass(eq=False, slots=True)
class _Term:
    id: int
    stopword: bool
    tf: float = 0.0
    tf_a: float = 0.0  # occurrences as an acronym
    tf_n: float = 0.0  # occurrences capitalised, not first in the sentence
    sentences: dict[int, None] = field(default_factory=dict)  # in order of first occurrence
    h: float = 0.0


@dataclass(eq=False, slots=True)
class _Phrase:
    kw: str
    key: str  # ``kw`` lowercased
    terms: list[_Term]
    plain: bool  # some occurrence has no number and no unusual token
    tf: float = 1.0
    h: float = 1.0

    def valid(self) -> bool:
        return self.plain and not self.terms[0].stopword and not self.terms[-1].stopword


@functools.cache
def _helpers() -> tuple[Any, Any, Any]:
    from segtok.segmenter import split_multi  # type: ignore[import-untyped]
    from yake.data.utils import get_tag, pre_filter

    return pre_filter, split_multi, get_tag


@functools.lru_cache(maxsize=4096)
def _tokens(sentence: str) -> tuple[str, ...]:
    """yake's tokens of one sentence (segtok's, without its clitics), kept: transcripts repeat
    sentences (the agent's script, the usual replies)."""
    from segtok.tokenizer import (  # type: ignore[import-untyped]
        split_contractions,
        web_tokenizer,
    )

    return tuple(
        w
        for w in split_contractions(web_tokenizer(sentence))
        if not (w.startswith("'") and len(w) > 1) and len(w) > 0
    )


def extract(text: str, stopwords: Iterable[str], *, n: int = 3, top: int = 20) -> list[str]:
    """The ``top`` keyphrases of ``text``, best first (as
    ``yake.KeywordExtractor(n=n, top=top, dedup_lim=0.9, window_size=1)``)."""
    if not text:
        return []
    pre_filter, split_multi, get_tag = _helpers()
    stop = stopwords if isinstance(stopwords, frozenset) else frozenset(stopwords)
    sentences = [_tokens(s) for s in split_multi(pre_filter(text.replace("\n", " "))) if s.strip()]
    terms: dict[str, _Term] = {}
    phrases: dict[str, _Phrase] = {}
    edges: dict[tuple[int, int], float] = {}
    punctuation = string.punctuation

    def add_phrase(kw: str, key: str, tags: str, words: list[_Term]) -> None:
        phrase = phrases.get(key)
        plain = "u" not in tags and "d" not in tags
        if phrase is None:
            phrases[key] = _Phrase(kw, key, words, plain)
        else:
            phrase.plain = phrase.plain or plain
            phrase.tf += 1.0

    # (The hot loop: what were small functions per word is written out here.)
    for sentence_id, sentence in enumerate(sentences):
        block: list[tuple[str, str, str, _Term]] = []  # tag, word, lowercased, term
        for position, word in enumerate(sentence):
            if not word.strip(punctuation):  # punctuation only: ends a block
                block = []
                continue
            tag: str = get_tag(word, position, EXCLUDE)
            lowered = word.lower()
            unique = lowered[:-1] if lowered.endswith("s") and len(lowered) > 3 else lowered
            term = terms.get(unique)
            if term is None:
                stopword = (
                    lowered in stop or unique in stop or len(unique.translate(_NO_PUNCTUATION)) < 3
                )
                term = terms[unique] = _Term(len(terms), stopword)
            term.sentences.setdefault(sentence_id)
            term.tf += 1.0
            if tag == "a":
                term.tf_a += 1.0
            elif tag == "n":
                term.tf_n += 1.0
            if tag not in DISCARD and block and block[-1][0] not in DISCARD:
                edge = (block[-1][3].id, term.id)
                edges[edge] = edges.get(edge, 0.0) + 1.0
            add_phrase(word, lowered, tag, [term])
            kw, key, tags, words = word, lowered, tag, [term]
            for previous_tag, previous_word, previous_lowered, previous in reversed(
                block[max(0, len(block) - n + 1) :]
            ):
                kw = f"{previous_word} {kw}"
                key = f"{previous_lowered} {key}"
                tags = previous_tag + tags
                words = [previous, *words]
                add_phrase(kw, key, tags, words)
            block.append((tag, word, lowered, term))

    _score_terms(terms, edges, len(sentences))
    valid = [p for p in phrases.values() if p.valid()]
    for phrase in valid:
        _score_phrase(phrase, edges)
    valid.sort(key=lambda p: p.h)
    chosen: list[str] = []
    keys: list[str] = []
    for phrase in valid:
        for other in keys:
            if _similarity(phrase.key, other) > 0.9:
                break
        else:
            chosen.append(phrase.kw)
            keys.append(phrase.key)
            if len(chosen) == top:
                break
    return chosen


def _score_terms(terms: dict[str, _Term], edges: dict[tuple[int, int], float], count: int) -> None:
    import numpy

    content = [t.tf for t in terms.values() if not t.stopword]
    if not content:
        return
    # numpy's mean and standard deviation, as yake takes them: the same sums, to the last bit.
    tfs = numpy.array(content)
    spread = float(tfs.mean() + tfs.std())
    max_tf = max(t.tf for t in terms.values())
    out_edges: dict[int, list[float]] = {}
    in_edges: dict[int, list[float]] = {}
    for (before, after), tf in edges.items():
        out_edges.setdefault(before, []).append(tf)
        in_edges.setdefault(after, []).append(tf)
    for term in terms.values():
        right = out_edges.get(term.id, [])
        left = in_edges.get(term.id, [])
        pwr = len(right) / sum(right) if right else 0.0
        pwl = len(left) / sum(left) if left else 0.0
        rel = 0.5 + pwl * (term.tf / max_tf) + (0.5 + pwr * (term.tf / max_tf))
        freq = term.tf / spread
        sentences = list(term.sentences)  # ascending: in the order first seen
        sentence_spread = len(sentences) / count
        case = max(term.tf_a, term.tf_n) / (1.0 + math.log(term.tf))
        middle = len(sentences) // 2
        median = (
            sentences[middle]
            if len(sentences) % 2
            else (sentences[middle - 1] + sentences[middle]) / 2
        )
        position = math.log(math.log(3.0 + median))
        term.h = position * rel / (case + freq / rel + sentence_spread / rel)


def _score_phrase(phrase: _Phrase, edges: dict[tuple[int, int], float]) -> None:
    sum_h, prod_h = 0.0, 1.0
    words = phrase.terms
    for at, term in enumerate(words):
        if not term.stopword:
            sum_h += term.h
            prod_h *= term.h
            continue
        # A stopword inside a phrase: how likely it is to join its neighbours.
        before = after = 0.0
        if at > 0 and (words[at - 1].id, term.id) in edges:
            before = edges[(words[at - 1].id, term.id)] / words[at - 1].tf
        if at < len(words) - 1 and (term.id, words[at + 1].id) in edges:
            after = edges[(term.id, words[at + 1].id)] / words[at + 1].tf
        joined = before * after
        prod_h *= 1 + (1 - joined)
        sum_h -= 1 - joined
    phrase.h = prod_h / ((sum_h + 1) * phrase.tf)


@functools.lru_cache(maxsize=4096)
def _similarity(a: str, b: str) -> float:
    """yake's ``seqm`` similarity of two phrases (its length, character, word and trigram
    overlaps, after its quick pre-filter)."""
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    longest = max(la, lb)
    if abs(la - lb) > longest * 0.6:
        return 0.0
    if longest > 3:
        if a[0] != b[0] or a[-1] != b[-1]:
            return 0.0
        if min(la, lb) >= 3 and a[:2].lower() != b[:2].lower():
            return 0.0
    if abs(a.count(" ") - b.count(" ")) > 1:
        return 0.0
    length_ratio = min(la, lb) / longest
    if length_ratio < 0.3:
        return 0.0
    a, b = a.lower(), b.lower()
    chars = set(a) | set(b)
    char_overlap = len(set(a) & set(b)) / len(chars)
    if char_overlap < 0.2:
        return 0.0
    if longest <= 4:
        return char_overlap * length_ratio
    words_a, words_b = a.split(), b.split()
    if len(words_a) > 1 or len(words_b) > 1:
        words = set(words_a) | set(words_b)
        word_overlap = len(set(words_a) & set(words_b)) / len(words)
        if word_overlap > 0.4:
            return word_overlap
    trigrams_a = {a[i : i + 3] for i in range(len(a) - 2)}
    trigrams_b = {b[i : i + 3] for i in range(len(b) - 2)}
    trigrams = trigrams_a | trigrams_b
    overlap = len(trigrams_a & trigrams_b) / len(trigrams) if trigrams else 0.0
    return min(0.3 * length_ratio + 0.2 * char_overlap + 0.5 * overlap, 1.0)
