"""The benchmark results as Markdown tables (the README quotes them)."""

from __future__ import annotations


def _spread(s: dict, fmt: str = "{:.2f}") -> str:
    """'p50 (min–max)' of a summary."""
    return f"{fmt.format(s['p50'])} ({fmt.format(s['min'])}–{fmt.format(s['max'])})"


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render_markdown(r: dict) -> str:
    m = r["machine"]
    out = [
        f"## bron benchmarks: {m['name']} ({m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB), {r['started'][:10]}",
        "",
        f"Default settings (LLM {r['settings']['llm']}, {r['settings']['n_threads']} thread(s), "
        f"n_ctx {r['settings']['n_ctx']}); versions: "
        + ", ".join(f"{k} {v}" for k, v in r["versions"].items())
        + ". Medians (p50) with p95 or the range (min–max) of the runs.",
        "",
    ]
    if "answers" in r:
        a = r["answers"]
        b = a["breakdown_s"]
        out += [
            f"### Answer latency ({a['questions']} questions, {a['llm_called']} reached the LLM)",
            "",
            "| step | p50 s | p95 s |",
            "|---|---:|---:|",
        ]
        names = {
            "quotes_total_s": "**bron default (quoted evidence, no LLM), whole answer**",
            "retrieve_s": "retrieval (embed question, FAISS, BM25, fusion)",
            "evidence_s": "evidence selection (every sentence of the passages scored)",
            "evidence_shown_s": "evidence shown, from asking",
            "first_token_s": "first model token, from asking",
            "prompt_eval_s": "prompt evaluation (to first token)",
            "generate_s": "generation",
            "check_s": "checks (citations, support, fallback)",
            "total_s": "**bron with the model's sentence, whole answer**",
            "raw_first_token_s": "raw llama-cpp-python, first token",
            "raw_total_s": "**raw llama-cpp-python, same prompt**",
        }
        out += [f"| {names[k]} | {b[k]['p50']:.2f} | {b[k]['p95']:.2f} |" for k in names if b.get(k, {}).get("n")]
        ratio = a["overhead_ratio_p50"]
        per = a["overhead_ratio_per_question"]
        out += [
            "",
            f"Overhead bron / raw engine: **{ratio:.3f}** on medians (target ≤ 1.10: {_mark(ratio <= 1.10)}); "
            f"per question p50 {per['p50']:.3f}, p95 {per['p95']:.3f}. "
            f"The raw engine wrote the same draft for {a['identical_drafts']} of {a['llm_called']} prompts. "
            f"Answers: {a['modes']['generated']} generated, {a['modes']['extractive']} quoted, "
            f"{a['modes']['abstained']} abstained.",
            "",
        ]
    if "server" in r:
        v = r["server"]
        out += [
            f"### Through an LLM server ({v['questions']} answers with the model's sentence)",
            "",
            "llama-cpp-python's OpenAI-compatible server on 127.0.0.1, same GGUF, threads and context as in-process.",
            "",
            "| | p50 s | p95 s |",
            "|---|---:|---:|",
            f"| in-process, whole answer | {v['in_process_s']['p50']:.2f} | {v['in_process_s']['p95']:.2f} |",
            f"| through the server, whole answer | {v['server_s']['p50']:.2f} | {v['server_s']['p95']:.2f} |",
            f"| through the server, first token | {v['server_first_token_s']['p50']:.2f} "
            f"| {v['server_first_token_s']['p95']:.2f} |",
            "",
            f"Overhead server / in-process: **{v['overhead_ratio_p50']:.2f}** on medians (per question p50 "
            f"{v['ratio_per_question']['p50']:.2f}, range {v['ratio_per_question']['min']:.2f}–"
            f"{v['ratio_per_question']['max']:.2f}); the same answer for {v['same_answers']} of {v['questions']}.",
            "",
        ]
    if "prompt_cache" in r:
        p = r["prompt_cache"]
        out += [
            "### Prompt cost and the KV cache of the fixed prompt head",
            "",
            "| | value |",
            "|---|---:|",
            f"| tokens per prompt, p50 (min–max) | {_spread(p['prompt_tokens'], '{:.0f}')} |",
            f"| fixed head (instructions + worked example) | {p['fixed_prefix_tokens']} tokens "
            f"({p['fixed_prefix_share']:.0%}) |",
            f"| prompt evaluation, empty cache, s | {_spread(p['cold_prompt_eval_s'])} |",
            f"| prompt evaluation, head cached, s | {_spread(p['warm_prompt_eval_s'])} |",
            f"| saved per question, p50 | {p['saved_s_p50']:.2f} s ({p['speedup_p50']:.2f}× faster) |",
            "",
        ]
    if "threads" in r:
        t = r["threads"]
        out += [
            f"### Threads ({t['prompt_tokens']}-token prompt, {t['repeats']} interleaved runs)",
            "",
            "| threads | prompt eval tok/s, p50 (min–max) | generation tok/s, p50 (min–max) |",
            "|---|---:|---:|",
        ]
        for n in (1, 2):
            row = t[f"threads_{n}"]
            gen = _spread(row["gen_tok_s"], "{:.1f}") if row["gen_tok_s"].get("n") else "n/a"
            out.append(f"| {n} | {_spread(row['prompt_tok_s'], '{:.1f}')} | {gen} |")
        out.append("")
    if "indexing" in r:
        i = r["indexing"]
        # Before 2026-12-02 the rows were passages/s against an encode of the passages alone.
        unit = "texts" if "texts" in i else "passages"
        n_texts = i.get("texts", i["passages"])
        out += [
            f"### Indexing ({i['passages']} passages of the bundled corpus; {n_texts} texts embedded)",
            "",
            f"| | {unit}/s, p50 (min–max) |",
            "|---|---:|",
            f"| sentence-transformers `encode`, the same {unit} | {_spread(i[f'encode_{unit}_s'], '{:.1f}')} |",
            f"| `bron index --rebuild`, whole run | {_spread(i[f'index_{unit}_s'], '{:.1f}')} |",
            f"| its embedding step | {_spread(i[f'index_embedding_step_{unit}_s'], '{:.1f}')} |",
            "",
            f"Ratio bron / encode: whole run **{i['ratio_p50']:.2f}** "
            f"(target ≥ 0.95: {_mark(i['ratio_p50'] >= 0.95)}), "
            f"embedding step {i['embedding_step_ratio_p50']:.2f}. Of the whole run's "
            f"{i['index_seconds']['p50']:.1f} s, embedding takes {i['embedding_step_seconds']['p50']:.1f} s and "
            f"reading plus sentence splitting {i['read_and_chunk_seconds']['p50']:.1f} s.",
        ]
        if "add_file" in r:
            a = r["add_file"]
            out.append(
                f"Update after one short file is added (an upload, `--watch`): **{_spread(a['kept_seconds'])} s** "
                f"with the other documents' passages kept; {_spread(a['split_again_seconds'])} s when every "
                "document is split into sentences again (as before 2026-12-02)."
            )
        if "reindex" in r:
            s = r["reindex"]["seconds"]
            out.append(
                f"`bron index` with nothing changed (a new process): **{_spread(s)} s** "
                f"(target < 1 s: {_mark(s['p50'] < 1.0)})."
            )
        if "pdf" in r:
            out += [
                "",
                "Reading PDF (journal-style two-column pages made by `bench/docmaker.py`), pages/s p50 (min–max):",
                "",
                "| PDFs | pages | text layer in reading order | read and cleaned |",
                "|---|---:|---:|---:|",
            ]
            for name, label in (("corpus", "the bundled texts"), ("report", "a long report")):
                p = r["pdf"][name]
                out.append(
                    f"| {label} | {p['pages']} | {_spread(p['extract_pages_s'], '{:.1f}')} "
                    f"| {_spread(p['load_pages_s'], '{:.1f}')} |"
                )
        out.append("")
    if "scale" in r:
        sc = r["scale"]
        out += [
            "### Scale (synthetic passages; one query at a time; recall@10 against exact search)",
            "",
            "Index MB: the FAISS index as serialised; for BM25 its score matrix.",
            "",
            "| passages | index | build s | search p50 ms | p95 ms | recall@10 | index MB |",
            "|---:|---|---:|---:|---:|---:|---:|",
        ]
        for v in sc["vectors"]:
            out.append(
                f"| {v['passages']:,} | {v['index']} | {v['build_s']:.1f} | {v['search_ms']['p50']:.2f} | "
                f"{v['search_ms']['p95']:.2f} | {v['recall_at_10']:.3f} | {v['index_mb']:.0f} |"
            )
        for v in r.get("bm25", []):
            out.append(
                f"| {v['passages']:,} | BM25 (bm25s) | {v['build_s']:.1f} | {v['search_ms']['p50']:.2f} | "
                f"{v['search_ms']['p95']:.2f} | – | {v['index_mb']:.0f} |"
            )
        auto = sc["auto_choice"]
        out += [
            "",
            f"`vector_store = auto` searches exactly up to {auto['exact_search_limit']:,} passages and builds HNSW "
            f"above; the bundled index is `{auto['bundled_index']}`.",
            "",
        ]
    if "pg" in r:
        out += [
            "### The PostgreSQL store (pgvector HNSW, cosine; synthetic passages; recall@10 against exact)",
            "",
            "| passages | COPY s | HNSW build s | search p50 ms | p95 ms | recall@10 | database MB |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        out += [
            f"| {v['passages']:,} | {v['copy_s']:.1f} | {v['build_s']:.1f} | {v['search_ms']['p50']:.2f} | "
            f"{v['search_ms']['p95']:.2f} | {v['recall_at_10']:.3f} | {v['database_mb']:.0f} |"
            for v in r["pg"]
        ]
        out.append("")
    if "memory" in r:
        mem = r["memory"]
        out += [
            "### Memory (peak RSS)",
            "",
            f"`bron ask`: **{mem['bron_ask_peak_rss_mb']:.0f} MB**; chat server after one answer: "
            f"**{mem['bron_chat_peak_rss_mb']:.0f} MB**.",
            "",
        ]
    return "\n".join(out)
