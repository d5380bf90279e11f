"""Peak resident memory of ``bron ask`` and of the chat server, each in its own process.

The peak is the kernel's high-water mark of the child's own address space
(``VmHWM``), read while it runs; ``wait4``'s ``ru_maxrss`` would report the
benchmark process's own (larger) peak, which a child inherits across fork.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

QUESTION = "Welke drie strategieën noemen de auteurs voor bestuurders?"


def _high_water_mb(pid: int) -> float:
    """Peak RSS so far of a live process (Linux VmHWM; current RSS elsewhere)."""
    status = Path(f"/proc/{pid}/status")
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.Error:
        return 0.0


def _run_watching_peak(args: list[str], timeout: float = 600.0) -> float:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak, deadline = 0.0, time.monotonic() + timeout
    while process.poll() is None:
        peak = max(peak, _high_water_mb(process.pid))
        if time.monotonic() > deadline:
            process.kill()
        time.sleep(0.05)
    if process.returncode:
        raise RuntimeError(f"{' '.join(args)} exited with {process.returncode}")
    return peak


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_memory(log=print) -> dict:
    """Peak RSS in MB: one ``bron ask``; the chat server after answering one question."""
    ask_mb = _run_watching_peak([sys.executable, "-m", "assistant.cli", "ask", QUESTION])
    log(f"  bron ask: {ask_mb:.0f} MB")

    port = _free_port()
    chat = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "chat", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = _connect(f"http://127.0.0.1:{port}/", chat)
        client.predict(QUESTION, api_name="/ask")
        chat_mb = _high_water_mb(chat.pid)
    finally:
        chat.terminate()
        try:
            chat.wait(30)
        except subprocess.TimeoutExpired:
            chat.kill()
    log(f"  bron chat (after one answer): {chat_mb:.0f} MB")
    return {"bron_ask_peak_rss_mb": ask_mb, "bron_chat_peak_rss_mb": chat_mb}


def _connect(url: str, process: subprocess.Popen, timeout: float = 180.0):
    from gradio_client import Client

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError("the chat server exited before it was ready")
        try:
            return Client(url, verbose=False)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
