"""What the chat shows: UI text in Dutch and English, and the HTML of answers and sources.

Pure functions of plain data (a turn is a dict kept in the session's state), so
they are tested without a browser. Everything that comes from a document or a
model is HTML-escaped here: retrieved text is data, never markup.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from assistant.types import Mode

TEXT: dict[str, dict[str, str]] = {
    "nl": {
        "title": "bron",
        "tagline": "Stel vragen over je documenten. Elke bewering in een antwoord verwijst naar de passage die het "
        "zegt; staat het er niet in, dan zegt bron dat.",
        "tab_ask": "Vragen",
        "tab_documents": "Documenten",
        "question": "Je vraag",
        "placeholder": "Bijvoorbeeld: Welke drie strategieën noemen de auteurs voor bestuurders?",
        "send": "Vraag",
        "stop": "Stop",
        "clear": "Nieuw gesprek",
        "chat": "Gesprek",
        "sources": "Bronnen",
        "sources_empty": "De bronnen van een antwoord verschijnen hier. Klik op een [n] in het antwoord om de "
        "passage te openen.",
        "settings": "Instellingen",
        "top_k": "Aantal passages voor het model",
        "model": "Model",
        "temperature": "Temperatuur (0 = steeds hetzelfde antwoord)",
        "language": "Taal van het antwoord",
        "language_auto": "automatisch (taal van de vraag)",
        "writer": "Antwoord",
        "writer_quotes": "citaten uit de bronnen",
        "writer_model": "citaten + één zin van het model (gecontroleerd)",
        "searching": "Zoeken in de documenten en de passages lezen…",
        "writing": "Het model schrijft ({n} tokens)… de tekst wordt daarna gecontroleerd.",
        "draft_label": "Concept, nog niet gecontroleerd",
        "done": "Klaar in {seconds:.1f} s · {passages} passage(s) geciteerd · model {model}",
        "stopping": "Stoppen…",
        "stopped_before": "Gestopt voordat het model begon.",
        "queued": "In de wachtrij…",
        "empty_question": "Typ eerst een vraag.",
        "one_at_a_time": "Je vorige vraag wacht nog op een antwoord; stel de volgende als dat er is (of begin een "
        "nieuw gesprek).",
        "too_long": "De vraag is {n} tekens lang; de grens is {limit}.",
        "error": "Dat lukte niet: {message}",
        "internal_error": "Er ging iets onverwachts mis; de details staan in het logboek van de server.",
        "mode_extractive": "Geciteerd uit de bronnen: letterlijke zinnen uit de documenten (het model voegde geen "
        "gecontroleerde zin toe).",
        "evidence_label": "Uit de bronnen",
        "evidence_found": "Bewijs gevonden; het model schrijft een kort antwoord…",
        "mode_abstained": "Niet gevonden: de documenten bevatten geen passage die deze vraag beantwoordt.",
        "mode_stopped": "Gestopt: hieronder alleen wat van het onvolledige concept de controle doorstond.",
        "dropped": "{n} zin(nen) van het model weggelaten: niet gesteund door de bronnen.",
        "search_query": "Gezocht met",
        "supporting": "De gemarkeerde zin steunt het antwoord.",
        "lines": "regels",
        "your_question": "Vraag",
        "stale": "Let op: de documentenmap is veranderd sinds het indexeren ({changes}). Draai `bron index` om de "
        "index bij te werken; tot dan antwoordt bron uit de oude index.",
        "documents_intro": "{docs} documenten, {passages} passages in de index {index}.",
        "doc_sections": "{n} secties",
        "doc_passages": "passages",
        "no_citations": "Geen passages geciteerd.",
        "set_aside": "Niet gebruikt: deze passage leest als een instructie aan de assistent, en bron volgt geen "
        "instructies uit documenten",
        "tab_summarise": "Samenvatten",
        "summarise_doc": "Document",
        "summarise_length": "Lengte",
        "summarise_button": "Samenvatten",
        "summarising": "Samenvatten: {done} van {total} secties klaar…",
        "summarised": "Klaar: {total} secties ({cached} uit de cache) in {seconds:.0f} s.",
        "summarise_stopped": "Gestopt; de secties die klaar waren, staan in de cache.",
        "summarise_intro": "Een samenvatting per sectie; elke zin verwijst naar de passage waar hij op steunt en is "
        "gecontroleerd zoals een antwoord. Eerder gemaakte samenvattingen komen uit de cache.",
    },
    "en": {
        "title": "bron",
        "tagline": "Ask questions about your documents. Every claim in an answer points to the passage that says "
        "it; when the documents do not say it, bron tells you so.",
        "tab_ask": "Ask",
        "tab_documents": "Documents",
        "question": "Your question",
        "placeholder": "For example: Welke drie strategieën noemen de auteurs voor bestuurders?",
        "send": "Ask",
        "stop": "Stop",
        "clear": "New conversation",
        "chat": "Conversation",
        "sources": "Sources",
        "sources_empty": "The sources of an answer appear here. Click an [n] in the answer to open the passage.",
        "settings": "Settings",
        "top_k": "Passages given to the model",
        "model": "Model",
        "temperature": "Temperature (0 = the same answer every time)",
        "language": "Answer language",
        "language_auto": "automatic (language of the question)",
        "writer": "Answer",
        "writer_quotes": "quotes from the sources",
        "writer_model": "quotes + one sentence by the model (checked)",
        "searching": "Searching the documents and reading the passages…",
        "writing": "The model is writing ({n} tokens)… the text is checked afterwards.",
        "draft_label": "Draft, not yet checked",
        "done": "Done in {seconds:.1f} s · {passages} passage(s) cited · model {model}",
        "stopping": "Stopping…",
        "stopped_before": "Stopped before the model started.",
        "queued": "Waiting in the queue…",
        "empty_question": "Type a question first.",
        "one_at_a_time": "Your previous question is still waiting for its answer; ask the next one when it is there "
        "(or start a new conversation).",
        "too_long": "The question is {n} characters long; the limit is {limit}.",
        "error": "That did not work: {message}",
        "internal_error": "Something unexpected went wrong; the details are in the server log.",
        "mode_extractive": "Quoted from the sources: sentences copied from the documents (the model added no "
        "sentence that passed the checks).",
        "evidence_label": "From the sources",
        "evidence_found": "Evidence found; the model is writing a short answer…",
        "mode_abstained": "Not found: the documents hold no passage that answers this question.",
        "mode_stopped": "Stopped: below is only what of the unfinished draft passed the checks.",
        "dropped": "{n} sentence(s) of the model left out: not supported by the sources.",
        "search_query": "Searched with",
        "supporting": "The highlighted sentence supports the answer.",
        "lines": "lines",
        "your_question": "Question",
        "stale": "Note: the documents folder changed since indexing ({changes}). Run `bron index` to update the "
        "index; until then bron answers from the old index.",
        "documents_intro": "{docs} documents, {passages} passages in the index {index}.",
        "doc_sections": "{n} sections",
        "doc_passages": "passages",
        "no_citations": "No passages cited.",
        "set_aside": "Not used: this passage reads as an instruction to the assistant, and bron follows no "
        "instructions from documents",
        "tab_summarise": "Summarise",
        "summarise_doc": "Document",
        "summarise_length": "Length",
        "summarise_button": "Summarise",
        "summarising": "Summarising: {done} of {total} sections done…",
        "summarised": "Done: {total} sections ({cached} from the cache) in {seconds:.0f} s.",
        "summarise_stopped": "Stopped; the sections that were done are in the cache.",
        "summarise_intro": "A summary per section; every sentence points to the passage it rests on and is checked "
        "like an answer. Summaries made before come from the cache.",
    },
}

_MARKER = re.compile(r"\[(\d+)\]")


def source_id(turn: int, n: int) -> str:
    """The HTML id of citation ``n`` of turn ``turn`` in the sources panel."""
    return f"bron-t{turn}-s{n}"


# The chatbot renders Markdown: "![](http://host/beacon)" in a quoted document would load a remote
# image and "[tekst](http://...)" or a bare URL would become a link. Every character Markdown (or its
# URL autolinker, or LaTeX) gives meaning to is written as a numeric character reference, which the
# renderer shows as the character and never parses as syntax.
_MARKDOWN_SYNTAX = str.maketrans({ch: f"&#{ord(ch)};" for ch in "[]()!*_`#~|$:\\<>&{}+-=^"})


def as_text(text: str) -> str:
    """Document or model text for the chatbot: shown as the characters it is, never as markup."""
    return text.translate(_MARKDOWN_SYNTAX)


def link_citations(text: str, turn: int, known: set[int]) -> str:
    """``text`` as plain text (``as_text``), with each known ``[n]`` a link to its source card."""
    out, last = [], 0
    for match in _MARKER.finditer(text):
        n = int(match.group(1))
        out.append(as_text(text[last : match.start()]))
        if n in known:
            out.append(f'<a class="bron-cite" href="#{source_id(turn, n)}" title="bron {n}">[{n}]</a>')
        else:
            out.append(as_text(match.group(0)))
        last = match.end()
    out.append(as_text(text[last:]))
    return "".join(out)


def _quotes_html(answer: dict, index: int, text: dict[str, str]) -> str:
    known = {c["n"] for c in answer["citations"]}
    items = "".join(
        f"<li>“{as_text(q['text'])}” {link_citations('[{}]'.format(q['n']), index, known)}</li>"
        for q in answer.get("quotes", [])
    )
    return f"<div class='bron-evidence'><strong>{text['evidence_label']}</strong><ul>{items}</ul></div>"


def answer_message(turn: dict, index: int, text: dict[str, str]) -> str:
    """The assistant's chat message for one turn (HTML inside the chatbot's Markdown).

    Evidence first: the quotes appear as soon as they are chosen; the model's direct
    answer, once checked, goes above them.
    """
    if turn.get("error"):
        return f"⚠️ {as_text(turn['error'])}"
    answer = turn.get("answer")
    if answer is None:
        evidence = turn.get("evidence")
        parts = []
        if turn.get("draft"):
            draft = as_text(turn["draft"])
            parts.append(f"<em>{text['draft_label']}</em>\n\n<span class='bron-draft'>{draft}</span>")
        if evidence:
            parts.append(_quotes_html(evidence, index, text))
        if parts:
            return "\n\n".join(parts)
        return f"<em>{text['queued'] if turn.get('queued') else text['searching']}</em>"
    parts = []
    if answer.get("stopped"):
        parts.append(f"<div class='bron-badge bron-stopped'>{text['mode_stopped']}</div>")
    if answer["mode"] == Mode.EXTRACTIVE:
        parts.append(f"<div class='bron-badge bron-extractive'>{text['mode_extractive']}</div>")
    elif answer["mode"] == Mode.ABSTAINED:
        parts.append(f"<div class='bron-badge bron-abstained'>{text['mode_abstained']}</div>")
    known = {c["n"] for c in answer["citations"]}
    if answer.get("quotes"):
        if answer.get("direct"):
            parts.append(f"<p class='bron-direct'>{link_citations(answer['direct'], index, known)}</p>")
        parts.append(_quotes_html(answer, index, text))
    else:
        body = answer["answer"]
        parts.append("<br>".join(link_citations(line, index, known) for line in body.splitlines()))
    return "\n\n".join(parts)


def chat_messages(turns: list[dict], text: dict[str, str]) -> list[dict]:
    """The chatbot's value: a user and an assistant message per turn."""
    messages = []
    for i, turn in enumerate(turns):
        messages.append({"role": "user", "content": as_text(turn["question"])})
        messages.append({"role": "assistant", "content": answer_message(turn, i, text)})
    return messages


