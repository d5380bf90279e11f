"""Raw HTTP against a running chat: what any client can send, not only what the page sends.

Hiding the UI's events from the API page is not access control: every event can be called by
``fn_index`` through ``/gradio_api/queue/join``. So the handlers check every value themselves,
errors are one-line messages without server paths, and a flood leaves the server answering.
The models are stand-ins here (the subject is the server); the real ones are in the browser test.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import pytest

from assistant.chat.app import QUEUE_SIZE, ChatApp
from assistant.indexing import build_index
from assistant.texts import TEXT
from tests.fakes import KEYWORD_THRESHOLDS, ScriptedLLM, assistant_over, free_port

QUESTION = "Wat werd in 1997 met het herstructureringsbeleid voorgesteld?"
DRAFT = "In 1997 werd met het herstructureringsbeleid voorgesteld de sociale huur te verlagen van 65 naar 42 [1]."


class SlowLLM(ScriptedLLM):
    """Takes ``seconds`` per answer, so that parallel requests really wait in the queue."""

    def __init__(self, draft: str, seconds: float):
        super().__init__(draft)
        self.seconds = seconds

    def stream(self, prompt, max_tokens, temperature, stop, cancel=None):
        time.sleep(self.seconds)
        yield from super().stream(prompt, max_tokens, temperature, stop, cancel)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A chat on loopback over the bundled corpus; yields (base url, app, fn ids by name)."""
    import shutil

    from assistant.settings import load_settings
    from tests.fakes import CORPUS, KeywordEmbedder

    tmp = tmp_path_factory.mktemp("http")
    shutil.copytree(CORPUS, tmp / "corpus")
    settings = load_settings(
        "test", cache_dir=tmp / "cache", index_dir=tmp / "index", corpus_dir=tmp / "corpus",
        answer_writer="model", **KEYWORD_THRESHOLDS,
    )  # fmt: skip
    embedder = KeywordEmbedder()
    build_index(settings, embedder)
    llm = SlowLLM(DRAFT, seconds=0.15)
    app = ChatApp(
        settings,
        open_assistant=lambda s: assistant_over(s, embedder, llm),
    )
    port = free_port()
    demo = app.launch("127.0.0.1", port, block=False)
    base = f"http://127.0.0.1:{port}"
    config = httpx.get(f"{base}/config", timeout=30).json()
    fns = {d["api_name"]: d["id"] for d in config["dependencies"]}
    try:
        yield base, app, fns
    finally:
        demo.close()


def _session() -> str:
    return uuid.uuid4().hex[:12]


def _queued(base: str, fn: int, data: list, session: str | None = None, timeout: float = 120) -> dict:
    """Join the queue as the page does and wait for the result: {'status': ..., 'output': ...}."""
    session = session or _session()
    joined = httpx.post(
        f"{base}/gradio_api/queue/join", json={"fn_index": fn, "data": data, "session_hash": session}, timeout=60
    )
    if joined.status_code != 200:
        return {"status": joined.status_code, "detail": joined.text}
    with httpx.stream("GET", f"{base}/gradio_api/queue/data", params={"session_hash": session}, timeout=timeout) as s:
        for line in s.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return {"status": 200, **message}
    raise AssertionError("the stream ended without a result")


def _direct(base: str, fn: int, data: list, session: str) -> dict:
    response = httpx.post(
        f"{base}/gradio_api/run/predict", json={"fn_index": fn, "data": data, "session_hash": session}, timeout=60
    )
    return {"status": response.status_code, **response.json()}


def _ask(base, fns, question=QUESTION, top_k=None, model=None):
    return _queued(base, fns["ask"], [question, top_k, model])["output"]["data"][0]


