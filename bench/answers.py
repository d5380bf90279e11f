"""Answer latency against raw llama-cpp-python, prompt cost and KV-cache reuse, threads.

The raw engine is a second ``llama_cpp.Llama`` on the same GGUF with the same
context, threads and seed, given exactly the prompt the product built. Both keep
their KV cache between calls (llama-cpp-python's default), so both reuse the
prompt's fixed head; the comparison is like for like.
"""

from __future__ import annotations

from assistant.llm import LlamaCppLLM
from assistant.model_files import locate_llm
from assistant.prompting import ABSTAIN, load_template
from assistant.qa import STOP_SEQUENCES, Assistant
from assistant.settings import Settings
from bench.stats import Timer, summary


def raw_llama(settings: Settings, n_threads: int | None = None):
    """A bare ``llama_cpp.Llama``, constructed exactly as the product constructs its own."""
    path = locate_llm(settings.llm, settings.cache_dir)
    return LlamaCppLLM(path, settings.n_ctx, n_threads or settings.n_threads, settings.seed)._llama


def raw_complete(llama, prompt: str, max_tokens: int, temperature: float, stop: list[str] | None) -> dict:
    """Stream one completion; seconds to the first token, in total, and the text."""
    pieces, first = [], None
    with Timer() as total:
        for part in llama.create_completion(
            prompt, max_tokens=max_tokens, temperature=temperature, stop=stop or [], stream=True
        ):
            if first is None:
                first = total.elapsed()
            pieces.append(part["choices"][0]["text"])
    text = "".join(pieces)
    return {"first_token_s": first or total.seconds, "total_s": total.seconds, "text": text}


def fixed_prefix(language: str = "nl") -> str:
    """The part of every answer prompt before the passages: instructions and the worked example."""
    template = load_template(f"answer.{language}.txt")
    return template.split("{passages}")[0].format(abstain=ABSTAIN[language])


def bench_answers(settings: Settings, questions: list[str], log=print) -> tuple[dict, list[str]]:
    """Per-question breakdown of the product's answer and the raw engine on the same prompt.

    Each question is answered twice: by the default writer (the quoted evidence, no LLM), timed
    whole, and by the model writer, whose prompt the raw engine then runs too. The last question
    only warms both engines up and is not measured.

    Returns the results and the prompts the product built (for the prompt-cost benchmarks).
    """
    quotes = Assistant.open(settings).with_settings(answer_writer="quotes")
    assistant = quotes.with_settings(answer_writer="model")
    raw = raw_llama(settings)
    # A warm-up question outside the measured ones: page the model files in, fill the caches.
    *questions, spare = questions
    warm = assistant.ask(spare)
    if warm.prompt:
        raw_complete(raw, warm.prompt, settings.max_answer_tokens, settings.temperature, STOP_SEQUENCES)
    rows, prompts = [], []
    for i, question in enumerate(questions, start=1):
        with Timer() as quoted:
            quotes.ask(question)
        with Timer() as total:
            answer = assistant.ask(question)
        row = {
            "question": question,
            "quotes_total_s": quoted.seconds,
            "mode": answer.mode,
            "total_s": total.seconds,
            **{f"{k}_s": v for k, v in answer.timings.items() if k != "total"},
            "prompt_tokens": answer.tokens.get("prompt", 0),
            "completion_tokens": answer.tokens.get("completion", 0),
        }
        if answer.prompt:
            prompts.append(answer.prompt)
            engine = raw_complete(raw, answer.prompt, settings.max_answer_tokens, settings.temperature, STOP_SEQUENCES)
            row["raw_first_token_s"] = engine["first_token_s"]
            row["raw_total_s"] = engine["total_s"]
            row["same_text"] = engine["text"].strip() == answer.draft
            row["overhead_ratio"] = total.seconds / engine["total_s"]
        rows.append(row)
        log(
            f"  {i:>2}/{len(questions)} {answer.mode:<10} product {total.seconds:5.1f} s"
            + (f"  raw {row['raw_total_s']:5.1f} s  ratio {row['overhead_ratio']:.3f}" if answer.prompt else "")
        )
    called = [r for r in rows if "raw_total_s" in r]
    parts = (
        "retrieve_s", "evidence_s", "evidence_shown_s", "first_token_s", "prompt_eval_s", "generate_s", "check_s",
        "total_s", "raw_first_token_s", "raw_total_s",
    )  # fmt: skip
    breakdown = {p: summary(r[p] for r in called if p in r) for p in parts}
    breakdown["quotes_total_s"] = summary(r["quotes_total_s"] for r in rows)
    product, engine = breakdown["total_s"]["p50"], breakdown["raw_total_s"]["p50"]
    result = {
        "questions": len(rows),
        "llm_called": len(called),
        "breakdown_s": breakdown,
        "overhead_ratio_p50": product / engine,
        "overhead_ratio_per_question": summary(r["overhead_ratio"] for r in called),
        "non_llm_s": summary(r["retrieve_s"] + r["check_s"] for r in called),
        "identical_drafts": sum(r["same_text"] for r in called),
        "modes": {m: sum(r["mode"] == m for r in rows) for m in ("generated", "extractive", "abstained")},
        "prompt_tokens": summary(r["prompt_tokens"] for r in called),
        "completion_tokens": summary(r["completion_tokens"] for r in called),
        "rows": rows,
    }
    return result, prompts