def highlight(passage: str, sentence: str) -> str:
    """``passage`` escaped, with ``sentence`` (if it occurs) wrapped in ``<mark>``."""
    safe = escape(passage, quote=False)
    if sentence:
        target = escape(" ".join(sentence.split()), quote=False)
        flat = " ".join(safe.split())
        at = flat.find(target)
        if at >= 0:
            return f"{flat[:at]}<mark>{target}</mark>{flat[at + len(target) :]}"
    return safe


def _citation_card(c: dict, turn: int, open_: bool, text: dict[str, str]) -> str:
    authors = ", ".join(c.get("authors") or [])
    meta = " · ".join(x for x in (authors, str(c["year"]) if c.get("year") else "") if x)
    return (
        f"<details class='bron-source' id='{source_id(turn, c['n'])}'{' open' if open_ else ''}>"
        f"<summary><span class='bron-n'>[{c['n']}]</span> <strong>{escape(c['title'])}</strong>"
        f"{' — ' + escape(meta) if meta else ''}<br><span class='bron-where'>§ {escape(c['section'])} · "
        f"{text['lines']} {c['start_line']}–{c['end_line']}</span></summary>"
        f"<p class='bron-passage'>{highlight(c['text'], c.get('supporting_sentence', ''))}</p></details>"
    )


