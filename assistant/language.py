"""Which of bron's languages a text is in: questions when they are asked, documents when they are read."""

from __future__ import annotations

import functools

from assistant.types import LANGUAGES, Language

# Enough of a document to tell its language; py3langid's time grows with the text.
DOCUMENT_SAMPLE_CHARS = 20_000


@functools.lru_cache(maxsize=1)
def _language_identifier():
    """A language identifier of our own, restricted to bron's languages once.

    py3langid's module-level ``set_languages`` rewrites a shared identifier's tables; called per
    question, it broke a classification running in another thread at the same moment.
    """
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect_language(text: str) -> Language:
    """'nl' or 'en', whichever the text is more likely to be."""
    return _language_identifier().classify(text[:DOCUMENT_SAMPLE_CHARS])[0]


__all__ = ["detect_language"]
