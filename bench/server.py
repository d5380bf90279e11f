"""Answers through an OpenAI-compatible server against in-process: llama-cpp-python's server on loopback.

Both run the same GGUF file with the same context and threads; the product builds the same prompt for
both (the prompt format is 'completion', right for the base model), so the ratio is what the HTTP hop,
the server's request handling and the token-count calls cost. The server runs on 127.0.0.1 only and is
stopped when the section ends.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.model_files import locate_llm
from assistant.qa import Assistant
from assistant.settings import Settings
from bench.stats import Timer, summary


@contextmanager
def llama_server(gguf: Path, port: int, n_threads: int = 1, n_ctx: int = 4096) -> Iterator[str]:
    """``python -m llama_cpp.server`` with ``gguf`` on 127.0.0.1:``port``; yields its /v1 URL."""
    import httpx

    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "gemma3-270m",
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(n_threads),
    ]  # fmt: skip
    log = tempfile.TemporaryFile()  # not a pipe: llama.cpp's load log would fill it and block the server
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"llama_cpp.server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama_cpp.server did not start within 120 s")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_server(settings: Settings, questions: list[str], log=print) -> dict:
    """Per question: the model writer's whole answer in-process and through the server, and their ratio."""
    local = Assistant.open(settings).with_settings(answer_writer="model", prompt_format="completion")
    gguf = locate_llm(settings.llm, settings.cache_dir)
    with llama_server(gguf, free_port(), settings.n_threads, settings.n_ctx) as url:
        remote = local.with_settings(llm_url=url)
        *measured, spare = questions
        local.ask(spare)  # warm-up: load both models, fill both KV caches
        remote.ask(spare)
        rows = []
        for i, question in enumerate(measured, start=1):
            with Timer() as in_process:
                a = local.ask(question)
            with Timer() as served:
                b = remote.ask(question)
            if not a.prompt:  # abstained before the model: nothing to compare
                continue
            rows.append(
                {
                    "question": question,
                    "in_process_s": in_process.seconds,
                    "server_s": served.seconds,
                    "server_first_token_s": b.timings.get("first_token"),
                    "ratio": served.seconds / in_process.seconds,
                    "same_answer": (a.text, a.draft) == (b.text, b.draft),
                }
            )
            log(f"  {i:>2}/{len(measured)} in-process {in_process.seconds:5.2f} s  server {served.seconds:5.2f} s")
    return {
        "questions": len(rows),
        "in_process_s": summary(r["in_process_s"] for r in rows),
        "server_s": summary(r["server_s"] for r in rows),
        "server_first_token_s": summary(r["server_first_token_s"] for r in rows if r["server_first_token_s"]),
        "overhead_ratio_p50": summary(r["server_s"] for r in rows)["p50"]
        / summary(r["in_process_s"] for r in rows)["p50"],
        "ratio_per_question": summary(r["ratio"] for r in rows),
        "same_answers": sum(r["same_answer"] for r in rows),
        "rows": rows,
    }