def sources_html(turns: list[dict], text: dict[str, str]) -> str:
    """The sources panel: the cited passages of every turn, newest first; the newest are open."""
    blocks = []
    for i in range(len(turns) - 1, -1, -1):
        turn = turns[i]
        answer = turn.get("answer") or turn.get("evidence")
        if answer is None:
            continue
        newest = not blocks
        head = f"<div class='bron-turn-q'>{text['your_question']}: {escape(turn['question'])}</div>"
        query = answer.get("search_query") or turn["question"]
        if " ".join(query.split()) != " ".join(turn["question"].split()):
            head += f"<div class='bron-query'>{text['search_query']}: <code>{escape(query)}</code></div>"
        cards = [_citation_card(c, i, newest, text) for c in answer["citations"]]
        body = "".join(cards) if cards else f"<p class='bron-note'>{text['no_citations']}</p>"
        body += "".join(_set_aside_note(a, text) for a in answer.get("set_aside", []))
        blocks.append(f"<section class='bron-turn' data-turn='{i}'>{head}{body}</section>")
    if not blocks:
        return f"<p class='bron-note'>{text['sources_empty']}</p>"
    return "".join(blocks)


def _set_aside_note(aside: dict, text: dict[str, str]) -> str:
    where = f"{aside['title']} § {aside['section']} ({text['lines']} {aside['start_line']}–{aside['end_line']})"
    return (
        f"<div class='bron-set-aside'>⚠️ {escape(text['set_aside'])}: {escape(where)} — "
        f"“{escape(aside['instruction'])}”</div>"
    )


