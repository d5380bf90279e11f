"""Does a passage support a sentence? The judge behind the citation metrics.

No judge model may be fetched, so the judge is built from what runs here:

* similarity: the embedder's best cosine between the sentence and any window of
  one or two consecutive passage sentences;
* coverage: the share of the sentence's content words (four letters or more, not a
  Dutch or English stop word, compared on their first five letters) that occur in
  the passage; only when both are in the same language;
* numbers and names: every number (written in digits or words, read by text2num)
  and every capitalised name in the sentence must occur in the passage;
* optionally the configured LLM, asked "ja" or "nee".

The product's checks (``citations.py``) test support too, with their own stemmer,
number tables and thresholds. The judge shares no code or threshold with them, so
that a bug in a check is not repeated by the judge that scores it; it still looks
at the same kinds of evidence, so the judge-free gold-evidence figures of the eval
are the independent ones.

``validate`` measures agreement with the hand-labelled pairs in
``eval/support_pairs.jsonl``; ``calibrate`` picks the two thresholds by grid
search and estimates, by cross-validation, how well that choice generalises.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from assistant.chunking import split_sentences
from assistant.embedding import Embedder
from assistant.evaluation.evalset import SupportPair
from assistant.llm import LLM
from assistant.prompting import load_template

# Chosen with ``calibrate`` on eval/support_pairs.jsonl (see README, "Grounding evaluation").
DEFAULT_MIN_SIMILARITY = 0.86
DEFAULT_MIN_COVERAGE = 0.6


@dataclass(frozen=True)
class Verdict:
    supported: bool
    similarity: float
    coverage: float | None
    missing: tuple[str, ...]
    llm: bool | None = None


_PREFIX = 5  # content words compared on their first letters: "bevordert" and "bevorderen" match


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN

    return frozenset(STOPWORDS_DUTCH) | frozenset(STOPWORDS_EN)


def _content_prefixes(text: str) -> set[str]:
    return {w[:_PREFIX] for w in re.findall(r"[^\W\d_]+", text.lower()) if len(w) >= 4 and w not in _stop_words()}


def coverage(sentence: str, passage: str) -> float:
    """Share of the sentence's content words whose first letters occur among the passage's."""
    words = _content_prefixes(sentence)
    return len(words & _content_prefixes(passage)) / len(words) if words else 1.0


def _numbers(text: str, language: str) -> set[str]:
    """The numbers in ``text`` as digits: "drie" -> 3, "derde" and "3e" -> 3 (text2num reads the words)."""
    from text_to_num import alpha2digit

    language = language if language in ("nl", "en") else "nl"
    # Cardinals from two up ("een" is mostly an article); ordinals from one up ("eerste" -> "1e").
    cardinals = re.findall(r"\d+", alpha2digit(text, language, threshold=2))
    ordinals = re.findall(r"(\d+)(?:e|de|ste|st|nd|rd|th)\b", alpha2digit(text, language, threshold=0))
    return {m.lstrip("0") or "0" for m in cardinals + ordinals}


def missing_numbers(sentence: str, passage: str, language: str = "nl") -> list[str]:
    return sorted(_numbers(sentence, language) - _numbers(passage, "nl"))


def missing_names(sentence: str, passage: str) -> list[str]:
    """Capitalised words after the first whose first letters no passage word shares."""
    words = re.findall(r"[^\W\d_][\w-]*", sentence)
    passage_words = {w.lower() for w in re.findall(r"[\w-]+", passage)}
    missing = []
    for word in words[1:]:
        if not word[0].isupper():
            continue
        stem = word.lower()[: max(4, len(word) - 3)]
        if not any(w.startswith(stem) for w in passage_words):
            missing.append(word)
    return missing


def _windows(passage: str) -> list[str]:
    sentences = [s.text for s in split_sentences(passage)] or [passage]
    return sentences + [f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False)]


class SupportJudge:
    """Embedder similarity + word coverage + numbers and names (+ the LLM, if given)."""

    def __init__(
        self,
        embedder: Embedder,
        min_similarity: float = DEFAULT_MIN_SIMILARITY,
        min_coverage: float = DEFAULT_MIN_COVERAGE,
        llm: LLM | None = None,
    ):
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.min_coverage = min_coverage
        self.llm = llm
        self._cache: dict[str, np.ndarray] = {}

    @property
    def name(self) -> str:
        base = f"embedder≥{self.min_similarity:.2f}+coverage≥{self.min_coverage:.2f}+numbers/names"
        return base + ("+llm" if self.llm else "")

    def _vectors(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            for text, vector in zip(todo, self.embedder.embed_queries(todo), strict=True):
                self._cache[text] = vector
        return np.stack([self._cache[t] for t in texts])

    def signals(self, sentence: str, passage: str, same_language: bool) -> Verdict:
        """The raw signals, judged with the current thresholds."""
        windows = _windows(passage)
        vectors = self._vectors([sentence, *windows])
        similarity = float(np.max(vectors[1:] @ vectors[0]))
        covered = coverage(sentence, passage) if same_language else None
        found = missing_numbers(sentence, passage, "nl" if same_language else "en")
        if same_language:  # names are translated across languages ("Court of Audit" for "Rekenkamer")
            found += missing_names(sentence, passage)
        missing = tuple(found)
        return Verdict(self._decide(similarity, covered, missing), similarity, covered, missing)

    def _decide(self, similarity: float, coverage: float | None, missing: tuple[str, ...]) -> bool:
        return similarity >= self.min_similarity and (coverage is None or coverage >= self.min_coverage) and not missing

    def judge(self, sentence: str, passage: str, same_language: bool = True) -> Verdict:
        verdict = self.signals(sentence, passage, same_language)
        if self.llm is None:
            return verdict
        says_yes = ask_llm(self.llm, sentence, passage)
        return Verdict(verdict.supported and says_yes, verdict.similarity, verdict.coverage, verdict.missing, says_yes)


def ask_llm(llm: LLM, sentence: str, passage: str) -> bool:
    """The LLM's yes/no on support; anything but a clear yes counts as no."""
    prompt = load_template("judge.nl.txt").format(passage=passage, sentence=sentence)
    reply = "".join(llm.stream(prompt, 4, 0.0, ["\n"])).strip().lower()
    return bool(re.match(r"(ja|yes)\b", reply))


