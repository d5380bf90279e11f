"""The LLM on an OpenAI-compatible server: a real llama-cpp-python server on loopback, and a fake one for errors.

The real server runs the same GGUF file as the in-process model, so at temperature 0 the answers must be
the same; the fake answers what real servers answer when something is wrong (401, 404, 429, 500, a
stream that breaks off), which must each be one line and never a hung question.
"""

from __future__ import annotations

import http.server
import json
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.errors import ModelError
from assistant.evaluation.evalset import load_cases
from assistant.evaluation.report import load_gate
from assistant.server_llm import ServerLLM, estimated_tokens
from bench.server import free_port, llama_server

PROMPT = "Vraag: wat is de hoofdstad van Nederland?\nAntwoord:"


@pytest.fixture(scope="module")
def gguf(real_settings):
    from assistant.model_files import locate_llm

    return locate_llm(real_settings.llm, real_settings.cache_dir)


@pytest.fixture(scope="module")
def server(gguf):
    with llama_server(gguf, free_port()) as url:
        yield url


@pytest.mark.slow
def test_gate_answers_through_the_server_equal_the_in_process_answers(real_assistant, server):
    """Same GGUF, temperature 0: the server changes where the model runs, never what it answers."""
    ids = set(load_gate()["answer_subset"])
    questions = [c.question for c in load_cases() if c.id in ids]
    local = real_assistant.with_settings(answer_writer="model", temperature=0.0)
    remote = local.with_settings(llm_url=server, prompt_format="completion")
    assert remote.llm.name == "gemma3-270m" and remote.llm is not local.llm
    asked = 0
    for question in questions:
        a, b = local.ask(question), remote.ask(question)
        assert (b.mode, b.text, b.draft, b.prompt) == (a.mode, a.text, a.draft, a.prompt), question
        asked += bool(a.prompt)
    assert asked >= 5  # most gate questions reach the model (the rest abstain before it)


@pytest.mark.slow
def test_the_server_counts_tokens_as_the_local_model_does(real_assistant, server):
    remote = ServerLLM(server, None, "completion", 4096)
    text = "Het herstructureringsbeleid stelde in 1997 voor de sociale huur te verlagen van 65 naar 42 procent."
    assert remote.count_tokens(text) == real_assistant.llm.count_tokens(text)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=400))
def test_the_estimate_never_counts_fewer_tokens_than_the_tokenizer(real_llm, text):
    """Used when a server has no tokenizer endpoint: the prompt may be cut shorter, never overflow."""
    assert estimated_tokens(text) >= real_llm.count_tokens(text)


@pytest.fixture(scope="module")
def real_llm(real_settings):
    from assistant.llm import load_llm

    return load_llm(real_settings)


@pytest.mark.slow
def test_a_stopped_server_is_one_message_and_a_restarted_one_answers_again(gguf, real_assistant):
    port = free_port()
    with llama_server(gguf, port) as url:
        remote = real_assistant.with_settings(answer_writer="model", llm_url=url, prompt_format="completion")
        assert remote.ask("Wat werd in 1997 met het herstructureringsbeleid voorgesteld?").prompt
    with pytest.raises(ModelError, match="cannot reach the LLM server at http://127.0.0.1"):
        remote.ask("Wat werd in 1997 met het herstructureringsbeleid voorgesteld?")
    with llama_server(gguf, port):
        assert remote.ask("Wat werd in 1997 met het herstructureringsbeleid voorgesteld?").prompt


@pytest.mark.slow
def test_a_model_name_the_server_does_not_have_is_refused(server):
    with pytest.raises(ModelError, match="has no model 'gpt-9'; it has: gemma3-270m"):
        ServerLLM(server, "gpt-9", "chat", 4096)
    assert ServerLLM(server, "gemma3-270m", "chat", 4096).model == "gemma3-270m"


# -- a fake server for the answers real servers give when something is wrong ----------------------