def _prompt_eval_s(llama, prompt: str, cold: bool) -> float:
    """Seconds to evaluate a prompt and produce one token; ``cold`` empties the KV cache first."""
    if cold:
        llama.reset()
    return raw_complete(llama, prompt, 1, 0.0, None)["total_s"]


def bench_prompt_cache(settings: Settings, prompts: list[str], log=print) -> dict:
    """Prompt sizes, and prompt evaluation with and without the fixed head's KV cache."""
    llama = raw_llama(settings)
    count = lambda text: len(llama.tokenize(text.encode("utf-8"), add_bos=True))  # noqa: E731
    prefix_tokens = count(fixed_prefix()) - 1
    cold, warm = [], []
    for i, prompt in enumerate(prompts):
        cold.append(_prompt_eval_s(llama, prompt, cold=True))
        _prompt_eval_s(llama, prompts[i - 1], cold=True)  # leave another question's prompt in the cache
        warm.append(_prompt_eval_s(llama, prompt, cold=False))
        log(f"  prompt {i + 1:>2}/{len(prompts)}: cold {cold[-1]:5.2f} s  warm {warm[-1]:5.2f} s")
    tokens = summary(count(p) for p in prompts)
    return {
        "prompt_tokens": tokens,
        "fixed_prefix_tokens": prefix_tokens,
        "fixed_prefix_share": prefix_tokens / tokens["p50"],
        "cold_prompt_eval_s": summary(cold),
        "warm_prompt_eval_s": summary(warm),
        "saved_s_p50": summary(c - w for c, w in zip(cold, warm, strict=True))["p50"],
        "speedup_p50": summary(c / w for c, w in zip(cold, warm, strict=True))["p50"],
    }


def bench_threads(settings: Settings, prompt: str, repeats: int, log=print) -> dict:
    """Prompt evaluation and generation speed with 1 and 2 threads, runs interleaved."""
    engines = {n: raw_llama(settings, n) for n in (1, 2)}
    runs: dict[int, dict[str, list[float]]] = {n: {"prompt_tok_s": [], "gen_tok_s": []} for n in engines}
    n_prompt = len(engines[1].tokenize(prompt.encode("utf-8"), add_bos=True))
    for r in range(repeats):
        for n, llama in engines.items():
            llama.reset()
            out = raw_complete(llama, prompt, 64, 0.0, None)
            generated = len(llama.tokenize(out["text"].encode("utf-8"), add_bos=False))
            runs[n]["prompt_tok_s"].append(n_prompt / out["first_token_s"])
            if generated > 1:
                runs[n]["gen_tok_s"].append((generated - 1) / (out["total_s"] - out["first_token_s"]))
            log(
                f"  run {r + 1}/{repeats} {n} thread(s): prompt {runs[n]['prompt_tok_s'][-1]:6.1f} tok/s"
                + (f"  generation {runs[n]['gen_tok_s'][-1]:5.1f} tok/s" if generated > 1 else "")
            )
    return {
        "prompt_tokens": n_prompt,
        "repeats": repeats,
        **{f"threads_{n}": {k: summary(v) for k, v in m.items()} for n, m in runs.items()},
    }
