"""The real test LLM: keeping the KV cache between prompts must not change any answer."""

import pytest

pytestmark = pytest.mark.slow


def _complete(llm, prompt: str) -> str:
    return "".join(llm.stream(prompt, 24, 0.0, ["\n\n"]))


def test_reused_kv_cache_gives_the_same_text_as_a_fresh_model(real_settings):
    from assistant.llm import LlamaCppLLM
    from assistant.models import locate_llm
    from assistant.prompting import ABSTAIN, load_template

    path = locate_llm(real_settings.llm, real_settings.cache_dir)
    head = load_template("answer.nl.txt").split("{passages}")[0].format(abstain=ABSTAIN["nl"])
    first = (
        head
        + "[1] Rotterdam telde in 2005 ruim 590.000 inwoners.\n\nVraag: Hoeveel inwoners telde Rotterdam?\nAntwoord:"
    )
    second = head + "[1] Amsterdam kent 22 stadsdelen.\n\nVraag: Hoeveel stadsdelen kent Amsterdam?\nAntwoord:"

    warm = LlamaCppLLM(path, real_settings.n_ctx, 1, real_settings.seed)
    _complete(warm, first)  # leaves the shared head (and the first prompt) in the cache
    reused = _complete(warm, second)
    fresh = _complete(LlamaCppLLM(path, real_settings.n_ctx, 1, real_settings.seed), second)
    assert reused == fresh and reused.strip()
    assert _complete(warm, second) == fresh  # the whole prompt cached, too
