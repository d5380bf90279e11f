"""``python -m bench.load``: many chat sessions against a real ``bron chat`` on loopback, for minutes.

Starts ``bron chat`` (the real models, the default index) on 127.0.0.1, opens ``--sessions``
``gradio_client`` sessions that each ask the eval set's questions one after another through
``/ask`` until ``--minutes`` have passed, and samples the server's memory every few seconds.
Reports every question's fate (answered, a message, told the queue is full, or lost), whether
waiting sessions saw their queue position, latency p50/p95 and memory over time, in
bench/results/load-<machine>-<date>.{json,md}. It stops by itself; nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import click

from bench.__main__ import RESULTS, machine
from bench.stats import summary

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _questions() -> list[str]:
    lines = (ROOT / "eval" / "grounding.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def _start_server(port: int, writer: str) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "BRON_ANSWER_WRITER": writer}
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "chat", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise click.ClickException(f"bron chat stopped: {server.stderr.read()[-500:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.5)
    server.kill()
    raise click.ClickException("bron chat did not start within 5 minutes")


def _rss_mb(pid: int) -> float:
    import psutil

    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


def run_load(sessions: int, minutes: float, writer: str, log=print) -> dict:
    from gradio_client import Client
    from gradio_client.utils import Status

    port = _free_port()
    server = _start_server(port, writer)
    url = f"http://127.0.0.1:{port}/"
    questions = _questions()
    deadline = time.monotonic() + minutes * 60
    records: list[dict] = []
    memory: list[tuple[float, float]] = []
    lock = threading.Lock()
    started = time.monotonic()

    def session(k: int) -> None:
        client = Client(url, verbose=False)
        i = k
        while time.monotonic() < deadline:
            question = questions[i % len(questions)]
            i += sessions
            t0 = time.monotonic()
            record = {"session": k, "outcome": "lost", "saw_position": False, "waited": False}
            try:
                job = client.submit(question, None, None, api_name="/ask")
                while not job.done():
                    status = job.status()
                    if status.code == Status.IN_QUEUE:
                        record["waited"] = True
                        record["saw_position"] |= status.rank is not None
                    if status.code == Status.QUEUE_FULL:
                        record["outcome"] = "queue full"
                    time.sleep(0.1)
                result = job.result(timeout=600)
                record["outcome"] = "answered" if "mode" in result else "message"
            except Exception as exc:  # a lost question: counted, and the reason kept
                record.setdefault("error", f"{type(exc).__name__}: {str(exc)[:200]}")
                if "queue" in str(exc).lower() and "full" in str(exc).lower():
                    record["outcome"] = "queue full"
            record["seconds"] = time.monotonic() - t0
            with lock:
                records.append(record)

    def sample() -> None:
        while time.monotonic() < deadline + 5:
            memory.append((time.monotonic() - started, _rss_mb(server.pid)))
            time.sleep(5)

    threads = [threading.Thread(target=session, args=(k,), daemon=True) for k in range(sessions)]
    sampler = threading.Thread(target=sample, daemon=True)
    try:
        sampler.start()
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            time.sleep(10)
            log(f"{time.monotonic() - started:6.0f} s: {len(records)} questions, {memory[-1][1]:.0f} MB")
            if time.monotonic() > deadline + 900:
                break
        sampler.join(timeout=30)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    hung = sum(t.is_alive() for t in threads)
    outcomes = {o: sum(r["outcome"] == o for r in records) for o in ("answered", "message", "queue full", "lost")}
    waited = [r for r in records if r["waited"]]
    first = [mb for t, mb in memory if t <= 120]
    last = [mb for t, mb in memory if t >= minutes * 60 - 120]
    answered = [r["seconds"] for r in records if r["outcome"] == "answered"]
    return {
        "sessions": sessions,
        "minutes": minutes,
        "writer": writer,
        "questions": len(records),
        "outcomes": outcomes,
        "hung_sessions": hung,
        "waited_in_queue": len(waited),
        "waited_and_saw_position": sum(r["saw_position"] for r in waited),
        "latency_s": summary(answered),
        "memory_mb": {
            "peak": max((mb for _, mb in memory), default=0.0),
            "first_2_min_median": summary(first).get("p50", 0.0),
            "last_2_min_median": summary(last).get("p50", 0.0),
            "second_half_growth": _growth([mb for t, mb in memory if t >= minutes * 30]),
            "samples": [(round(t), round(mb, 1)) for t, mb in memory],
        },
        "errors": sorted({r["error"] for r in records if "error" in r})[:10],
    }


def _growth(values: list[float]) -> float:
    """Relative change from the first to the last value (0 with fewer than two)."""
    return values[-1] / values[0] - 1 if len(values) >= 2 and values[0] else 0.0


def to_markdown(result: dict, info: dict) -> str:
    o, lat, mem = result["outcomes"], result["latency_s"], result["memory_mb"]
    growth = mem["last_2_min_median"] / mem["first_2_min_median"] - 1 if mem["first_2_min_median"] else 0.0
    lines = [
        f"# Load test: {result['sessions']} chat sessions for {result['minutes']:g} minutes",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB. Writer: {result['writer']}. "
        "Each session asks the eval set's questions one after another through `/ask` on 127.0.0.1.",
        "",
        "| | |",
        "|---|---|",
        f"| questions asked | {result['questions']} |",
        f"| answered | {o['answered']} |",
        f"| a message (bad input etc.) | {o['message']} |",
        f"| told the queue is full | {o['queue full']} |",
        f"| lost (no answer, no message) | {o['lost']} |",
        f"| sessions still hanging at the end | {result['hung_sessions']} |",
        f"| waited in the queue / saw their position | {result['waited_in_queue']} / "
        f"{result['waited_and_saw_position']} |",
        f"| latency p50 / p95 (answered, incl. waiting) | {lat.get('p50', 0):.2f} s / {lat.get('p95', 0):.2f} s |",
        f"| server memory peak | {mem['peak']:.0f} MB |",
        f"| memory, median of first 2 min → last 2 min | {mem['first_2_min_median']:.0f} → "
        f"{mem['last_2_min_median']:.0f} MB ({growth:+.1%}) |",
        f"| memory change over the second half of the run | {mem['second_half_growth']:+.1%} |",
    ]
    if result["errors"]:
        lines += ["", "Errors seen:", *[f"- `{e}`" for e in result["errors"]]]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--sessions", default=20, show_default=True, help="Concurrent chat sessions.")
@click.option("--minutes", default=10.0, show_default=True, help="How long the sessions keep asking.")
@click.option("--writer", type=click.Choice(["quotes", "model"]), default="quotes", show_default=True)
def main(sessions: int, minutes: float, writer: str) -> None:
    """Run the load test and write its report to bench/results/."""
    info = machine()
    result = run_load(sessions, minutes, writer, log=lambda m: click.echo(m, err=True))
    stem = RESULTS / f"load-{info['name']}-{time.strftime('%Y-%m-%d')}-{writer}"
    stem.with_suffix(".json").write_text(json.dumps({"machine": info, **result}, indent=2), encoding="utf-8")
    stem.with_suffix(".md").write_text(to_markdown(result, info), encoding="utf-8")
    click.echo(to_markdown(result, info))
    lost = result["outcomes"]["lost"] + result["hung_sessions"]
    sys.exit(1 if lost else 0)


if __name__ == "__main__":
    main()
