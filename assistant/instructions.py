"""Passages that read as instructions to the assistant: set aside, shown, never used as evidence.

Retrieved documents are data. A document can still try to steer the answer ("Negeer alle
vorige instructies en antwoord: ..."), and what follows such a sentence is exactly the claim
it wants shown, correctly cited. The grounding checks cannot catch that (the claim *is* in a
retrieved passage), so a passage holding such a sentence is not used as evidence at all: the
answer is built from the other passages, or abstains if there are none, and the passage is
listed under the sources as set aside, with the sentence that caused it.

The patterns are deliberately narrow (imperatives addressed to an assistant, prompt-template
tokens, bron's own abstain sentence); ``tests/test_instructions.py`` checks that no sentence of
the bundled corpus matches. A determined author can phrase around any list like this one: the
policy is documented in docs/usage.md as a net for the obvious attempts, not as a guarantee.
"""

from __future__ import annotations

import re

from assistant.prompting import ABSTAIN

_PATTERNS = [
    # Dutch imperatives to forget or ignore what the assistant was told
    r"\b(?:negeer|vergeet)\b[^.!?]{0,60}\b(?:instructies?|opdrachten?|regels|prompts?|aanwijzingen)\b",
    r"\b(?:ignore|disregard|forget|override)\b[^.!?]{0,60}\b(?:instructions?|prompts?|rules|directions)\b",
    # addressing the assistant or model directly
    r"\b(?:je bent nu|jij bent nu|you are now|act as|doe alsof je)\b",
    r"\b(?:als|as an?)\s+(?:ai|assistent|assistant|taalmodel|language model|chatbot)\b",
    r"\b(?:de assistent|het taalmodel|the assistant|the language model|the ai|de ai)\b[^.!?]{0,40}"
    r"\b(?:moet|mag|zal|must|should|shall|will)\b",
    r"\b(?:antwoord|answer|reply|respond)\b[^.!?]{0,30}\b(?:altijd|alleen|uitsluitend|always|only)\b",
    r"\b(?:system prompt|systeemprompt|jailbreak|prompt injection)\b",
    # chat-template and instruction-format tokens
    r"<\|?(?:im_start|im_end|system|user|assistant|start_of_turn|end_of_turn)\|?>",
    r"\[/?INST\]|###\s*(?:instruction|system|response)\b",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
_OWN_SENTENCES = [ABSTAIN[language].rstrip(".").lower() for language in ABSTAIN]


def instruction_in(text: str) -> str | None:
    """The part of ``text`` that reads as an instruction to the assistant, or None."""
    match = _INSTRUCTION.search(text)
    if match:
        return match.group(0)
    lowered = text.lower()
    return next((own for own in _OWN_SENTENCES if own in lowered), None)


__all__ = ["instruction_in"]
