"""The chat keeps answering while 'bron index' replaces the index under it, and then serves the new one.

200 questions, half through the page's own handlers and half through ``/ask`` over HTTP, while
another thread rebuilds the index again and again (a document added, then removed). Each reply
must be an answer or a clear message; none may be lost, hang, or be an internal error.
"""

from __future__ import annotations

import shutil
import threading

from assistant.indexing import build_index
from assistant.texts import TEXT
from tests.fakes import CORPUS, KEYWORD_THRESHOLDS, ScriptedLLM, chat_over, free_port

QUESTIONS = [
    "Wat werd in 1997 met het herstructureringsbeleid voorgesteld?",
    "Welke drie strategieën noemen de auteurs voor bestuurders?",
    "Wat is het telefoonnummer van de gemeente?",
    "Wat weten we over groen in de wijk?",
]
EXTRA = "# Groen\n\nDe gemeente legt in elke wijk een park aan. Groen in de wijk helpt de bewoners.\n"


def test_200_questions_while_the_index_is_rebuilt(make_settings, keyword_embedder, tmp_path):
    from gradio_client import Client

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = make_settings(corpus_dir=corpus, **KEYWORD_THRESHOLDS)
    build_index(settings, keyword_embedder)
    llm = ScriptedLLM("Het herstructureringsbeleid stelde in 1997 voor de sociale huur te verlagen [1].")
    app = chat_over(settings, keyword_embedder, llm)
    port = free_port()
    demo = app.launch("127.0.0.1", port, block=False)
    stop = threading.Event()
    rebuilds: list[bool] = []  # True: the build with the extra document
    problems: list[str] = []

    def reindex():
        try:
            while not stop.is_set():
                with_extra = not (corpus / "groen.md").exists()
                if with_extra:
                    (corpus / "groen.md").write_text(EXTRA, encoding="utf-8")
                else:
                    (corpus / "groen.md").unlink()
                build_index(settings, keyword_embedder)
                rebuilds.append(with_extra)
        except Exception as exc:
            problems.append(f"indexer: {type(exc).__name__}: {exc}")

    def through_the_page(n: int) -> None:
        for i in range(n):
            _, _, turns, _ = app.accept(QUESTIONS[i % len(QUESTIONS)], [])
            *_, (_, _, status, turns) = app.respond(turns, 5, settings.llm, 0.0, "auto", "quotes")
            turn = turns[-1]
            if turn.get("answer") is None and not turn.get("error"):
                problems.append(f"page: no answer and no message ({status})")
            elif turn.get("error") in (TEXT["nl"]["internal_error"],):
                problems.append(f"page: internal error ({status})")

    def through_http(n: int) -> None:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        for i in range(n):
            result = client.predict(QUESTIONS[i % len(QUESTIONS)], None, None, api_name="/ask")
            if "mode" not in result and "error" not in result:
                problems.append(f"http: neither answer nor message: {result}")

    indexer = threading.Thread(target=reindex)
    users = [threading.Thread(target=through_the_page, args=(50,)) for _ in range(2)]
    users += [threading.Thread(target=through_http, args=(50,)) for _ in range(2)]
    try:
        indexer.start()
        for user in users:
            user.start()
        for user in users:
            user.join(timeout=600)
        stop.set()
        indexer.join(timeout=600)  # a build takes seconds; on a loaded machine much longer
        assert not indexer.is_alive(), "the indexer did not finish its last build"
        assert not any(user.is_alive() for user in users), "a user's question hung"
        assert not problems, problems[:5]
        assert len(rebuilds) >= 3, rebuilds  # the index really was replaced while answering
        # Afterwards the chat serves the newest build.
        newest_has_extra = rebuilds[-1]  # what the last finished build holds
        assert ("groen" in app.assistant().index.documents) == newest_has_extra
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        reply = client.predict("Wat doet de gemeente aan groen in de wijk?", None, None, api_name="/ask")
        cited = {c["doc"] for c in reply.get("citations", [])}
        assert ("groen" in cited) == newest_has_extra, reply
    finally:
        stop.set()
        demo.close()