class _Fake(http.server.BaseHTTPRequestHandler):
    mode = "ok"
    seen: list[dict] = []

    def log_message(self, *args):
        pass

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.mode == "no-models":
            self._json(404, {"error": {"message": "not found"}})
        else:
            self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        type(self).seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        if self.path.startswith(("/extras", "/tokenize")):
            return self._json(404, {"detail": "Not Found"})
        status = {"401": 401, "404": 404, "429": 429, "500": 500}.get(self.mode)
        if status:
            return self._json(status, {"error": {"message": f"fake {status}", "type": "error"}})
        if self.mode == "slow":
            time.sleep(1.5)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        chat = self.path.endswith("/chat/completions")
        words = ["In ", "1997 ", "werd ", "voorgesteld."]
        for i, word in enumerate(words):
            choice = {"index": 0, "delta": {"content": word}} if chat else {"index": 0, "text": word}
            choice["finish_reason"] = "stop" if i == len(words) - 1 else None
            chunk = {"id": "x", "object": "chunk", "created": 0, "model": "fake-model", "choices": [choice]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            if self.mode == "drop":
                self.connection.shutdown(2)  # the server goes away mid-answer
                return
        self.wfile.write(b"data: [DONE]\n\n")


class _FakeServer(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close waits for every handler, so none writes into a later test

    def handle_error(self, request, client_address):
        pass  # a client that timed out and left is what the slow mode is for


@pytest.fixture
def fake():
    _Fake.seen = []
    server = _FakeServer(("127.0.0.1", free_port()), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("prompt_format", ["completion", "chat"])
def test_both_endpoints_stream_and_the_key_goes_only_in_the_header(fake, prompt_format):
    _, url = fake
    _Fake.mode = "ok"
    llm = ServerLLM(url, None, prompt_format, 4096, api_key="geheim-123")
    assert llm.model == "fake-model"
    assert "".join(llm.stream(PROMPT, 20, 0.0, ["\n"])) == "In 1997 werd voorgesteld."
    request = _Fake.seen[-1]
    assert request["path"] == ("/v1/chat/completions" if prompt_format == "chat" else "/v1/completions")
    assert request["auth"] == "Bearer geheim-123" and request["temperature"] == 0.0 and request["stream"]
    assert ("messages" in request) == (prompt_format == "chat") and "repeat_penalty" not in request
    assert llm.count_tokens("Hallo") == estimated_tokens("Hallo")  # no tokenizer endpoint: the estimate


@pytest.mark.parametrize(
    "mode, message",
    [
        ("401", r"refused the API key \(HTTP 401\); set BRON_LLM_API_KEY"),
        ("404", r"has no model 'fake-model' or no such endpoint \(HTTP 404\)"),
        ("429", r"is rate-limiting \(HTTP 429\)"),
        ("500", r"failed \(HTTP 500\)"),
        ("drop", r"(broke off the answer|cannot reach)"),
    ],
)
def test_every_server_failure_is_one_line_without_the_key(fake, mode, message):
    _, url = fake
    _Fake.mode = "ok"
    llm = ServerLLM(url, None, "completion", 4096, api_key="geheim-123")
    _Fake.mode = mode
    with pytest.raises(ModelError, match=message) as caught:
        "".join(llm.stream(PROMPT, 20, 0.0, ["\n"]))
    text = str(caught.value)
    assert "\n" not in text and "geheim" not in text and url.removesuffix("/v1") in text


def test_a_slow_server_times_out_and_an_absent_one_is_refused(fake):
    _, url = fake
    _Fake.mode = "ok"
    llm = ServerLLM(url, None, "completion", 4096, timeout=0.5)
    _Fake.mode = "slow"
    with pytest.raises(ModelError, match="did not answer in time"):  # the fake answers after 1.5 s
        "".join(llm.stream(PROMPT, 20, 0.0, ["\n"]))
    with pytest.raises(ModelError, match="cannot reach the LLM server at http://127.0.0.1:9/v1"):
        ServerLLM("http://127.0.0.1:9/v1", None, "chat", 4096, timeout=2)


def test_a_server_without_a_model_list_takes_the_named_model(fake):
    _, url = fake
    _Fake.mode = "no-models"
    with pytest.raises(ModelError, match="lists no models; name one with --llm-model"):
        ServerLLM(url, None, "chat", 4096)
    assert ServerLLM(url, "mijn-model", "chat", 4096).model == "mijn-model"


def test_cancel_stops_the_stream(fake):
    _, url = fake
    _Fake.mode = "ok"
    llm = ServerLLM(url, None, "completion", 4096)
    cancel = threading.Event()
    pieces = []
    for piece in llm.stream(PROMPT, 20, 0.0, ["\n"], cancel):
        pieces.append(piece)
        cancel.set()
    assert pieces == ["In "]
