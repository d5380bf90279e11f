"""The chat's handlers and its HTTP API, over a keyword embedder and a scripted LLM.

The real models are exercised by the browser test; here the subject is the app:
streaming, queueing, stopping, errors as messages, reloading a replaced index.
"""

import shutil

import pytest

from assistant.chat.app import ChatApp
from assistant.indexing import build_index
from assistant.texts import TEXT
from tests.fakes import KEYWORD_THRESHOLDS, ScriptedLLM, assistant_over, chat_over, free_port

NL = TEXT["nl"]
FACT = (
    "In 1997 werd met het herstructureringsbeleid een ambitieuze stedelijke vernieuwing voorgesteld: in door het "
    "beleid geselecteerde wijken moet het percentage sociale huur worden verlaagd van 65 naar 42, terwijl het "
    "aandeel koop zou moeten stijgen van 18 naar 45"
)
QUESTION = "Wat werd in 1997 met het herstructureringsbeleid voorgesteld?"
DIRECT = "In 1997 werd met het herstructureringsbeleid voorgesteld de sociale huur te verlagen van 65 naar 42"


@pytest.fixture
def chat(make_settings, keyword_embedder, corpus_copy):
    settings = make_settings(corpus_dir=corpus_copy, answer_writer="model", **KEYWORD_THRESHOLDS)
    build_index(settings, keyword_embedder)
    llm = ScriptedLLM(f"{DIRECT} [1].")

    def open_assistant(s):
        return assistant_over(s, keyword_embedder, llm)

    app = ChatApp(settings, open_assistant=open_assistant)
    app.llm = llm
    return app


def _ask(app, question, turns=(), **options):
    _, _, turns, status = app.accept(question, list(turns))
    settings = {
        "top_k": 5, "model": app.settings.llm, "temperature": 0.0, "language": "auto", "writer": "model", **options
    }  # fmt: skip
    updates = list(app.respond(turns, **settings))
    return updates, status


def test_answer_streams_then_shows_checked_answer_with_sources(chat):
    updates, status = _ask(chat, QUESTION)
    assert status == NL["queued"]
    statuses = [u[2] for u in updates]
    assert NL["searching"] in statuses
    assert statuses.index(NL["evidence_found"]) < min(i for i, s in enumerate(statuses) if s.startswith("Het model"))
    assert any(s.startswith("Het model schrijft") for s in statuses)  # tokens arrived before the end
    chatbot, sources, final_status, turns = updates[-1]
    answer = turns[-1]["answer"]
    assert answer.mode == "generated" and answer.citations
    assert final_status.startswith("Klaar in")
    assert 'href="#bron-t0-s1"' in chatbot[-1]["content"]
    assert "id='bron-t0-s1'" in sources and "<mark>" in sources


def test_quotes_writer_answers_from_the_evidence_without_the_model(chat):
    updates, _ = _ask(chat, QUESTION, writer="quotes")
    answer = updates[-1][3][-1]["answer"]
    assert answer.mode == "extractive" and answer.quotes and not answer.direct
    assert chat.llm.prompts == []  # the model was not asked
    updates, _ = _ask(chat, QUESTION, writer="poems")
    assert "unknown answer writer 'poems'" in updates[-1][3][-1]["error"]


def test_empty_and_huge_questions_get_a_message_and_change_nothing(chat):
    for question, expected in (("   ", NL["empty_question"]), ("x" * 5000, "5000 tekens")):
        box, chatbot, turns, status = chat.accept(question, [])
        assert expected in status and turns == [] and chatbot == []
        assert box == question  # the typed text is not lost


def test_unknown_model_is_an_error_message_not_a_crash(chat):
    updates, _ = _ask(chat, QUESTION, model="/etc/passwd")
    turn = updates[-1][3][-1]
    assert "unknown model" in turn["error"] and turn["answer"] is None
    assert "⚠️" in updates[-1][0][-1]["content"]
    updates, _ = _ask(chat, QUESTION)  # and the app still answers
    assert updates[-1][3][-1]["answer"].mode == "generated"


def test_follow_up_is_searched_with_the_previous_topic(chat):
    first, _ = _ask(chat, QUESTION)
    updates, _ = _ask(chat, "En wat vond Musterd daarvan?", first[-1][3])
    answer = updates[-1][3][-1]["answer"]
    assert "herstructureringsbeleid" in answer.search_query
    assert "Gezocht met" in updates[-1][1]


def test_stop_while_waiting_in_the_queue(chat):
    _, _, turns, _ = chat.accept(QUESTION, [])
    chat.stop()
    updates = list(chat.respond(turns, 5, chat.settings.llm, 0.0, "auto", "model"))
    assert updates[-1][3][-1]["error"] == NL["stopped_before"]
    assert chat.llm.prompts == []  # the model never ran
    updates, _ = _ask(chat, QUESTION)  # the next question is not stopped
    assert updates[-1][3][-1]["answer"].mode == "generated"


