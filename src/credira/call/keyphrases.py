"""YAKE keyphrase extraction (Campos et al., 2020), as the ``yake`` package computes it, in a
fraction of its time.

``yake.KeywordExtractor`` builds a networkx graph and numpy arrays for every text and spends
several milliseconds on a three-line transcript; the worker extracts keywords from every
answered call. This is the same algorithm on plain dictionaries, for the settings Credira uses
(phrases of up to ``n`` words, a co-occurrence window of one word, the ``seqm`` deduplication):
the same tokenizer (segtok, through yake's own helpers), the same features per word
(casing, position, frequency, relatedness to context, spread over sentences), the same score
per phrase, the same order and the same deduplication. ``tests/call/test_keyphrases.py``
checks that both give the same keywords.
"""

from __future__ import annotations

import functools
import math
import statistics
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

EXCLUDE = frozenset(string.punctuation)
DISCARD = frozenset({"u", "d"})  # tags of tokens that are numbers or mixed/unusual
_NO_PUNCTUATION = str.maketrans("", "", string.punctuation)


@dataclass(eq=False)
class _Term:
    id: int
    stopword: bool
    tf: float = 0.0
    tf_a: float = 0.0  # occurrences as an acronym
    tf_n: float = 0.0  # occurrences capitalised, not first in the sentence
    sentences: dict[int, None] = field(default_factory=dict)  # in order of first occurrence
    h: float = 0.0


@dataclass(eq=False)
class _Phrase:
    kw: str
    terms: list[_Term]
    tags: set[str]
    tf: float = 0.0
    h: float = 1.0

    def valid(self) -> bool:
        if self.terms[0].stopword or self.terms[-1].stopword:
            return False
        return any("u" not in tag and "d" not in tag for tag in self.tags)


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

    def term_of(word: str) -> _Term:
        unique = word.lower()
        plain_stop = unique in stop
        if unique.endswith("s") and len(unique) > 3:
            unique = unique[:-1]
        found = terms.get(unique)
        if found is not None:
            return found
        letters = unique.translate(_NO_PUNCTUATION)
        made = _Term(len(terms), plain_stop or unique in stop or len(letters) < 3)
        terms[unique] = made
        return made

    def add_phrase(kw: str, tags: str, words: list[_Term]) -> None:
        key = kw.lower()
        phrase = phrases.get(key)
        if phrase is None:
            phrase = phrases[key] = _Phrase(kw, words, {tags})
        else:
            phrase.tags.add(tags)
        phrase.tf += 1.0

    for sentence_id, sentence in enumerate(sentences):
        block: list[tuple[str, str, _Term]] = []
        for position, word in enumerate(sentence):
            if not word.strip(string.punctuation):  # punctuation only: ends a block
                block = []
                continue
            tag: str = get_tag(word, position, EXCLUDE)
            term = term_of(word)
            term.sentences.setdefault(sentence_id)
            term.tf += 1.0
            if tag == "a":
                term.tf_a += 1.0
            elif tag == "n":
                term.tf_n += 1.0
            if tag not in DISCARD and block and block[-1][0] not in DISCARD:
                key = (block[-1][2].id, term.id)
                edges[key] = edges.get(key, 0.0) + 1.0
            add_phrase(word, tag, [term])
            kw, tags, words = word, tag, [term]
            for previous_tag, previous_word, previous in reversed(
                block[max(0, len(block) - n + 1) :]
            ):
                kw, tags, words = f"{previous_word} {kw}", previous_tag + tags, [previous, *words]
                add_phrase(kw, tags, words)
            block.append((tag, word, term))

    _score_terms(terms, edges, len(sentences))
    valid = [p for p in phrases.values() if p.valid()]
    for phrase in valid:
        _score_phrase(phrase, edges)
    valid.sort(key=lambda p: p.h)
    chosen: list[_Phrase] = []
    for phrase in valid:
        lowered = phrase.kw.lower()
        if all(_similarity(lowered, c.kw.lower()) <= 0.9 for c in chosen):
            chosen.append(phrase)
            if len(chosen) == top:
                break
    return [p.kw for p in chosen]


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
        sentences = term.sentences.keys()
        sentence_spread = len(sentences) / count
        case = max(term.tf_a, term.tf_n) / (1.0 + math.log(term.tf))
        position = math.log(math.log(3.0 + statistics.median(sentences)))
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
