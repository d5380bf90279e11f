"""Every string bron shows people, in each language it speaks: the chat, summary files and ``bron ask``.

One table, so that a label is worded once and a translation cannot be forgotten in one place
(``tests/test_texts.py`` checks both languages have the same keys).
"""

from __future__ import annotations

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
        "pages": "p.",
        "original": "In het origineel",
        "upload_label": "Documenten toevoegen (PDF, Word, HTML, TXT, MD; tot 50 MB, 10 tegelijk)",
        "upload_none": "Geen bestand ontvangen.",
        "upload_nothing_new": "Niets toegevoegd.",
        "upload_indexing": "{n} document(en) toegevoegd; de index wordt bijgewerkt (vragen kan intussen)…",
        "upload_done": "Klaar: {docs} documenten, {passages} passages in de index ({embedded} nieuw ingebed).",
        "removed": "Verwijderd; de index telt nu {docs} documenten, {passages} passages.",
        "remove_label": "Toegevoegd document",
        "remove_button": "Verwijder uit de index",
        "original_missing": "Het origineel is niet te tonen",
        "your_question": "Vraag",
        "stale": "Let op: de documentenmap is veranderd sinds het indexeren ({changes}). Draai `bron index` om de "
        "index bij te werken; tot dan antwoordt bron uit de oude index.",
        "documents_intro": "{docs} documenten, {passages} passages in de index {index}.",
        "older_splitting": "Deze index is met oudere regels in zinnen gesplitst; 'bron index' werkt hem bij "
        "(ongewijzigde passages houden hun vectoren).",
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
        # summary files (bron summarise)
        "summary_title": "Samenvatting per sectie",
        "summary_extractive": "Geciteerd: het model gaf geen samenvatting die de bronnen steunen; dit zijn de meest "
        "centrale zinnen van de sectie.",
        "summary_quoted_mode": "Geciteerd: de belangrijkste zinnen van de sectie, letterlijk.",
        # bron ask
        "cli_extractive": "[geciteerd uit de bronnen]",
        "cli_abstained": "[geen antwoord gevonden]",
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
        "pages": "p.",
        "original": "In the original",
        "upload_label": "Add documents (PDF, Word, HTML, TXT, MD; up to 50 MB, 10 at a time)",
        "upload_none": "No file received.",
        "upload_nothing_new": "Nothing added.",
        "upload_indexing": "{n} document(s) added; updating the index (you can keep asking)…",
        "upload_done": "Done: {docs} documents, {passages} passages in the index ({embedded} newly embedded).",
        "removed": "Removed; the index now holds {docs} documents, {passages} passages.",
        "remove_label": "Added document",
        "remove_button": "Remove from the index",
        "original_missing": "The original cannot be shown",
        "your_question": "Question",
        "stale": "Note: the documents folder changed since indexing ({changes}). Run `bron index` to update the "
        "index; until then bron answers from the old index.",
        "documents_intro": "{docs} documents, {passages} passages in the index {index}.",
        "older_splitting": "This index was split into sentences by older rules; 'bron index' updates it "
        "(unchanged passages keep their vectors).",
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
        "summary_title": "Summary by section",
        "summary_extractive": "Quoted: the model gave no summary the sources support; these are the section's most "
        "central sentences.",
        "summary_quoted_mode": "Quoted: the section's main sentences, verbatim.",
        "cli_extractive": "[quoted from the sources]",
        "cli_abstained": "[no answer found]",
    },
}


def where(text: dict[str, str], start_line: int, end_line: int, start_page: int | None, end_page: int | None) -> str:
    """Where a passage is in its file: its pages for a paged format ("p. 12–13"), else its lines."""
    if start_page is not None:
        last = end_page if end_page is not None else start_page
        pages = str(start_page) if last == start_page else f"{start_page}–{last}"
        return f"{text['pages']} {pages}"
    return f"{text['lines']} {start_line}–{end_line}"