def test_replaced_index_is_reloaded_and_a_broken_one_reported(chat, keyword_embedder):
    _ask(chat, QUESTION)
    first = chat.assistant()
    (chat.settings.corpus_dir / "extra.txt").write_text("Een nieuwe tekst over groen in de wijk.\n" * 3)
    build_index(chat.settings, keyword_embedder)
    assert chat.assistant() is not first and "extra" in chat.assistant().index.documents

    (chat.settings.index_path / "chunks.jsonl").write_text("kapot")
    (chat.settings.index_path / "manifest.json").touch()
    updates, _ = _ask(chat, QUESTION)
    turn = updates[-1][3][-1]
    assert "rebuild with 'bron index --rebuild'" in turn["error"]
    assert "Traceback" not in updates[-1][0][-1]["content"]
    build_index(chat.settings, keyword_embedder, rebuild=True)
    updates, _ = _ask(chat, QUESTION)
    assert updates[-1][3][-1]["answer"] is not None


def test_stale_corpus_is_announced(make_settings, keyword_embedder, corpus_copy, chat):
    (chat.settings.corpus_dir / "nieuw.txt").write_text("Nog niet geïndexeerd.\n")
    app = ChatApp(chat.settings, open_assistant=chat._open_assistant)
    assert app.changes == ["+ nieuw"]


def test_documents_view_lists_documents_and_sections(chat):
    html = chat.documents()
    assert "Menging" in html and "Op zoek naar nieuwe strategieën" in html
    shutil.rmtree(chat.settings.index_path)
    (chat.settings.index_path).mkdir()
    (chat.settings.index_path / "manifest.json").write_text("{niet json")
    assert "unreadable" in chat.documents()


def test_http_api_answers_and_reports_errors(chat):
    from gradio_client import Client

    port = free_port()
    demo = chat.launch("127.0.0.1", port, block=False)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        result = client.predict(QUESTION, None, None, api_name="/ask")
        assert result["mode"] == "generated" and result["citations"][0]["doc"] == "uitermark-duyvendak-menging"
        assert "error" in client.predict("", None, None, api_name="/ask")
        api = client.view_api(print_info=False, return_format="dict")
        assert list(api["named_endpoints"]) == ["/ask"]  # the UI's own events are not callable from outside
    finally:
        demo.close()


class _OneAtATimeLLM(ScriptedLLM):
    """Slow enough for requests to overlap; records how many streams ever ran at once."""

    def __init__(self, draft):
        super().__init__(draft)
        self.running = self.most = 0

    def stream(self, prompt, max_tokens, temperature, stop, cancel=None):
        import time

        self.running += 1
        self.most = max(self.most, self.running)
        try:
            for piece in super().stream(prompt, max_tokens, temperature, stop, cancel):
                time.sleep(0.02)
                yield piece
        finally:
            self.running -= 1


def test_simultaneous_users_queue_for_the_one_model(make_settings, keyword_embedder, corpus_copy):
    from gradio_client import Client

    settings = make_settings(corpus_dir=corpus_copy, answer_writer="model", **KEYWORD_THRESHOLDS)
    build_index(settings, keyword_embedder)
    llm = _OneAtATimeLLM(f"{DIRECT} [1].")
    app = chat_over(settings, keyword_embedder, llm)
    port = free_port()
    demo = app.launch("127.0.0.1", port, block=False)
    try:
        clients = [Client(f"http://127.0.0.1:{port}/", verbose=False) for _ in range(3)]
        jobs = [c.submit(QUESTION, None, None, api_name="/ask") for c in clients]
        results = [job.result(timeout=120) for job in jobs]
        assert all(r["mode"] == "generated" for r in results)
        assert len(llm.prompts) == 3 and llm.most == 1
    finally:
        demo.close()


def test_summarise_tab_streams_section_summaries(chat):
    updates = list(chat.summarise("uitermark-duyvendak-menging", "short"))
    assert updates[0][1].startswith("Samenvatten: 0 van 8")
    assert "<h3>Inleiding</h3>" in updates[1][0] and "<h3>Conclusie" not in updates[1][0]  # one section at a time
    final_html, final_status = updates[-1]
    assert "<h3>Conclusie</h3>" in final_html and final_status.startswith("Klaar: 8 secties (0 uit de cache)")
    again = list(chat.summarise("uitermark-duyvendak-menging", "short"))
    assert again[-1][1].startswith("Klaar: 8 secties (8 uit de cache)")
    assert "nergens" in list(chat.summarise("nergens", "short"))[-1][1]


