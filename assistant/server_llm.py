"""An LLM behind any OpenAI-compatible server: llama.cpp's or llama-cpp-python's server, Ollama, vLLM, a hosted API.

The official ``openai`` client talks to it (streaming, retries, typed errors). What the server writes is
as untrusted as the local model's text: ``qa.py`` checks it the same way. What differs is handled here:

* the prompt format is a property of the model (``prompt_format``): ``completion`` sends the prompt as
  text to ``/v1/completions`` (right for a base model such as Gemma 3 270M), ``chat`` as one user
  message to ``/v1/chat/completions`` (an instruction-tuned model applies its own template);
* tokens are counted by the server's tokenizer where it has one (llama-cpp-python's
  ``/extras/tokenize/count``, llama.cpp's ``/tokenize``), otherwise by an estimate that can only
  over-count: one token per UTF-8 byte, since no tokenizer bron meets makes a token of less than a
  byte (so a prompt never overflows the server's context, it is only cut shorter than it had to be);
* llama-cpp-python's server is asked for no repeat penalty (it defaults to 1.1), so that at temperature 0
  the same GGUF file gives the same answer through it as in-process;
* every failure (refused connection, timeout, 401, 404, 429, 5xx, a stream that breaks off) is one
  ``ModelError`` line; the API key comes only from the environment and is never part of a message.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Literal

from assistant.errors import ModelError

PromptFormat = Literal["completion", "chat"]
_TOKENIZE_PATHS = ("/extras/tokenize/count", "/tokenize")
_COUNTS_KEPT = 32


def estimated_tokens(text: str) -> int:
    """An upper bound of the tokens of ``text`` for byte-level and SentencePiece tokenizers (plus a BOS)."""
    return len(text.encode("utf-8")) + 1


class ServerLLM:
    """A model on an OpenAI-compatible server, streamed through the ``openai`` client."""

    def __init__(
        self,
        base_url: str,
        model: str | None,
        prompt_format: PromptFormat,
        n_ctx: int,
        api_key: str | None = None,
        timeout: float = 60.0,
        seed: int = 0,
    ):
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelError("the openai package is not installed; run 'make setup'") from exc
        self._openai = openai
        self.base_url = base_url.rstrip("/")
        # Servers that need no key still want the header; "none" is what llama.cpp and Ollama accept.
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key or "none", timeout=timeout, max_retries=1)
        self.prompt_format = prompt_format
        self.n_ctx = n_ctx
        self.seed = seed
        self.model = self._choose_model(model)
        self.name = self.model
        self.fingerprint = f"{self.base_url} {self.model} {prompt_format}"
        self._count_path: str | None | Literal[False] = None  # None: not probed yet; False: the server has none
        self._counted: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()  # guards the counts kept

    # -- errors --------------------------------------------------------------------------------

    def _error(self, exc: Exception) -> ModelError:
        """One line saying what went wrong with the server, naming its address and model, never the key."""
        o = self._openai
        where = f"the LLM server at {self.base_url}"
        if isinstance(exc, o.APITimeoutError):
            return ModelError(f"{where} did not answer in time; is it overloaded? (--llm-url, BRON_LLM_TIMEOUT)")
        if isinstance(exc, o.APIConnectionError):
            return ModelError(f"cannot reach {where} (connection refused or dropped); is it running? (--llm-url)")
        if isinstance(exc, o.AuthenticationError | o.PermissionDeniedError):
            return ModelError(f"{where} refused the API key (HTTP {exc.status_code}); set BRON_LLM_API_KEY")
        if isinstance(exc, o.NotFoundError):
            return ModelError(
                f"{where} has no model '{getattr(self, 'model', '?')}' or no such endpoint (HTTP 404); "
                "check --llm-model and that the URL ends in /v1"
            )
        if isinstance(exc, o.RateLimitError):
            return ModelError(f"{where} is rate-limiting (HTTP 429); try again later")
        if isinstance(exc, o.APIStatusError):
            return ModelError(f"{where} failed (HTTP {exc.status_code}): {_short(exc.message)}")
        return ModelError(f"{where} broke off the answer ({type(exc).__name__}: {_short(str(exc))})")

    def _choose_model(self, wanted: str | None) -> str:
        """``wanted`` if the server lists it, else its first model; a name it does not list is an error
        (llama-cpp-python's server would silently answer with whatever model it has)."""
        try:
            listed = [m.id for m in self._client.models.list().data]
        except self._openai.NotFoundError:  # a server without /v1/models: take the name on trust
            if wanted:
                return wanted
            raise ModelError(f"the LLM server at {self.base_url} lists no models; name one with --llm-model") from None
        except self._openai.OpenAIError as exc:
            raise self._error(exc) from None
        if wanted and wanted in listed:
            return wanted
        if wanted:
            raise ModelError(
                f"the LLM server at {self.base_url} has no model '{_short(wanted, 80)}'; it has: "
                + (", ".join(_short(m, 80) for m in listed[:10]) or "none")
            )
        if not listed:
            raise ModelError(f"the LLM server at {self.base_url} lists no model; name one with --llm-model")
        return listed[0]

    # -- tokens --------------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """The server's count where it has a tokenizer endpoint, else the over-counting estimate.

        Counts are kept for the last few texts: building a prompt counts the same text more than once,
        and each count is a request to a server that may be busy generating for someone else.
        """
        with self._lock:
            if text in self._counted:
                self._counted.move_to_end(text)
                return self._counted[text]
        count = self._count(text)
        with self._lock:
            self._counted[text] = count
            if len(self._counted) > _COUNTS_KEPT:
                self._counted.popitem(last=False)
        return count

    def _count(self, text: str) -> int:
        if self._count_path is not False:
            for path in [self._count_path] if self._count_path else _TOKENIZE_PATHS:
                count = self._server_count(path, text)
                if count is not None:
                    self._count_path = path
                    return count
            self._count_path = False
        return estimated_tokens(text)

    def _llama_cpp_python(self) -> bool:
        """Whether the server is llama-cpp-python's (it has that tokenizer endpoint)."""
        if self._count_path is None:
            self._count("")
        return self._count_path == _TOKENIZE_PATHS[0]

    def _server_count(self, path: str, text: str) -> int | None:
        import httpx

        root = self.base_url.removesuffix("/v1")
        body = {"input": text, "model": self.model} if path.startswith("/extras") else {"content": text}
        try:
            response = httpx.post(root + path, json=body, timeout=10.0, headers=self._client.auth_headers)
            if response.status_code != 200:
                return None
            data = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        if isinstance(data.get("count"), int):  # llama-cpp-python: counted with the BOS, as the prompt is
            return data["count"]
        if isinstance(data.get("tokens"), list):  # llama.cpp: without special tokens, so one more for the BOS
            return len(data["tokens"]) + 1
        return None

    # -- generation ----------------------------------------------------------------------------

    def stream(
        self, prompt: str, max_tokens: int, temperature: float, stop: list[str], cancel: threading.Event | None = None
    ) -> Iterator[str]:
        """Yield text pieces as the server streams them; stop (and close the stream) when ``cancel`` is set."""
        common: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stop": stop or None,
            "seed": self.seed,
            "stream": True,
        }
        if self._llama_cpp_python():
            # Its server applies a repeat penalty of 1.1 unless told otherwise; in-process greedy decoding
            # applies none, so the same model would answer differently through the server.
            common["extra_body"] = {"repeat_penalty": 1.0}
        # No lock: the server queues or batches concurrent requests itself (the openai client is thread-safe).
        try:
            if self.prompt_format == "chat":
                chunks: Any = self._client.chat.completions.create(
                    messages=[{"role": "user", "content": prompt}], **common
                )
            else:
                chunks = self._client.completions.create(prompt=prompt, **common)
            finished = False
            with chunks:
                for chunk in chunks:
                    piece = _piece(chunk, self.prompt_format)
                    if piece:
                        yield piece
                    finished = finished or bool(chunk.choices and chunk.choices[0].finish_reason)
                    if cancel is not None and cancel.is_set():
                        return
            if not finished:  # the connection closed before the server said why it stopped
                raise ModelError(
                    f"the LLM server at {self.base_url} broke off the answer (the stream ended unfinished)"
                )
        except self._openai.OpenAIError as exc:
            raise self._error(exc) from None
        except Exception as exc:  # httpx errors while reading the stream: the server went away
            if isinstance(exc, ModelError):
                raise
            raise self._error(exc) from None


def _piece(chunk: Any, prompt_format: PromptFormat) -> str:
    if not chunk.choices:
        return ""
    choice = chunk.choices[0]
    if prompt_format == "chat":
        return (choice.delta.content if choice.delta else None) or ""
    return choice.text or ""


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["ServerLLM", "PromptFormat", "estimated_tokens"]