def _one_line_without_paths(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message
    assert "/tmp/" not in message and "/work/" not in message and "/root/" not in message


@pytest.mark.parametrize(
    "question, top_k, model, expected",
    [
        (QUESTION, 0, None, "top_k"),
        (QUESTION, 10**9, None, "top_k"),
        (QUESTION, "abc", None, "top_k must be a number"),
        (QUESTION, True, None, "top_k must be a number"),
        (QUESTION, 2.5, None, "whole number"),
        (QUESTION, None, "/etc/passwd", "unknown model"),
        (QUESTION, None, "../../models/other.gguf", "unknown model"),
        (5, None, None, "must be text"),
        ("", None, None, "empty"),
        ("x" * 10_000_000, None, None, "the limit is"),
    ],
    ids=["top_k-0", "top_k-huge", "top_k-text", "top_k-bool", "top_k-fraction", "model-path", "model-relative",
         "question-number", "question-empty", "question-10MB"],
)  # fmt: skip
def test_ask_with_bad_arguments_gets_one_line_and_the_server_keeps_answering(server, question, top_k, model, expected):
    base, _, fns = server
    result = _ask(base, fns, question, top_k, model)
    assert expected in result["error"] and "answer" not in result
    _one_line_without_paths(result["error"])
    assert len(json.dumps(result)) < 2000  # a 10 MB question is not echoed back
    assert _ask(base, fns)["mode"] == "generated"


def test_internal_handlers_called_by_fn_index_check_their_values(server):
    base, app, fns = server
    nl = TEXT["nl"]
    good = [3, app.settings.llm, 0.0, "auto", "quotes"]
    bad_options = [
        [10**9, app.settings.llm, 0.0, "auto", "quotes"],
        ["abc", app.settings.llm, 0.0, "auto", "quotes"],
        [3, app.settings.llm, 0.0, "auto", "poems"],
        [3, app.settings.llm, 0.0, "de", "quotes"],
        [3, "/etc/passwd", 0.0, "auto", "quotes"],
        [3, None, None, None, None],
    ]
    refused_by = {"gradio": 0, "bron": 0}
    for options in bad_options:
        session = _session()
        accepted = _direct(base, fns["accept"], [QUESTION, None], session)
        assert accepted["status"] == 200 and accepted["data"][3] == nl["queued"]
        result = _queued(base, fns["respond"], [None, *options], session)
        if result["success"] is False:  # refused by the component before bron's handler ran
            refused_by["gradio"] += 1
        else:
            status = result["output"]["data"][2]  # the turns themselves stay on the server (gr.State)
            assert status.startswith(nl["error"].format(message="")), (options, status)
            _one_line_without_paths(status)
            refused_by["bron"] += 1
        # The same session's question is then answered with the page's own values: nothing stuck.
        result = _queued(base, fns["respond"], [None, *good], session)
        assert result["output"]["data"][2].startswith("Klaar in"), result["output"]["data"][2]
    # A question over the limit sent straight to the handler that queues it is refused there.
    session = _session()
    accepted = _direct(base, fns["accept"], ["x" * 100_000, None], session)
    assert "100000 tekens" in accepted["data"][3] and accepted["data"][1] == []  # nothing added to the chat
    # The summary handler with a document that does not exist is refused (by the dropdown's choices);
    # the library's own check is in test_summarise. Either way nothing is read from that path.
    result = _queued(base, fns["summarise"], ["../../etc/passwd", "short"])
    assert result["success"] is False or "etc/passwd" in result["output"]["data"][1]
    assert "root:" not in json.dumps(result)
    # The documents tab names the index, never the server's folders.
    documents = _queued(base, fns["documents"], [])["output"]["data"][0]
    assert "default" in documents and "/tmp/" not in documents and "/work/" not in documents
    assert _ask(base, fns)["mode"] == "generated"


def test_a_flood_of_parallel_requests_is_told_queue_full_and_a_normal_user_is_still_answered(server):
    base, _, fns = server
    results: list[dict] = [{}] * 100

    def call(i: int) -> None:
        results[i] = _queued(base, fns["ask"], [QUESTION, None, None], timeout=300)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    statuses = [r.get("status") for r in results]
    full = [r for r in results if r.get("status") == 503]
    served = [r for r in results if r.get("status") == 200]
    print(f"flood of 100: {len(served)} answered, {len(full)} told the queue is full")
    assert len(full) + len(served) == 100  # nobody lost: answered, or told
    assert full and all("Queue is full" in r["detail"] for r in full), statuses
    assert len(served) >= QUEUE_SIZE
    assert all(r["output"]["data"][0]["mode"] == "generated" for r in served)
    assert _ask(base, fns)["mode"] == "generated"  # and the next user gets an answer


def test_uploads_are_refused_above_the_documents_limit(server):
    base, _, _ = server
    big = b"x" * (55 * 1000 * 1000)  # the chat takes documents up to 50 MB
    response = httpx.post(f"{base}/gradio_api/upload", files={"files": ("big.txt", big)}, timeout=60)
    assert response.status_code == 413


@pytest.mark.long
def test_a_one_gigabyte_upload_is_refused_without_filling_memory(server):
    import psutil

    base, _, _ = server
    before = psutil.Process().memory_info().rss

    def chunks():
        block = b"x" * (1 << 20)
        for _ in range(1024):
            yield block

    boundary = "bronboundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n\r\n').encode()

    def body():
        yield head
        yield from chunks()
        yield f"\r\n--{boundary}--\r\n".encode()

    try:
        response = httpx.post(
            f"{base}/gradio_api/upload", content=body(), timeout=300,
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )  # fmt: skip
        assert response.status_code == 413
    except httpx.TransportError:
        pass  # the server may close the connection as soon as the limit is passed: refused too
    assert psutil.Process().memory_info().rss - before < 200 * 1024 * 1024


def test_gradio_share_and_allowed_paths_from_the_environment_have_no_effect(server, tmp_path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("geheim", encoding="utf-8")
    monkeypatch.setenv("GRADIO_SHARE", "true")
    monkeypatch.setenv("GRADIO_ALLOWED_PATHS", str(tmp_path))
    _, app, _ = server
    port = free_port()
    demo = app.launch("127.0.0.1", port, block=False)
    try:
        assert demo.share is False and demo.share_url is None
        assert str(tmp_path) not in demo.allowed_paths
        response = httpx.get(f"http://127.0.0.1:{port}/gradio_api/file={secret}", timeout=30)
        assert response.status_code in (403, 404) and "geheim" not in response.text
    finally:
        demo.close()


def test_a_password_is_asked_when_one_is_set(server):
    from gradio_client import Client

    from assistant.settings import make_settings

    _, app, _ = server
    protected = ChatApp(
        make_settings(**{**app.settings.model_dump(), "chat_password": "lang-genoeg-wachtwoord"}),
        open_assistant=app._open_assistant,
    )
    port = free_port()
    demo = protected.launch("127.0.0.1", port, block=False)
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/config", timeout=30).status_code in (401, 403)
        with pytest.raises(ValueError, match="[Ll]ogin|auth"):
            Client(base, verbose=False)
        client = Client(base, auth=("bron", "lang-genoeg-wachtwoord"), verbose=False)
        assert client.predict(QUESTION, None, None, api_name="/ask")["mode"] == "generated"
    finally:
        demo.close()