def test_an_index_replaced_while_the_chat_opens_it_is_reloaded_next_time(make_settings, keyword_embedder, corpus_copy):
    """The change stamp is taken before opening: a swap during the load is not mistaken for the loaded build."""
    settings = make_settings(corpus_dir=corpus_copy)
    build_index(settings, keyword_embedder)
    opened = []

    def open_assistant(s):
        assistant = assistant_over(s, keyword_embedder)
        if not opened:  # 'bron index' finishes while the chat is still starting
            (corpus_copy / "extra.txt").write_text("Een nieuwe tekst over groen in de wijk.\n" * 3)
            build_index(settings, keyword_embedder)
        opened.append(assistant)
        return assistant

    app = ChatApp(settings, open_assistant=open_assistant)
    assert "extra" not in opened[0].index.documents
    assert "extra" in app.assistant().index.documents


class _DyingLLM(ScriptedLLM):
    """Ends its thread with a BaseException, which no ``except Exception`` catches."""

    def stream(self, prompt, max_tokens, temperature, stop, cancel=None):
        raise SystemExit("worker gone")
        yield  # pragma: no cover


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the death is the test
def test_a_worker_thread_that_dies_frees_the_slot_with_a_message(chat, monkeypatch):
    monkeypatch.setattr("assistant.chat.app._WORKER_POLL_S", 0.05)
    llm = _DyingLLM("")
    chat._assistant = chat._assistant.__class__(
        chat._assistant.settings, chat._assistant.embedder, chat._assistant.index, llm
    )
    updates, _ = _ask(chat, QUESTION)  # before: waited on the queue forever
    assert updates[-1][3][-1]["error"] == NL["internal_error"]


class _ServerGoneLLM(ScriptedLLM):
    """Like an LLM server that drops the connection after two words."""

    def stream(self, prompt, max_tokens, temperature, stop, cancel=None):
        from assistant.errors import ModelError

        yield "In 1997 "
        raise ModelError("the LLM server at http://127.0.0.1:9/v1 broke off the answer (the stream ended unfinished)")


def test_a_server_that_fails_mid_answer_is_a_message_beside_the_quotes_and_frees_the_slot(chat):
    chat._assistant = chat._assistant.__class__(
        chat._assistant.settings, chat._assistant.embedder, chat._assistant.index, _ServerGoneLLM("")
    )
    updates, _ = _ask(chat, QUESTION)
    chatbot, sources, status, turns = updates[-1]
    assert "broke off the answer" in turns[-1]["error"] and "broke off the answer" in status
    message = chatbot[-1]["content"]
    assert "⚠️" in message and NL["evidence_label"] in message and "65 naar 42" in message  # the quotes stay
    assert "id='bron-t0-s1'" in sources
    again, _ = _ask(chat, QUESTION, turns, writer="quotes")  # the session is not stuck
    assert again[-1][3][-1]["answer"].mode == "extractive"


def test_errors_in_the_chat_name_no_server_folders(chat):
    from assistant.chat.app import public_message

    shutil.rmtree(chat.settings.index_path)
    updates, _ = _ask(chat, QUESTION)
    error = updates[-1][3][-1]["error"]
    assert "no index at" in error and str(chat.settings.index_dir) not in error and "index/default" in error
    assert public_message("file /home/anna/docs/x.txt is bad; see ~/notes and 1/2") == (
        "file docs/x.txt is bad; see ~/notes and 1/2"
    )


def test_stop_during_a_summary_keeps_what_is_done(chat):
    """Stop ends the summary with a Cancelled error (not a KeyboardInterrupt raised in library code)."""
    updates = chat.summarise("uitermark-duyvendak-menging", "short")
    statuses = [next(updates)[1], next(updates)[1]]  # the start, then the first section
    chat.stop()
    html, status = list(updates)[-1]
    assert statuses[1].startswith("Samenvatten: 1 van 8") and status == NL["summarise_stopped"]
    assert "<h3>Inleiding</h3>" in html  # the finished section is still shown


def test_a_second_question_while_the_first_waits_is_refused_and_kept_in_the_box(chat):
    """Before: both were queued, the second was answered in place of the first, which then waited for ever."""
    _, _, turns, _ = chat.accept(QUESTION, [])
    box, _, after, status = chat.accept("En wat vond Musterd daarvan?", turns)
    assert status == NL["one_at_a_time"] and box == "En wat vond Musterd daarvan?" and after == turns
    *_, (_, _, _, turns) = chat.respond(turns, 5, chat.settings.llm, 0.0, "auto", "quotes")
    assert turns[-1]["question"] == QUESTION and turns[-1]["answer"] is not None
    _, _, turns, status = chat.accept("En wat vond Musterd daarvan?", turns)  # now it is taken
    assert status == NL["queued"] and len(turns) == 2
