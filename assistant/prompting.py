"""Prompt templates from ``prompts/`` and the fixed sentences tests rely on."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from assistant.errors import BronError
from assistant.settings import bundled
from assistant.types import Hit

PROMPTS_DIR = bundled("prompts")

ABSTAIN = {
    "nl": "Dit staat niet in de documenten.",
    "en": "The documents do not contain this.",
}
# Said after ABSTAIN when the evidence shows what is missing.
NOT_MENTIONED = {
    "nl": "De documenten noemen {names} niet.",
    "en": "The documents do not mention {names}.",
}
NOT_NEAR = {
    "nl": "De passages die erover gaan noemen {names} niet.",
    "en": "The passages on this do not mention {names}.",
}
NOT_IN_PASSAGES = {
    "nl": "De passages over dit onderwerp noemen geen ‘{focus}’.",
    "en": "The passages on this subject do not mention ‘{focus}’.",
}
NO_FIGURE = {
    "nl": {"year": "Ze noemen hierover geen jaartal.", "number": "Ze geven hierover geen getal.",
           "money": "Ze noemen hierover geen bedrag.", "share": "Ze noemen hierover geen percentage.",
           "person": "Ze noemen hierover geen naam."},
    "en": {"year": "They give no year for this.", "number": "They give no figure for this.",
           "money": "They give no sum of money for this.",
           "share": "They give no percentage for this.", "person": "They name no one for this."},
}  # fmt: skip


@lru_cache(maxsize=8)
def load_template(name: str) -> str:
    """A template file from ``prompts/``; placeholders are ``{name}``."""
    path = PROMPTS_DIR / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BronError(f"prompt template {path} is missing or unreadable ({exc.strerror or exc})") from exc


def copies_template_example(sentence: str, language: str, n: int = 4) -> bool:
    """Whether a sentence mostly repeats the worked example in the answer template.

    Small models copy the example's answer; with a paraphrase-level support check
    such a sentence can look supported by some unrelated passage.
    """
    example = load_template(f"answer.{language}.txt").split("{passages}")[0].lower()
    words = sentence.lower().split()
    grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return " ".join(words) in example
    return sum(g in example for g in grams) >= len(grams) / 2


def format_passages(hits: list[Hit]) -> str:
    """Numbered passages, one per paragraph; newlines inside are flattened."""
    return "\n".join(f"[{n}] {' '.join(hit.chunk.text.split())}" for n, hit in enumerate(hits, start=1))


def build_answer_prompt(
    question: str, hits: list[Hit], language: str, count_tokens: Callable[[str], int], budget: int
) -> tuple[str, list[Hit]]:
    """The answer prompt, dropping the lowest-ranked passages until it fits ``budget`` tokens.

    Returns the prompt and the passages it contains (their numbering is the prompt's).
    """
    template = load_template(f"answer.{language}.txt")
    kept = list(hits)
    while True:
        prompt = template.format(abstain=ABSTAIN[language], passages=format_passages(kept), question=question)
        if count_tokens(prompt) <= budget or len(kept) <= 1:
            break
        kept.pop()
    if count_tokens(prompt) > budget:
        raise BronError(
            f"the prompt needs {count_tokens(prompt)} tokens but the model's context leaves {budget}; "
            "raise n_ctx or lower chunk_chars"
        )
    return prompt, kept
