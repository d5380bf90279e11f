"""The chat's HTML: citations link to their cards, document text is escaped, modes are labelled."""

from assistant.chat.view import answer_message, chat_messages, highlight, link_citations, sources_html
from assistant.texts import TEXT
from assistant.types import Answer, Citation, Mode, Quote

NL = TEXT["nl"]


def _answer(mode="generated", text="De huur daalt [1].", citations=None, **extra) -> Answer:
    citation = Citation(
        n=1, doc="d", title="Menging", section="Inleiding", start_line=3, end_line=9,
        text="Eerst dit. De huur daalt <script>alert(1)</script> sterk. Daarna dat.", authors=("A. Auteur",),
        year=2005, supporting_sentence="De huur daalt <script>alert(1)</script> sterk.",
    )  # fmt: skip
    cited = [citation] if citations is None else citations
    return Answer("q", text, cited, mode == Mode.ABSTAINED, Mode(mode), "nl", **extra)


def test_known_markers_link_to_their_card_and_text_is_escaped():
    html = link_citations("Zie <b>dit</b> [1] en [7].", 4, {1})
    assert '<a class="bron-cite" href="#bron-t4-s1"' in html
    assert "&#91;7&#93;" in html and "#bron-t4-s7" not in html  # an unknown marker stays text
    assert "<b>" not in html and "&#60;b&#62;" in html


def test_supporting_sentence_is_highlighted_and_escaped():
    html = highlight("Eerst dit. De huur <i>daalt</i>. Daarna dat.", "De huur <i>daalt</i>.")
    assert "<mark>De huur &lt;i&gt;daalt&lt;/i&gt;.</mark>" in html
    assert highlight("Geen match hier.", "Iets anders.") == "Geen match hier."


def test_sources_panel_shows_card_with_metadata_and_no_markup_from_documents():
    turns = [{"question": "Wat daalt?", "answer": _answer(search_query="Wat daalt? (huur)")}]
    html = sources_html(turns, NL)
    assert "id='bron-t0-s1'" in html and "Menging" in html and "A. Auteur" in html and "2005" in html
    assert "regels 3–9" in html and "Inleiding" in html
    assert "<script>" not in html and "<mark>" in html
    assert "Wat daalt? (huur)" in html  # the rewritten query is shown


def test_a_pdf_citation_names_its_pages_and_the_original_sits_in_its_card():
    from dataclasses import replace

    from assistant.original import Original

    answer = _answer()
    paged = replace(answer, citations=[replace(answer.citations[0], start_page=4, end_page=5)])
    page = Original(html="<img class='bron-page' src='data:image/png;base64,AAAA'>")
    html = sources_html([{"question": "q", "answer": paged, "originals": {1: page}}], NL)
    assert "p. 4–5" in html and "regels 3–9" not in html
    assert "<details class='bron-original'><summary>In het origineel (p. 4–5)</summary><img" in html
    note = Original(note="<b>menging.pdf</b> changed since it was indexed")
    html = sources_html([{"question": "q", "answer": answer, "originals": {1: note}}], NL)
    assert "Het origineel is niet te tonen: &lt;b&gt;menging.pdf&lt;/b&gt; changed" in html


def test_each_mode_says_what_happened():
    quotes = [Quote(1, "De huur daalt <b>sterk</b>.", 0.9)]
    extractive = _answer("extractive", "“De huur daalt sterk.” [1]", quotes=quotes)
    html = answer_message({"answer": extractive}, 0, NL)
    assert NL["mode_extractive"] in html and NL["evidence_label"] in html
    assert "“De huur daalt &#60;b&#62;sterk&#60;/b&#62;.”" in html and 'href="#bron-t0-s1"' in html
    abstained = _answer("abstained", "Dit staat niet in de documenten.", citations=[])
    assert NL["mode_abstained"] in answer_message({"answer": abstained}, 0, NL)
    generated = _answer(direct="De huur daalt [1].", quotes=quotes)
    html = answer_message({"answer": generated}, 0, NL)
    assert html.index("bron-direct") < html.index(NL["evidence_label"])  # the direct answer above its evidence
    assert NL["mode_extractive"] not in html
    stopped = _answer(stopped=True)
    assert NL["mode_stopped"] in answer_message({"answer": stopped}, 0, NL)
    assert NL["draft_label"] in answer_message({"answer": None, "draft": "Half af"}, 0, NL)
    # While the model writes, the evidence is already there.
    waiting = answer_message({"answer": None, "evidence": extractive, "draft": "De hu"}, 0, NL)
    assert NL["evidence_label"] in waiting and NL["draft_label"] in waiting


def test_messages_alternate_and_errors_are_readable():
    turns = [{"question": "<x>?", "answer": None, "error": "Dat lukte niet: het model ontbreekt"}]
    messages = chat_messages(turns, NL)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == "&#60;x&#62;?"
    assert "het model ontbreekt" in messages[1]["content"]


def test_empty_panel_explains_itself():
    assert NL["sources_empty"] in sources_html([], NL)
    assert TEXT["en"]["sources_empty"] in sources_html([], TEXT["en"])


def test_markdown_in_document_or_model_text_is_never_syntax():
    # The chatbot renders Markdown outside HTML blocks: a streamed draft copying a document's
    # "![b](http://host/beacon)" would load an image, "[x](http://...)" or a bare URL would link.
    hostile = "Zie ![b](http://host/beacon) en [x](http://host/klik) of http://host/kaal *vet* `code` $x$"
    for html in (
        answer_message({"question": "q", "answer": None, "draft": hostile}, 0, NL),
        answer_message({"question": "q", "answer": _answer("extractive", quotes=[Quote(1, hostile)])}, 0, NL),
        chat_messages([{"question": hostile, "answer": None}], NL)[0]["content"],
    ):
        for syntax in ("![", "](", "http://", "*vet*", "`code`", "$x$"):
            assert syntax not in html, (syntax, html)
        assert "&#33;&#91;b&#93;&#40;http&#58;//host/beacon&#41;" in html  # shown as those characters
