"""The real test LLM: keeping the KV cache between prompts must not change any answer."""

import pytest

pytestmark = pytest.mark.slow


def _complete(llm, prompt: str) -> str:
    return "".join(llm.stream(prompt, 24, 0.0, ["\n\n"]))


def test_reused_kv_cache_gives_the_same_text_as_a_fresh_model(real_settings):
    from assistant.llm import LlamaCppLLM
    from assistant.model_files import locate_llm
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


def test_cycling_through_models_keeps_at_most_two_loaded(real_settings, tmp_path):
    """Every model picked in the chat used to stay loaded: memory grew with each one chosen."""
    import gc
    import shutil
    import weakref

    from assistant import llm as llm_module
    from assistant.model_files import locate_llm
    from assistant.settings import make_settings

    gemma = locate_llm("gemma3-270m", real_settings.cache_dir)
    copy = tmp_path / "gemma-copy.gguf"  # a third model file
    shutil.copyfile(gemma, copy)
    names = ["gemma3-270m", "smollm2-135m", str(copy)]
    seen = []
    for _ in range(3):
        for name in names:
            settings = make_settings(**{**real_settings.model_dump(), "llm": name})
            model = llm_module.load_llm(settings)
            seen.append(weakref.ref(model))
            _complete(model, "De hoofdstad van Nederland is")  # it still answers
            del model
            assert len(llm_module._CACHE) <= llm_module.MAX_LOADED
    gc.collect()
    alive = {id(ref()) for ref in seen if ref() is not None}
    assert len(alive) <= llm_module.MAX_LOADED  # the others were freed, not just forgotten
