"""The Gradio chat: ask the indexed documents, watch the answer stream, open its sources.

One ``ChatApp`` serves every browser tab. llama.cpp is not thread-safe and a
2-core machine can run one generation at a time, so every event that uses the
LLM shares one queue slot (``concurrency_id="llm"``); waiting users see their
queue position. Each turn lives in the session's state as plain data; the chat
and the sources panel are rendered from it (``view``).
"""

from __future__ import annotations

import logging
import math
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a private tool

import gradio as gr  # noqa: E402  (after the environment it reads)

from assistant.chat.view import CSS, HEAD, chat_messages, documents_html, sources_html
from assistant.errors import BronError, Cancelled, InputError
from assistant.followup import standalone_query
from assistant.indexing import build_index, corpus_changes
from assistant.model_files import BUILTIN_LLMS
from assistant.original import Original
from assistant.original import show as show_original
from assistant.qa import Assistant, validate_question
from assistant.settings import Settings
from assistant.store import MANIFEST
from assistant.texts import TEXT
from assistant.types import LANGUAGES as DOCUMENT_LANGUAGES
from assistant.types import Answer
from assistant.uploads import add_uploads, remove_upload, uploaded

log = logging.getLogger(__name__)

LANGUAGES = ("auto", *DOCUMENT_LANGUAGES)  # "auto": the question's
_REFRESH_S = 0.15  # least time between two streamed updates of the page
_WORKER_POLL_S = 1.0  # how often a waiting answer checks that its worker thread is still alive
QUEUE_SIZE = 64  # events waiting for a slot; beyond it a client is told the queue is full
UPLOAD_TYPES = (".pdf", ".docx", ".html", ".htm", ".txt", ".md")
_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the installed package: its bundled corpus is not ours to write
MAX_UPLOAD = "50mb"  # documents added from the chat (uploads.MAX_UPLOAD_BYTES); Gradio refuses anything larger
# Gradio reads these from the environment when launch() gets no value of its own; bron never
# serves files or opens a public tunnel, whatever the environment says.
_IGNORED_ENVIRONMENT = ("GRADIO_ALLOWED_PATHS", "GRADIO_SHARE")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~])(?:/[^\s/'\"]+)+/?")


def public_message(text: str) -> str:
    """A message for the browser: absolute server paths shortened to their last two parts."""
    return _ABSOLUTE_PATH.sub(lambda m: "/".join(m.group(0).rstrip("/").split("/")[-2:]), text)


def _stamp(settings: Settings) -> tuple[int, ...] | None:
    """Which build of the index is current, before one is open (then ``index.current_stamp()`` says it):
    a swap gives the manifest a new inode; in PostgreSQL, a write a new generation."""
    if settings.store_dsn:
        from assistant.pg_store import current_generation

        try:
            generation = current_generation(settings.store_dsn, settings.index_name)
        except BronError:
            return None
        return None if generation is None else (generation,)
    try:
        st = (settings.index_path / MANIFEST).stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _number(value, name: str, integer: bool = False) -> float | int:
    """A slider's value as sent by any client: a finite number, else an ``InputError``."""
    try:
        if isinstance(value, bool) or not math.isfinite(float(value)):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name} must be a number, not {str(value)[:40]!r}") from None
    if integer and number != int(number):
        raise InputError(f"{name} must be a whole number, not {number}")
    return int(number) if integer else number


class ChatApp:
    """The chat's state shared by all sessions: the loaded index and the stop switches."""

    def __init__(
        self,
        settings: Settings,
        ui_language: str = "nl",
        open_assistant: Callable[[Settings], Assistant] = Assistant.open,
    ):
        if ui_language not in TEXT:
            raise InputError(f"unknown UI language '{ui_language}'; choose one of {', '.join(TEXT)}")
        self.settings = settings
        self.text = TEXT[ui_language]
        self._open_assistant = open_assistant  # tests open one over fake models
        self._lock = threading.Lock()
        self._stops: dict[str, threading.Event] = {}
        self._assistant, self._stamp = self._open()
        self.changes = corpus_changes(settings, self._assistant.index.manifest)

    def _open(self) -> tuple[Assistant, tuple[int, ...] | None]:
        stamp = _stamp(self.settings)  # before opening: a swap during the load reloads next time
        return self._open_assistant(self.settings), stamp

    def assistant(self) -> Assistant:
        """The assistant over the current index; reopened when ``bron index`` replaced it."""
        with self._lock:
            try:
                current = self._assistant.index.current_stamp()  # the open index asks: no new connection
            except BronError:
                current = None
            if current != self._stamp:
                log.info("index %s changed; reloading", self.settings.index_label)
                self._assistant, self._stamp = self._open()  # a BronError leaves the old one in place
                self.changes = corpus_changes(self.settings, self._assistant.index.manifest)
            return self._assistant

    def model_choices(self) -> list[str]:
        """Builtin models, the configured one and ``chat_models``; never a path typed in the browser.

        With an LLM server (``llm_url``) the one choice is the server's model: local files are not offered.
        """
        if self.settings.llm_url:
            return [self.model_label()]
        choices = [self.settings.llm, *BUILTIN_LLMS, *self.settings.chat_models]
        return list(dict.fromkeys(choices))

    def model_label(self) -> str:
        s = self.settings
        return f"{s.llm_model or 'model'} @ {s.llm_url}" if s.llm_url else s.llm

    def _local_model(self, model: str | None) -> str | None:
        """The ``llm`` setting a menu choice stands for (None: keep the configured one, as on a server)."""
        return None if self.settings.llm_url else model

    # -- event handlers -------------------------------------------------------------------------

    def _stop_switch(self, request: gr.Request | None) -> threading.Event:
        session = getattr(request, "session_hash", None) or "local"
        return self._stops.setdefault(session, threading.Event())

    def accept(self, message: str, turns: list[dict], request: gr.Request | None = None):
        """Put the question in the chat at once; the answer comes from ``respond`` in the queue."""
        self._stop_switch(request).clear()  # a Stop pressed before this question is not meant for it
        question = " ".join((message or "").split())
        if not question:
            return message, chat_messages(turns, self.text), turns, self.text["empty_question"]
        limit = self.settings.max_question_chars
        if len(question) > limit:
            return (
                message,
                chat_messages(turns, self.text),
                turns,
                self.text["too_long"].format(n=len(question), limit=limit),
            )
        if turns and turns[-1].get("answer") is None and not turns[-1].get("error"):
            # One question per session in the queue: a second one used to be answered in place of the
            # first, which then waited for ever; and one tab could fill the queue for everyone.
            return message, chat_messages(turns, self.text), turns, self.text["one_at_a_time"]
        turns = [*turns, {"question": question, "answer": None, "queued": True}]
        return "", chat_messages(turns, self.text), turns, self.text["queued"]

    def respond(
        self,
        turns: list[dict],
        top_k: int,
        model: str,
        temperature: float,
        language: str,
        writer: str | None = None,
        request: gr.Request | None = None,
    ) -> Iterator[tuple]:
        """Stream the answer to the last, unanswered turn: (chat, sources, status, turns) updates."""
        if not turns or turns[-1].get("answer") is not None or turns[-1].get("error"):
            # Nothing was queued (an empty or refused question): leave the status saying why.
            yield chat_messages(turns, self.text), sources_html(turns, self.text), gr.update(), turns
            return
        stop = self._stop_switch(request)
        turn = {**turns[-1], "queued": False}
        turns = [*turns[:-1], turn]

        def update(status: str):
            return chat_messages(turns, self.text), sources_html(turns, self.text), status, turns

        if stop.is_set():  # Stop was pressed while the question waited in the queue
            stop.clear()
            turn["error"] = self.text["stopped_before"]
            yield update(self.text["stopped_before"])
            return
        yield update(self.text["searching"])
        try:
            # Any client can call this handler with any values (hiding it from the API page is not
            # access control), so everything the browser's controls would have limited is checked here.
            validate_question(turn.get("question"), self.settings.max_question_chars)
            if model not in self.model_choices():
                raise InputError(f"unknown model '{str(model)[:80]}'")
            if language not in LANGUAGES:
                raise InputError(f"unknown answer language '{str(language)[:20]}'")
            if writer not in (None, "quotes", "model"):
                raise InputError(f"unknown answer writer '{str(writer)[:20]}'")
            assistant = self.assistant().with_settings(
                top_k=_number(top_k, "top_k", integer=True),
                llm=self._local_model(model),
                temperature=_number(temperature, "temperature"),
                language=language,
                answer_writer=writer,
            )
        except BronError as exc:
            turn["error"] = self.text["error"].format(message=public_message(str(exc)))
            yield update(turn["error"])
            return

        previous = [t["answer"].search_query for t in turns[:-1] if t.get("answer")]
        search_query = standalone_query(turn["question"], previous)
        events: queue.Queue = queue.Queue()

        def work():
            try:
                answer = assistant.ask(
                    turn["question"],
                    on_token=lambda t: events.put(("token", t)),
                    cancel=stop,
                    search_query=search_query,
                    on_evidence=lambda a: events.put(("evidence", a)),
                )
                events.put(("answer", answer))
            except BronError as exc:
                events.put(("error", self.text["error"].format(message=public_message(str(exc)))))
            except Exception:  # the page must get a message and the server must keep running
                log.exception("answering %r failed", turn["question"])
                events.put(("error", self.text["internal_error"]))

        worker = threading.Thread(target=work, name="bron-answer", daemon=True)
        worker.start()
        draft: list[str] = []
        shown = 0.0
        try:
            while True:
                try:
                    kind, value = events.get(timeout=_WORKER_POLL_S)
                except queue.Empty:
                    if worker.is_alive():
                        continue
                    # The worker died without a word (e.g. a BaseException): free the slot, say so.
                    log.error("the answer worker for %r ended without an answer", turn["question"])
                    kind, value = "error", self.text["internal_error"]
                if kind == "evidence":  # shown at once, before the model writes
                    turn["evidence"] = value
                    yield update(self.text["evidence_found"])
                    continue
                if kind == "token":
                    draft.append(value)
                    if time.monotonic() - shown >= _REFRESH_S:
                        turn["draft"] = "".join(draft)
                        shown = time.monotonic()
                        yield update(self.text["writing"].format(n=len(draft)))
                    continue
                turn.pop("draft", None)
                if kind != "error":
                    turn.pop("evidence", None)
                if kind == "error":
                    turn["error"] = value
                    yield update(value)
                else:
                    turn["answer"] = value
                    done = self.text["done"].format(
                        seconds=value.timings.get("total", 0.0),
                        passages=len(value.citations),
                        model=self.model_label() if self.settings.llm_url else assistant.settings.llm,
                    )
                    yield update(done)
                    # Then each cited passage in its original (a PDF page is rendered): for the newest
                    # answer only, so the page does not carry every earlier answer's images.
                    for earlier in turns[:-1]:
                        earlier.pop("originals", None)
                    turn["originals"] = self._originals(value, assistant)
                    yield update(done)
                return
        finally:
            # Also reached when the browser goes away mid-answer: stop the model, free the queue.
            if worker.is_alive():
                stop.set()
                worker.join()
            stop.clear()

    def _originals(self, answer: Answer, assistant: Assistant) -> dict[int, Original]:
        """Each citation's passage as it is in its file, by citation number."""
        shown: dict[int, Original] = {}
        for c in answer.citations:
            try:
                doc = assistant.index.manifest.document(c.doc)
                sentence = c.supporting_sentence or c.text
                shown[c.n] = show_original(
                    Path(doc.path), self.settings.corpus_dir, doc.content_hash, c.start_page, c.start_line,
                    c.end_line, sentence,
                )  # fmt: skip
            except BronError as exc:
                shown[c.n] = Original(note=public_message(str(exc)))
            except Exception:  # a file PDFium cannot render must not cost the answer
                log.exception("showing the original of %s failed", c.doc)
                shown[c.n] = Original(note=self.text["internal_error"])
        return shown

    def stop(self, request: gr.Request | None = None) -> str:
        """Stop this session's generation, or its question still waiting in the queue."""
        self._stop_switch(request).set()
        return self.text["stopping"]

    def clear(self):
        return [], [], sources_html([], self.text), ""

    def documents(self) -> str:
        try:
            assistant = self.assistant()
        except BronError as exc:
            return self.text["error"].format(message=public_message(str(exc)))
        counts = assistant.index.passage_counts()
        return documents_html(assistant.index.manifest, counts, assistant.index.path.name, self.text)

    def _uploads_allowed(self) -> None:
        corpus = self.settings.corpus_dir.resolve()
        if corpus.is_relative_to(_PACKAGE_DIR):
            raise InputError("the bundled corpus of an installed bron is read-only; start the chat with --corpus")

    def add_documents(self, files, request: gr.Request | None = None) -> Iterator[tuple[str, object, object]]:
        """Store uploaded files in the corpus folder and index them; the chat answers meanwhile."""
        paths = [Path(str(getattr(f, "name", f))) for f in (files or [])]
        if not paths:
            yield self.text["upload_none"], self.documents(), gr.update(choices=self.upload_choices())
            return
        try:
            self._uploads_allowed()
            added, refused = add_uploads(self.settings.corpus_dir, [(p, p.name) for p in paths])
        except BronError as exc:
            yield self.text["error"].format(message=public_message(str(exc))), self.documents(), gr.update()
            return
        notes = "".join(f"\n- {public_message(r)}" for r in refused)
        if not added:
            yield self.text["upload_nothing_new"] + notes, self.documents(), gr.update()
            return
        yield from self._reindex(self.text["upload_indexing"].format(n=len(added)), self.text["upload_done"], notes)

    def remove_document(self, doc_id) -> Iterator[tuple[str, object, object]]:
        try:
            self._uploads_allowed()
            remove_upload(self.settings.corpus_dir, str(doc_id or ""))
        except BronError as exc:
            yield self.text["error"].format(message=public_message(str(exc))), self.documents(), gr.update()
            return
        yield from self._reindex(self.text["upload_indexing"].format(n=0), self.text["removed"], "")

    def _reindex(self, started: str, finished: str, notes: str) -> Iterator[tuple[str, object, object]]:
        """Update the index in a thread, reporting progress; questions are answered from the old one meanwhile."""
        events: queue.Queue = queue.Queue()
        embedder = self.assistant().embedder

        def work() -> None:
            try:
                report = build_index(self.settings, embedder, progress=lambda d, t: events.put(("progress", (d, t))))
                events.put(("done", report))
            except BronError as exc:
                events.put(("error", str(exc)))
            except Exception:
                log.exception("indexing the added documents failed")
                events.put(("error", self.text["internal_error"]))

        threading.Thread(target=work, name="bron-upload-index", daemon=True).start()
        yield started + notes, self.documents(), gr.update()
        while True:
            kind, value = events.get()
            if kind == "progress":
                done, total = value
                yield f"{started} {done}/{total}{notes}", gr.update(), gr.update()
                continue
            if kind == "error":
                yield self.text["error"].format(message=public_message(value)) + notes, self.documents(), gr.update()
            else:
                self.assistant()  # open the new index now, not at the next question
                message = finished.format(docs=value.documents, passages=value.chunks, embedded=value.embedded)
                yield message + notes, self.documents(), gr.update(choices=self.upload_choices(), value=None)
            return

    def upload_choices(self) -> list[tuple[str, str]]:
        """The documents added from the chat, by title, for the remove control."""
        try:
            manifest = self.assistant().index.manifest
        except BronError:
            return []
        ids = uploaded(self.settings.corpus_dir)
        return [(manifest.documents[d].title if d in manifest.documents else d, d) for d in ids]

    def document_choices(self) -> list[tuple[str, str]]:
        try:
            documents = self.assistant().index.documents
        except BronError:
            return []
        return [(d.title or doc, doc) for doc, d in documents.items()]

    def summarise(self, doc: str, length: str, request: gr.Request | None = None) -> Iterator[tuple[str, str]]:
        """Summaries of one document's sections as escaped HTML, yielded section by section: (html, status)."""
        from assistant.summarise import Summariser, summary_html

        stop = self._stop_switch(request)
        stop.clear()
        started = time.monotonic()
        try:
            summariser = Summariser(self.assistant(), length)
            targets = summariser.sections([doc])
        except BronError as exc:
            yield "", self.text["error"].format(message=public_message(str(exc)))
            return
        done = []
        yield "", self.text["summarising"].format(done=0, total=len(targets))
        try:
            for target in targets:
                done += summariser.run([target], cancel=stop)
                status = self.text["summarising"].format(done=len(done), total=len(targets))
                yield summary_html(done, done[0].language), status
        except Cancelled:  # Stop pressed: what is done is cached
            yield summary_html(done, done[0].language) if done else "", self.text["summarise_stopped"]
            return
        except BronError as exc:
            message = self.text["error"].format(message=public_message(str(exc)))
            yield summary_html(done, done[0].language) if done else "", message
            return
        cached = sum(1 for s in done if s.cached)
        status = self.text["summarised"].format(total=len(done), cached=cached, seconds=time.monotonic() - started)
        yield summary_html(done, done[0].language), status

    def ask_api(self, question: str, top_k: int | None = None, model: str | None = None) -> dict:
        """One question, one answer as JSON: for scripts and ``gradio_client``; errors come back as ``error``."""
        try:
            if not isinstance(question, str):
                raise InputError("the question must be text")
            question = validate_question(question, self.settings.max_question_chars)
            if model is not None and model not in self.model_choices():
                raise InputError(f"unknown model '{str(model)[:80]}'")
            k = None if top_k is None else _number(top_k, "top_k", integer=True)
            assistant = self.assistant().with_settings(top_k=k, llm=self._local_model(model))
            return assistant.ask(question).to_dict()
        except BronError as exc:
            echo = question[:200] if isinstance(question, str) else ""  # a 10 MB question is not sent back
            return {"question": echo, "error": public_message(str(exc))}

    # -- layout ---------------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        t, s = self.text, self.settings
        with gr.Blocks(title="bron", analytics_enabled=False) as demo:
            gr.Markdown(f"# {t['title']}\n{t['tagline']}")
            if self.changes:
                gr.Markdown(t["stale"].format(changes=", ".join(self.changes)), elem_id="bron-stale")
            turns = gr.State([])
            with gr.Tab(t["tab_ask"]):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label=t["chat"], height=520, elem_id="bron-chat", buttons=["copy"], feedback_options=None
                        )
                        question = gr.Textbox(
                            label=t["question"], placeholder=t["placeholder"], lines=1, max_lines=6, elem_id="bron-q"
                        )
                        with gr.Row():
                            send = gr.Button(t["send"], variant="primary", elem_id="bron-send")
                            stop = gr.Button(t["stop"], variant="stop", elem_id="bron-stop")
                            clear = gr.Button(t["clear"], elem_id="bron-clear")
                        status = gr.Markdown(elem_id="bron-status")
                        with gr.Accordion(t["settings"], open=False):
                            top_k = gr.Slider(1, 10, value=s.top_k, step=1, label=t["top_k"])
                            model = gr.Dropdown(self.model_choices(), value=self.model_label(), label=t["model"])
                            temperature = gr.Slider(0.0, 1.0, value=s.temperature, step=0.05, label=t["temperature"])
                            language = gr.Radio(
                                [(t["language_auto"], "auto"), ("Nederlands", "nl"), ("English", "en")],
                                value=s.language,
                                label=t["language"],
                            )
                            writer = gr.Radio(
                                [(t["writer_quotes"], "quotes"), (t["writer_model"], "model")],
                                value=s.answer_writer,
                                label=t["writer"],
                                elem_id="bron-writer",
                            )
                    with gr.Column(scale=2):
                        gr.Markdown(f"### {t['sources']}")
                        sources = gr.HTML(sources_html([], t), elem_id="bron-sources")
            with gr.Tab(t["tab_summarise"]):
                gr.Markdown(t["summarise_intro"])
                choices = self.document_choices()
                with gr.Row():
                    summary_doc = gr.Dropdown(
                        choices, value=choices[0][1] if choices else None, label=t["summarise_doc"], scale=3
                    )
                    summary_length = gr.Radio(["short", "medium", "long"], value="medium", label=t["summarise_length"])
                with gr.Row():
                    summarise = gr.Button(t["summarise_button"], variant="primary", elem_id="bron-summarise")
                    summary_stop = gr.Button(t["stop"], variant="stop")
                summary_status = gr.Markdown(elem_id="bron-summary-status")
                summary = gr.HTML(elem_id="bron-summary")  # escaped HTML: document text is never markup
            # Quoted summaries do not use the model: they get a slot of their own, so a long summary
            # does not hold up the chat's questions.
            summary_slot = "llm" if s.summary_writer == "model" else "summary"
            summarise.click(
                self.summarise, [summary_doc, summary_length], [summary, summary_status],
                concurrency_limit=1, concurrency_id=summary_slot, api_visibility="private",
            )  # fmt: skip
            summary_stop.click(self.stop, None, summary_status, queue=False, api_visibility="private")
            with gr.Tab(t["tab_documents"]) as documents_tab:
                with gr.Row():
                    upload = gr.File(
                        label=t["upload_label"], file_count="multiple", file_types=list(UPLOAD_TYPES),
                        type="filepath", elem_id="bron-upload",
                    )  # fmt: skip
                    with gr.Column():
                        remove_choice = gr.Dropdown(
                            choices=self.upload_choices(), label=t["remove_label"], elem_id="bron-remove-doc"
                        )
                        remove = gr.Button(t["remove_button"], elem_id="bron-remove")
                upload_status = gr.Markdown(elem_id="bron-upload-status")
                documents = gr.HTML(elem_id="bron-documents")
            documents_tab.select(self.documents, None, documents, api_visibility="private")
            demo.load(self.documents, None, documents, api_visibility="private")
            upload.upload(
                self.add_documents, [upload], [upload_status, documents, remove_choice],
                concurrency_limit=1, concurrency_id="index", api_visibility="private",
            )  # fmt: skip
            remove.click(
                self.remove_document, [remove_choice], [upload_status, documents, remove_choice],
                concurrency_limit=1, concurrency_id="index", api_visibility="private",
            )  # fmt: skip

            answer_inputs = [turns, top_k, model, temperature, language, writer]
            answer_outputs = [chatbot, sources, status, turns]
            for trigger in (question.submit, send.click):
                trigger(
                    self.accept, [question, turns], [question, chatbot, turns, status], queue=False,
                    api_visibility="private",
                ).then(
                    self.respond, answer_inputs, answer_outputs, concurrency_limit=1, concurrency_id="llm",
                    api_visibility="private",
                )  # fmt: skip
            stop.click(self.stop, None, status, queue=False, api_visibility="private")
            clear.click(self.clear, None, [turns, chatbot, sources, status], queue=False, api_visibility="private")

            gr.api(self.ask_api, api_name="ask", concurrency_limit=1, concurrency_id="llm")
        demo.queue(default_concurrency_limit=4, max_size=QUEUE_SIZE)
        return demo

    def launch(self, host: str, port: int | None, block: bool = True) -> gr.Blocks:
        """Serve on ``host:port``; returns the running Blocks when ``block`` is false."""
        demo = self.build()
        for name in _IGNORED_ENVIRONMENT:
            if os.environ.pop(name, None) is not None:
                log.warning("%s is set; bron ignores it (the chat serves no files and opens no public link)", name)
        password = self.settings.chat_password
        demo.launch(
            server_name=host,
            server_port=port,
            prevent_thread_lock=not block,
            share=False,
            auth=("bron", password.get_secret_value()) if password else None,
            max_file_size=MAX_UPLOAD,
            run_history=False,
            allowed_paths=[],
            ssr_mode=False,
            mcp_server=False,
            pwa=False,
            enable_monitoring=False,
            show_error=False,
            quiet=not block,
            theme=gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]),
            css=CSS,
            head=HEAD,
        )
        return demo


__all__ = ["ChatApp", "LANGUAGES"]