def documents_html(manifest: dict, n_passages: dict[str, int], index_name: str, text: dict[str, str]) -> str:
    """The documents view: every indexed document with its sections and line ranges."""
    docs = manifest["documents"]
    intro = text["documents_intro"].format(docs=len(docs), passages=manifest.get("n_chunks", 0), index=index_name)
    rows = [f"<p>{escape(intro)}</p>"]
    for doc_id, d in docs.items():
        authors = ", ".join(d.get("authors") or [])
        meta = " · ".join(x for x in (authors, str(d["year"]) if d.get("year") else "", d.get("language", "")) if x)
        sections = "".join(
            f"<li>{escape(s['title'])} <span class='bron-where'>({text['lines']} {s['start_line']}–{s['end_line']})"
            f"</span></li>"
            for s in d.get("sections", [])
        )
        rows.append(
            f"<details class='bron-doc'><summary><strong>{escape(d.get('title') or doc_id)}</strong>"
            f"{' — ' + escape(meta) if meta else ''}<br>"
            f"<span class='bron-where'>{escape(Path(d.get('path', '')).name)} · "
            f"{text['doc_sections'].format(n=len(d.get('sections', [])))} · {n_passages.get(doc_id, 0)} "
            f"{text['doc_passages']}</span></summary><ol>{sections}</ol></details>"
        )
    return "".join(rows)


CSS = """
.bron-source, .bron-doc { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px;
  margin: 6px 0; }
.bron-source.bron-active { outline: 2px solid var(--color-accent); }
.bron-source summary, .bron-doc summary { cursor: pointer; }
.bron-where, .bron-note, .bron-query { color: var(--body-text-color-subdued); font-size: 0.9em; }
.bron-passage { white-space: normal; line-height: 1.5; }
.bron-passage mark { background: #fde68a; color: inherit; padding: 0 2px; }
.bron-turn { border-bottom: 1px solid var(--border-color-primary); padding-bottom: 8px; margin-bottom: 8px; }
.bron-turn-q { font-weight: 600; }
.bron-badge { border-left: 4px solid #d97706; padding: 4px 8px; margin-bottom: 6px; font-size: 0.92em; }
.bron-abstained { border-left-color: #6b7280; }
.bron-set-aside { border-left: 4px solid #b91c1c; padding: 4px 8px; margin: 6px 0; font-size: 0.9em; }
.bron-draft { color: var(--body-text-color-subdued); }
.bron-direct { font-weight: 600; margin-bottom: 0.3em; }
.bron-evidence ul { margin: 0.2em 0 0 1.2em; }
.bron-evidence li { font-style: italic; }
a.bron-cite { font-weight: 600; text-decoration: none; }
"""

# Citation links open their source card: one listener for the whole page, so it
# also works for messages rendered after the page loaded.
HEAD = """
<script>
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest('a.bron-cite, a[href^="#bron-t"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  var id = (link.getAttribute("href") || "").slice(1);
  var card = document.getElementById(id);
  if (!card) return;
  document.querySelectorAll(".bron-source.bron-active").forEach(function (el) { el.classList.remove("bron-active"); });
  card.open = true;
  card.classList.add("bron-active");
  card.scrollIntoView({ behavior: "smooth", block: "center" });
}, true);
</script>
"""
