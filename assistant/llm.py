"""Local LLMs behind one small interface.

``LlamaCppLLM`` runs any GGUF file with llama-cpp-python. Models with a chat
template in their metadata (SmolLM2) get the prompt as one user message through
it; base models without one (Gemma 3 270M) get the raw text, because
llama-cpp-python would otherwise fall back silently to a format the model never saw.
A llama.cpp context is not thread-safe, so every call holds a lock.

The context is not reset between calls: llama-cpp-python keeps the KV cache of
the previous prompt and evaluates only the tokens after the longest common
prefix, so the fixed head of the answer prompt (instructions and worked example)
is evaluated once per process, not once per question (measured in bench/).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from assistant.errors import ModelError
from assistant.settings import Settings


class LLM(Protocol):
    """Streams a completion for a prompt."""

    name: str
    fingerprint: str
    n_ctx: int

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self, prompt: str, max_tokens: int, temperature: float, stop: list[str], cancel: threading.Event | None = None
    ) -> Iterator[str]: ...


class LlamaCppLLM:
    """A GGUF model in-process via llama-cpp-python."""

    def __init__(self, path: Path, n_ctx: int, n_threads: int, seed: int = 0, prompt_format: str = "auto"):
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelError("llama-cpp-python is not installed; run 'make setup'") from exc
        try:
            # llama.cpp logs to stderr from C; silence it so the CLI prints only what matters.
            with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
                self._llama = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    seed=seed,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp could not load {path}: {exc}") from exc
        self.path = path
        self.name = str(self._llama.metadata.get("general.name") or path.stem)
        stat = path.stat()
        self.fingerprint = f"{path.name}:{stat.st_size}"
        self.n_ctx = n_ctx
        has_template = "tokenizer.chat_template" in self._llama.metadata
        self.uses_chat_template = prompt_format == "chat" or (prompt_format == "auto" and has_template)
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=True, special=False))

    def stream(
        self, prompt: str, max_tokens: int, temperature: float, stop: list[str], cancel: threading.Event | None = None
    ) -> Iterator[str]:
        """Yield text pieces as they are generated; stop early when ``cancel`` is set."""
        with self._lock:
            if self.uses_chat_template:
                # With stream=True llama-cpp-python yields chunk dicts; its annotations admit a whole
                # response too, so the chunks are read as plain dicts.
                pieces: Iterator[Any] = self._llama.create_chat_completion(  # type: ignore[assignment]
                    messages=[{"role": "user", "content": prompt}],
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stop=stop,
                    stream=True,
                )
                for part in pieces:
                    text = part["choices"][0]["delta"].get("content")
                    if text:
                        yield text
                    if cancel is not None and cancel.is_set():
                        break
            else:
                chunks: Iterator[Any] = self._llama.create_completion(  # type: ignore[assignment]
                    prompt, max_tokens=max_tokens, temperature=temperature, stop=stop, stream=True
                )
                for part in chunks:
                    yield part["choices"][0]["text"]
                    if cancel is not None and cancel.is_set():
                        break


# Loaded models, least recently used first. Two stay loaded (the configured one and the one last
# picked in the chat): switching back and forth is instant, cycling through many does not grow memory.
MAX_LOADED = 2
_CACHE: OrderedDict[tuple, LLM] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def load_llm(settings: Settings) -> LLM:
    """The configured LLM: on the server at ``llm_url``, or in-process, loaded once per process and model
    file while it is among the last used."""
    if settings.llm_url:
        return _server_llm(settings)
    from assistant.model_files import locate_llm

    path = locate_llm(settings.llm, settings.cache_dir)
    key = (str(path), settings.n_ctx, settings.n_threads, settings.seed, settings.prompt_format)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        while len(_CACHE) >= MAX_LOADED:  # freed once the last answer still using it is done
            _CACHE.popitem(last=False)
        _CACHE[key] = LlamaCppLLM(path, settings.n_ctx, settings.n_threads, settings.seed, settings.prompt_format)
        return _CACHE[key]


def _server_llm(settings: Settings) -> LLM:
    from assistant.server_llm import ServerLLM

    assert settings.llm_url
    key = (settings.llm_url, settings.llm_model, settings.prompt_format, settings.n_ctx, settings.seed)
    with _CACHE_LOCK:
        if key not in _CACHE:
            while len(_CACHE) >= MAX_LOADED:
                _CACHE.popitem(last=False)
            api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
            _CACHE[key] = ServerLLM(
                settings.llm_url,
                settings.llm_model,
                "completion" if settings.prompt_format == "completion" else "chat",
                settings.n_ctx,
                api_key=api_key,
                timeout=settings.llm_timeout,
                seed=settings.seed,
            )
        _CACHE.move_to_end(key)
        return _CACHE[key]
