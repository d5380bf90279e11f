"""Parse the model's ``[n]`` citations and check every sentence against its sources.

The model is small and its text is untrusted. A sentence survives only if

* it cites passages that were actually retrieved (``[7]`` of five passages is
  dropped; a sentence without a citation gets the passage that supports it best,
  if one does),
* its cited passages support it: the embedder's cosine between the sentence and
  the closest sentence of a cited passage reaches ``min_support``, and
* at least ``min_coverage`` of its content words (Dutch-stemmed, stop words
  left out) occur in the cited passages, when answer and sources share a
  language: the embedder alone rates fluent sentences on the passage's topic as
  similar even when they say something else (the grounding eval found such
  sentences passing), and
* every number and every name in it occurs in a cited passage.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from assistant.chunking import split_sentences
from assistant.embedding import Embedder
from assistant.settings import GroundingPolicy
from assistant.types import Failure, Hit, SentenceCheck

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;–-]\s*\d+)*)\s*\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NAME = re.compile(r"\b[A-ZÀ-Ý][\w’'-]{2,}")
_MIN_WORDS = 3


@dataclass(frozen=True)
class DraftSentence:
    """A sentence of the draft without its markers, and the passage numbers it cited."""

    text: str
    cited: tuple[int, ...]


def _numbers_in_marker(body: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*[,;]\s*", body):
        if re.fullmatch(r"\d+\s*[–-]\s*\d+", part):
            a, b = (int(x) for x in re.split(r"\s*[–-]\s*", part))
            numbers.extend(range(min(a, b), min(max(a, b), min(a, b) + 20) + 1))
        elif part.strip().isdigit():
            numbers.append(int(part))
    return numbers


def strip_markers(text: str) -> str:
    """Text without ``[n]`` markers and the spaces they leave behind."""
    text = MARKER.sub("", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return " ".join(text.split())


def parse_citations(draft: str) -> list[DraftSentence]:
    """Split a draft answer into sentences with the passage numbers each cites.

    Markers may stand after a sentence (``... 42 [2].``), after its full stop
    (``... 42. [2]``) or open a line (``[2] De huur ...``); a run of markers on
    its own belongs to the sentence before it.
    """
    result: list[DraftSentence] = []
    for line in draft.splitlines():
        for sentence in split_sentences(line):
            cited = tuple(n for m in MARKER.finditer(sentence.text) for n in _numbers_in_marker(m.group(1)))
            text = strip_markers(sentence.text)
            if not re.search(r"\w", text):
                if result and cited:
                    previous = result[-1]
                    result[-1] = DraftSentence(previous.text, previous.cited + cited)
                continue
            result.append(DraftSentence(text, cited))
    return result


_CARDINALS = {
    **dict.fromkeys(("twee", "two"), 2), **dict.fromkeys(("drie", "three"), 3), **dict.fromkeys(("vier", "four"), 4),
    **dict.fromkeys(("vijf", "five"), 5), **dict.fromkeys(("zes", "six"), 6), **dict.fromkeys(("zeven", "seven"), 7),
    **dict.fromkeys(("acht", "eight"), 8), **dict.fromkeys(("negen", "nine"), 9), **dict.fromkeys(("tien", "ten"), 10),
    **dict.fromkeys(("elf", "eleven"), 11), **dict.fromkeys(("twaalf", "twelve"), 12),
    **dict.fromkeys(("twintig", "twenty"), 20), **dict.fromkeys(("honderd", "hundred"), 100),
}  # fmt: skip
_ORDINALS = {
    **dict.fromkeys(("eerste", "first"), 1), **dict.fromkeys(("tweede", "second"), 2),
    **dict.fromkeys(("derde", "third"), 3), **dict.fromkeys(("vierde", "fourth"), 4),
    **dict.fromkeys(("vijfde", "fifth"), 5), **dict.fromkeys(("zesde", "sixth"), 6),
    **dict.fromkeys(("zevende", "seventh"), 7), **dict.fromkeys(("achtste", "eighth"), 8),
    **dict.fromkeys(("negende", "ninth"), 9), **dict.fromkeys(("tiende", "tenth"), 10),
}  # fmt: skip
_DIGIT_ORDINAL = re.compile(r"\b(\d+)(?:e|de|ste|st|nd|rd|th)\b")


def _quantities(text: str) -> dict[tuple[str, str], str]:
    """Every number in ``text`` as a comparable key -> how it is written."""
    found: dict[tuple[str, str], str] = {}
    for m in _DIGIT_ORDINAL.finditer(text):
        found[("ord", m.group(1))] = m.group(0)
    for n in _NUMBER.findall(_DIGIT_ORDINAL.sub(" ", text)):
        found.setdefault(("num", n), n)
    for word in re.findall(r"[^\W\d_]+", text.lower()):
        if word in _CARDINALS:
            found[("num", str(_CARDINALS[word]))] = word
        elif word in _ORDINALS:
            found[("ord", str(_ORDINALS[word]))] = word
    return found


def unsupported_numbers(sentence: str, source: str) -> list[str]:
    """Numbers in ``sentence`` (digits, number words, ordinals) that ``source`` does not state.

    "drie" is supported by "3" and "derde" by "3e": the value counts, not the spelling.
    """
    stated = _quantities(source)
    return [written for key, written in _quantities(sentence).items() if key not in stated]


def unsupported_names(sentence: str, source: str) -> list[str]:
    """Capitalised words (after the first word) that do not occur in ``source``.

    An inflected form counts as occurring ("Rotterdamse" for "Rotterdam"): a source
    word may differ from it only in the last three letters.
    """
    words = _NAME.findall(sentence)
    first = sentence.split(maxsplit=1)[0] if sentence.split() else ""
    source_lower = source.lower()
    source_words = set(re.findall(r"\w+", source_lower))

    def occurs(word: str) -> bool:
        w = word.lower()
        if w in source_lower:
            return True
        need = max(5, len(w) - 3)
        return any(len(s) >= need and _common_prefix(w, s) >= need for s in source_words)

    return [w for w in words if w != first and not occurs(w)]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def garbled_words(sentence: str, source: str) -> list[str]:
    """Words that look like a source word copied with a corrupted ending.

    Small models copying a passage sometimes mangle a word (``integratieprope``
    for ``integratieproces``). A long word that is not in the source but shares
    at least three quarters of itself, as a prefix, with a source word of about
    the same length (and is not simply an inflection of it) is flagged.
    Only meaningful when the answer is in the source's language.
    """
    source_words = {w.lower() for w in re.findall(r"\w+", source)}
    flagged = []
    for word in re.findall(r"\w+", sentence):
        lower = word.lower()
        if len(lower) < 7 or lower in source_words or lower.isdigit():
            continue
        for known in source_words:
            if abs(len(known) - len(lower)) > 3 or known.startswith(lower) or lower.startswith(known):
                continue
            if _common_prefix(known, lower) >= 0.75 * min(len(known), len(lower)):
                flagged.append(word)
                break
    return flagged


Passages = list[tuple[int, str]]  # (number the draft cites it by, text): what the checks read


def numbered(hits: list[Hit]) -> Passages:
    """Retrieved passages as the checks read them: numbered from 1, text only."""
    return [(n, hit.chunk.text) for n, hit in enumerate(hits, start=1)]


def passage_sentences(passages: Passages) -> list[tuple[int, str]]:
    """(passage number, sentence) for every sentence of the numbered passages."""
    return [(n, s.text) for n, text in passages for s in split_sentences(text)]


def word_coverage(sentence: str, source: str) -> float:
    """Share of the sentence's distinct content words (stemmed, no stop words) that occur in ``source``."""
    from assistant.retrieval import bm25_tokenize

    words, found = bm25_tokenize([sentence, source])
    return len(set(words) & set(found)) / len(set(words)) if words else 1.0


