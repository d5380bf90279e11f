"""What the chat shows: the HTML of answers, sources and documents (the words are in ``assistant.texts``).

Pure functions of a turn (a dict kept in the session's state, holding typed ``Answer``s) and the
manifest, so they are tested without a browser. Everything that comes from a document or a
model is HTML-escaped here: retrieved text is data, never markup.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from assistant.manifest import Manifest
from assistant.original import Original
from assistant.texts import where
from assistant.types import Answer, Citation, Mode, SetAside

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


def _quotes_html(answer: Answer, index: int, text: dict[str, str]) -> str:
    known = {c.n for c in answer.citations}
    items = "".join(f"<li>“{as_text(q.text)}” {link_citations(f'[{q.n}]', index, known)}</li>" for q in answer.quotes)
    return f"<div class='bron-evidence'><strong>{text['evidence_label']}</strong><ul>{items}</ul></div>"


def answer_message(turn: dict, index: int, text: dict[str, str]) -> str:
    """The assistant's chat message for one turn (HTML inside the chatbot's Markdown).

    Evidence first: the quotes appear as soon as they are chosen; the model's direct
    answer, once checked, goes above them. A turn is a session's state: its ``question``, the
    evidence-only ``Answer`` while the model writes (``evidence``, ``draft``), then the ``answer``,
    or an ``error`` message.
    """
    if turn.get("error"):
        # A model or server that fails after the evidence was shown leaves the evidence in place.
        evidence = turn.get("evidence")
        quotes = f"\n\n{_quotes_html(evidence, index, text)}" if evidence else ""
        return f"⚠️ {as_text(turn['error'])}{quotes}"
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
    if answer.stopped:
        parts.append(f"<div class='bron-badge bron-stopped'>{text['mode_stopped']}</div>")
    if answer.mode == Mode.EXTRACTIVE:
        parts.append(f"<div class='bron-badge bron-extractive'>{text['mode_extractive']}</div>")
    elif answer.mode == Mode.ABSTAINED:
        parts.append(f"<div class='bron-badge bron-abstained'>{text['mode_abstained']}</div>")
    known = {c.n for c in answer.citations}
    if answer.quotes:
        if answer.direct:
            parts.append(f"<p class='bron-direct'>{link_citations(answer.direct, index, known)}</p>")
        parts.append(_quotes_html(answer, index, text))
    else:
        parts.append("<br>".join(link_citations(line, index, known) for line in answer.text.splitlines()))
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


def _citation_card(c: Citation, turn: int, open_: bool, text: dict[str, str], original: Original | None) -> str:
    meta = " · ".join(x for x in (", ".join(c.authors), str(c.year) if c.year else "") if x)
    at = where(text, c.start_line, c.end_line, c.start_page, c.end_page)
    shown = ""
    if original is not None:
        # server-made HTML (a rendered page as a data: image, or escaped lines); a note is escaped here
        body = original.html or f"<p class='bron-note'>{escape(text['original_missing'])}: {escape(original.note)}</p>"
        shown = f"<details class='bron-original'><summary>{text['original']} ({at})</summary>{body}</details>"
    return (
        f"<details class='bron-source' id='{source_id(turn, c.n)}'{' open' if open_ else ''}>"
        f"<summary><span class='bron-n'>[{c.n}]</span> <strong>{escape(c.title)}</strong>"
        f"{' — ' + escape(meta) if meta else ''}<br><span class='bron-where'>§ {escape(c.section)} · "
        f"{at}</span></summary>"
        f"<p class='bron-passage'>{highlight(c.text, c.supporting_sentence)}</p>{shown}</details>"
    )


def sources_html(turns: list[dict], text: dict[str, str]) -> str:
    """The sources panel: the cited passages of every turn, newest first; the newest are open."""
    blocks: list[str] = []
    for i in range(len(turns) - 1, -1, -1):
        turn = turns[i]
        answer = turn.get("answer") or turn.get("evidence")
        if answer is None:
            continue
        newest = not blocks
        head = f"<div class='bron-turn-q'>{text['your_question']}: {escape(turn['question'])}</div>"
        query = answer.search_query or turn["question"]
        if " ".join(query.split()) != " ".join(turn["question"].split()):
            head += f"<div class='bron-query'>{text['search_query']}: <code>{escape(query)}</code></div>"
        originals = turn.get("originals", {})
        cards = [_citation_card(c, i, newest, text, originals.get(c.n)) for c in answer.citations]
        body = "".join(cards) if cards else f"<p class='bron-note'>{text['no_citations']}</p>"
        body += "".join(_set_aside_note(a, text) for a in answer.set_aside)
        blocks.append(f"<section class='bron-turn' data-turn='{i}'>{head}{body}</section>")
    if not blocks:
        return f"<p class='bron-note'>{text['sources_empty']}</p>"
    return "".join(blocks)


def _set_aside_note(aside: SetAside, text: dict[str, str]) -> str:
    at = where(text, aside.start_line, aside.end_line, aside.start_page, aside.end_page)
    place = f"{aside.title} § {aside.section} ({at})"
    return (
        f"<div class='bron-set-aside'>⚠️ {escape(text['set_aside'])}: {escape(place)} — "
        f"“{escape(aside.instruction)}”</div>"
    )


def documents_html(manifest: Manifest, n_passages: dict[str, int], index_name: str, text: dict[str, str]) -> str:
    """The documents view: every indexed document with its sections and line ranges."""
    docs = manifest.documents
    intro = text["documents_intro"].format(docs=len(docs), passages=manifest.n_chunks, index=index_name)
    rows = [f"<p>{escape(intro)}</p>"]
    if manifest.split_by_older_rules:
        rows.append(f"<p class='bron-set-aside'>⚠️ {escape(text['older_splitting'])}</p>")
    for doc_id, d in docs.items():
        meta = " · ".join(x for x in (", ".join(d.authors), str(d.year) if d.year else "", d.language) if x)
        sections = "".join(
            f"<li>{escape(s.title)} <span class='bron-where'>({text['lines']} {s.start_line}–{s.end_line})</span></li>"
            for s in d.sections
        )
        rows.append(
            f"<details class='bron-doc'><summary><strong>{escape(d.title or doc_id)}</strong>"
            f"{' — ' + escape(meta) if meta else ''}<br>"
            f"<span class='bron-where'>{escape(Path(d.path).name)} · "
            f"{text['doc_sections'].format(n=len(d.sections))} · {n_passages.get(doc_id, 0)} "
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
.bron-original summary { color: var(--body-text-color-subdued); font-size: 0.9em; }
img.bron-page { width: 100%; height: auto; border: 1px solid var(--border-color-primary); }
table.bron-lines { font-family: monospace; font-size: 0.85em; border-collapse: collapse; }
table.bron-lines td.bron-ln { color: var(--body-text-color-subdued); padding-right: 8px; text-align: right; }
table.bron-lines mark { background: #fde68a; color: inherit; }
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
  var original = card.querySelector("details.bron-original");
  if (original) original.open = true;  // the passage in its original: the page, or the file's lines
  card.classList.add("bron-active");
  card.scrollIntoView({ behavior: "smooth", block: "center" });
}, true);
</script>
"""
