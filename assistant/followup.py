"""Turn a follow-up question into a standalone search query.

"En wat vond Musterd daarvan?" means nothing to a retriever on its own. When a
question leans on the previous turn (it opens with "en", "maar", "and", ... or
points back with "daarvan", "hij", "they", ...), the content words of the
previous standalone query are added to it. The rule is deterministic on
purpose: the default LLM is too small to rewrite queries without inventing
topics, and a wrong rewrite silently retrieves the wrong passages.
"""

from __future__ import annotations

import re
from functools import lru_cache

_OPENERS = {
    "en", "maar", "ook", "of", "dus", "waarom", "hoezo",
    "and", "but", "also", "so", "why",
}  # fmt: skip
_POINTERS = {
    # Dutch pronominal adverbs and pronouns that refer back to something said before
    "daarvan", "daarover", "daarmee", "daarin", "daarbij", "daarop", "daardoor", "daartegen", "daarnaast",
    "ervan", "erover", "ermee", "erin", "erbij", "erop", "hiervan", "hierover", "hiermee",
    "hij", "zij", "ze", "hem", "hen", "hun", "haar", "deze", "dit", "dat", "die", "diens", "zulke",
    "he", "she", "they", "them", "their", "it", "its", "this", "that", "these", "those", "such",
}  # fmt: skip
_QUESTION_WORDS = {
    "wat", "welke", "welk", "wie", "waar", "wanneer", "hoe", "hoeveel", "waarom",
    "noemen", "noemt", "zeggen", "zegt", "vinden", "vindt", "vond", "vonden", "beschrijven", "beschrijft",
    "what", "which", "who", "where", "when", "how", "say", "says", "mention", "think", "thought",
    "does", "did", "do", "about", "over",
}  # fmt: skip
_PHRASES = ("hoe zit het met", "wat vind", "wat vond", "what about", "how about")
_MAX_CONTEXT_WORDS = 12
_MAX_FOLLOW_UP_WORDS = 14


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN

    return frozenset(STOPWORDS_DUTCH) | frozenset(STOPWORDS_EN) | _POINTERS | _OPENERS | _QUESTION_WORDS


def _words(text: str) -> list[str]:
    return re.findall(r"[\w’'-]+", text.lower())


def is_follow_up(question: str) -> bool:
    """Whether ``question`` reads as a continuation of the previous turn."""
    words = _words(question)
    if not words or len(words) > _MAX_FOLLOW_UP_WORDS:
        return False
    lowered = " ".join(words)
    return words[0] in _OPENERS or any(w in _POINTERS for w in words) or any(p in lowered for p in _PHRASES)


def content_words(text: str, limit: int = _MAX_CONTEXT_WORDS) -> list[str]:
    """The first ``limit`` distinct non-stop words of ``text``, in their original spelling."""
    seen: set[str] = set()
    kept: list[str] = []
    for word in re.findall(r"[\w’'-]+", text):
        key = word.lower()
        if key in _stopwords() or key in seen or len(key) < 3 or key.isdigit():
            continue
        seen.add(key)
        kept.append(word)
        if len(kept) == limit:
            break
    return kept


def standalone_query(question: str, previous_queries: list[str]) -> str:
    """The search query for ``question`` given the earlier turns' standalone queries (oldest first)."""
    question = " ".join(question.split())
    if not previous_queries or not is_follow_up(question):
        return question
    own = {w.lower() for w in _words(question)}
    context = [w for w in content_words(previous_queries[-1]) if w.lower() not in own]
    return f"{question} ({' '.join(context)})" if context else question


__all__ = ["is_follow_up", "content_words", "standalone_query"]