def support_matrix(sentences: list[str], passages: Passages, embedder: Embedder) -> tuple[np.ndarray, list[list[str]]]:
    """support[i, n-1]: best cosine between sentence i and any sentence of passage n (numbered 1..len).

    Both sides use the symmetric ``query:`` prompt, as e5 recommends for
    sentence-to-sentence similarity. Also returns, per answer sentence and passage,
    the passage sentence that supports it best (for highlighting).
    """
    pieces = passage_sentences(passages)
    count = len(passages)
    if not sentences or not pieces:
        return np.zeros((len(sentences), count)), [[""] * count for _ in sentences]
    vectors = embedder.embed_queries(sentences + [text for _, text in pieces])
    a, p = vectors[: len(sentences)], vectors[len(sentences) :]
    cos = a @ p.T
    support = np.full((len(sentences), count), -1.0)
    best_text = [[""] * count for _ in sentences]
    for j, (n, text) in enumerate(pieces):
        for i in range(len(sentences)):
            if cos[i, j] > support[i, n - 1]:
                support[i, n - 1] = cos[i, j]
                best_text[i][n - 1] = text
    return support, best_text


def early_failures(
    draft: list[DraftSentence], passages: Passages, policy: GroundingPolicy
) -> list[tuple[Failure, str] | None]:
    """Per draft sentence, the first check it fails that needs no embedding (None if it passes them all).

    An unfinished or repeated sentence fails whatever its support; one that fails a word check against
    all the passages fails it against the cited ones too. The checks run these first, so that a
    sentence they reject is not embedded (the support embedding is the check's main cost).
    """
    everything = " ".join(text for _, text in passages)
    early: list[tuple[Failure, str] | None] = []
    seen: list[str] = []
    for i, sentence in enumerate(draft):
        key = sentence.text.lower().rstrip(".!?")
        if i == len(draft) - 1 and sentence.text[-1] not in ".!?":
            # Generation stopped mid-sentence (token limit): an unfinished claim is no claim.
            early.append((Failure.UNFINISHED, ""))
        elif len(sentence.text.split()) < _MIN_WORDS or any(key in earlier for earlier in seen):
            early.append((Failure.REPEATED, ""))
        else:
            early.append(word_failure(sentence.text, everything, policy, with_numbers=False))
            seen.append(key)
    return early