@dataclass(frozen=True)
class Agreement:
    """How a judge's verdicts compare with hand labels."""

    n: int
    accuracy: float
    precision: float  # of the pairs judged supported, the share labelled supported
    recall: float  # of the pairs labelled supported, the share judged supported
    cohen_kappa: float
    errors: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def agreement(labels: list[bool], verdicts: list[bool], ids: list[str] | None = None) -> Agreement:
    n = len(labels)
    tp = sum(1 for y, v in zip(labels, verdicts, strict=True) if y and v)
    agree = sum(1 for y, v in zip(labels, verdicts, strict=True) if y == v)
    judged, actual = sum(verdicts), sum(labels)
    accuracy = agree / n if n else 0.0
    chance = ((judged * actual) + (n - judged) * (n - actual)) / (n * n) if n else 0.0
    kappa = (accuracy - chance) / (1 - chance) if chance < 1 else 0.0
    errors = tuple(i for i, y, v in zip(ids or [], labels, verdicts, strict=False) if y != v)
    precision, recall = tp / judged if judged else 0.0, tp / actual if actual else 0.0
    return Agreement(n, float(accuracy), float(precision), float(recall), float(kappa), errors)


def validate(judge: SupportJudge, pairs: list[SupportPair]) -> Agreement:
    verdicts = [judge.judge(p.sentence, p.passage, same_language=p.language == "nl").supported for p in pairs]
    return agreement([p.supported for p in pairs], verdicts, [p.id for p in pairs])


_SIMILARITIES = [round(x, 2) for x in np.arange(0.78, 0.95, 0.01)]
_COVERAGES = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]


def _signal_tuple(v: Verdict) -> tuple[float, float | None, tuple[str, ...]]:
    return v.similarity, v.coverage, v.missing


def _best_thresholds(signals: list[Verdict], labels: list[bool], judge: SupportJudge) -> tuple[float, float]:
    best, best_key = (judge.min_similarity, judge.min_coverage), (-1.0, 0.0)
    for sim in _SIMILARITIES:
        for cov in _COVERAGES:
            judge.min_similarity, judge.min_coverage = sim, cov
            verdicts = [judge._decide(*_signal_tuple(s)) for s in signals]
            acc = agreement(labels, verdicts).accuracy
            key = (acc, -abs(sim - DEFAULT_MIN_SIMILARITY))  # ties: stay near the current default
            if key > best_key:
                best, best_key = (sim, cov), key
    return best


def calibrate(judge: SupportJudge, pairs: list[SupportPair], folds: int = 5, seed: int = 0) -> dict:
    """Grid-search the thresholds on all pairs, and estimate that procedure's accuracy by k-fold CV."""
    original = (judge.min_similarity, judge.min_coverage)
    signals = [judge.signals(p.sentence, p.passage, same_language=p.language == "nl") for p in pairs]
    labels = [p.supported for p in pairs]
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    held_out: list[tuple[bool, bool]] = []
    for f in range(folds):
        test = set(order[f::folds])
        train = [i for i in order if i not in test]
        sim, cov = _best_thresholds([signals[i] for i in train], [labels[i] for i in train], judge)
        judge.min_similarity, judge.min_coverage = sim, cov
        held_out += [(labels[i], judge._decide(*_signal_tuple(signals[i]))) for i in test]
    sim, cov = _best_thresholds(signals, labels, judge)
    judge.min_similarity, judge.min_coverage = original
    cv = agreement([y for y, _ in held_out], [v for _, v in held_out])
    return {"min_similarity": float(sim), "min_coverage": float(cov), "cross_validated": cv.to_dict(), "folds": folds}


__all__ = ["SupportJudge", "Verdict", "Agreement", "agreement", "validate", "calibrate", "ask_llm"]