def check_draft(
    draft: list[DraftSentence],
    passages: Passages,
    embedder: Embedder,
    policy: GroundingPolicy,
    screen: Callable[[str], tuple[Failure, str] | None] | None = None,
) -> tuple[list[SentenceCheck], list[list[str]]]:
    """Verdicts for every draft sentence under ``policy``, citations repaired where a passage supports it.

    The one check answers and summaries share. Returns the checks (``cited`` holds the repaired,
    valid passage numbers) and, per sentence, the best supporting sentence of each passage.
    ``screen`` is the caller's own test of a sentence (an answer's: does it answer the question?). It
    runs after the checks that embed nothing and before the support check, which embeds every
    evidence sentence, so that a sentence failing either is not embedded for support.
    """
    texts = dict(passages)
    early = early_failures(draft, passages, policy)
    if screen is not None:
        early = [known if known is not None else screen(s.text) for known, s in zip(early, draft, strict=True)]
    rows = [i for i, failure in enumerate(early) if failure is None]
    support_rows, best_rows = support_matrix([draft[i].text for i in rows], passages, embedder)
    support = np.zeros((len(draft), len(passages)))
    best_text = [[""] * len(passages) for _ in draft]
    for row, i in enumerate(rows):
        support[i], best_text[i] = support_rows[row], best_rows[row]
    checks: list[SentenceCheck] = []
    for i, sentence in enumerate(draft):
        valid = sorted({n for n in sentence.cited if n in texts})
        if (known := early[i]) is not None:
            checks.append(_failed(sentence.text, valid, 0.0, *known))
            continue
        reason = ""
        if valid:
            supported_cites = [n for n in valid if support[i, n - 1] >= policy.min_support]
        else:
            supported_cites = []
            reason = "no valid citation"
        if not supported_cites:
            best = int(np.argmax(support[i])) + 1 if passages else 0
            if best and support[i, best - 1] >= policy.min_support:
                supported_cites = [best]
                reason = f"citation repaired to [{best}]" if not valid else f"citation moved from {valid} to [{best}]"
        if not supported_cites:
            score = float(max((support[i, n - 1] for n in valid), default=support[i].max() if passages else 0.0))
            checks.append(_failed(sentence.text, valid, score, Failure.UNSUPPORTED, reason))
            continue
        source = " ".join(texts[n] for n in supported_cites)
        score = float(max(support[i, n - 1] for n in supported_cites))
        garbled = garbled_words(sentence.text, source)
        if garbled:
            checks.append(_failed(sentence.text, supported_cites, score, Failure.GARBLED, ", ".join(garbled)))
        elif late := word_failure(sentence.text, source, policy, with_numbers=True):
            checks.append(_failed(sentence.text, supported_cites, score, *late))
        else:
            checks.append(SentenceCheck(sentence.text, tuple(supported_cites), True, score, reason))
    return checks, best_text


def word_failure(sentence: str, source: str, policy: GroundingPolicy, with_numbers: bool) -> tuple[Failure, str] | None:
    """The first word-level check ``sentence`` fails against ``source``: damaged words, coverage, names, numbers.

    Each can only pass more often as ``source`` grows, so a failure against all the passages is a
    failure against any of them. Numbers are left out for that use (``with_numbers=False``): reading
    number words across the join of two passages could state a number neither states.
    """
    damaged = damaged_words(sentence, source, policy.common_word_zipf)
    if damaged:
        return Failure.DAMAGED, ", ".join(damaged)
    coverage = word_coverage(sentence, source)
    if coverage < policy.min_word_coverage:
        return Failure.LOW_COVERAGE, f"only {coverage:.0%} of its words"
    missing = (unsupported_numbers(sentence, source) if with_numbers else []) + unsupported_names(sentence, source)
    if missing:
        return Failure.NOT_IN_SOURCE, ", ".join(missing)
    return None


def _failed(sentence: str, cited, score: float, failure: Failure, detail: str = "") -> SentenceCheck:
    reason = f"{failure.value}: {detail}" if detail else failure.value
    return SentenceCheck(sentence, tuple(cited), False, score, reason, failure)


def load_common_words() -> None:
    """Read wordfreq's Dutch and English frequency lists (~0.6 s), which ``damaged_words`` needs.

    Done when the model is loaded, so the first check of a model's sentence does not pay for it.
    """
    from wordfreq import zipf_frequency

    for language in ("nl", "en"):
        zipf_frequency("de", language)


def damaged_words(sentence: str, sources: str, common_zipf: float = 4.0) -> list[str]:
    """Words of ``sentence`` that are in neither its sources nor common Dutch or English.

    The small model garbles words while copying ("Politici kunnen dus inging voorstaan" for
    "menging"); such a word is in no source, and it is not a common word either.
    """
    from wordfreq import zipf_frequency

    source_words = set(re.findall(r"\w+", sources.lower()))
    damaged = []
    for word in re.findall(r"[^\W\d_]+", strip_markers(sentence).lower()):
        if word in source_words or len(word) < 3:
            continue
        if max(zipf_frequency(word, "nl"), zipf_frequency(word, "en")) < common_zipf:
            damaged.append(word)
    return damaged
