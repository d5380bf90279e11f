"""Section summaries over a keyword embedder and a scripted LLM: checks, fallback, cache, resume, output."""

import json
import re

import numpy as np
import pytest

from assistant.citations import damaged_words
from assistant.errors import InputError
from assistant.indexing import build_index
from assistant.summarise import Summariser, _is_main_point_candidate, main_points, write_outputs
from tests.fakes import ScriptedLLM, assistant_over

DOC = "uitermark-duyvendak-menging"
COPY = "Vooral veiligheid en leefbaarheid staan tegenwoordig centraal [1]."


@pytest.fixture
def make(make_settings, keyword_embedder, corpus_copy):
    settings = make_settings(corpus_dir=corpus_copy, min_support=0.8, min_word_coverage=0.7, summary_writer="model")
    build_index(settings, keyword_embedder)

    def make(draft: str, length="short", n_ctx=8192, writer="model"):
        llm = ScriptedLLM(draft)
        llm.n_ctx = n_ctx
        assistant = assistant_over(settings, keyword_embedder, llm).with_settings(summary_writer=writer)
        return Summariser(assistant, length), llm

    return make


def test_a_heading_split_off_as_a_sentence_is_no_main_point():
    assert not _is_main_point_candidate("ad 2. Hervormen instituties, mobiliseren bewoners")
    assert _is_main_point_candidate("Bestuurders streven primair doelen na op het niveau van de buurt.")
    # a sentence ending in a list has no full stop, but it is long
    assert _is_main_point_candidate(
        "Er bestaan, kortom, grofweg drie strategieën voor bestuurders: 1. mengen 2. hervormen instituties"
    )
    assert not _is_main_point_candidate("Ten tweede dus.")  # too short to quote


def test_sections_are_listed_in_order_and_filtered(make):
    summariser, _ = make(COPY)
    all_sections = summariser.sections()
    assert all_sections[0] == ("gijsberts-dagevos-interventies-recensie", "Hoofdtekst")
    assert (DOC, "Inleiding") in all_sections and len(all_sections) == 9
    assert summariser.sections([DOC], ["Conclusie"]) == [(DOC, "Conclusie")]
    with pytest.raises(InputError, match="no document 'nergens'"):
        summariser.sections(["nergens"])
    with pytest.raises(InputError, match="no section named Epiloog"):
        summariser.sections([DOC], ["Epiloog"])


def test_supported_sentence_is_kept_with_a_citation_into_its_section(make):
    summariser, _ = make(COPY)
    summary = summariser.summarise_section(DOC, "Inleiding")
    assert summary.mode == "generated"
    sentence = summary.sentences[0]
    assert sentence.origin == "model" and sentence.text.startswith("Vooral veiligheid en leefbaarheid")
    assert [(r.doc, r.section) for r in sentence.sources] == [(DOC, "Inleiding")]
    assert 2 <= sentence.sources[0].start_line <= sentence.sources[0].end_line <= 57
    assert "[uitermark-duyvendak-menging §Inleiding, regels" in summary.text()


def test_unsupported_draft_falls_back_to_quoted_central_sentences(make):
    summariser, _ = make("De maan is van kaas en Mars heeft drie ringen [1].")
    summary = summariser.summarise_section(DOC, "Conclusie")
    assert summary.mode == "extractive" and summary.dropped >= 1
    assert len(summary.sentences) == 2  # short
    section_text = " ".join(c.text for c in summariser._chunks(DOC, "Conclusie"))
    for sentence in summary.sentences:
        assert sentence.origin == "quoted" and sentence.text.strip("“”") in " ".join(section_text.split())
        assert sentence.sources[0].section == "Conclusie"


def test_long_section_is_split_into_parts_that_fit_the_context(make):
    summariser, llm = make(COPY, n_ctx=700)
    summary = summariser.summarise_section(DOC, "Op zoek naar nieuwe strategieën")
    assert summary.parts > 1
    assert all(llm.count_tokens(p) <= 700 for p in llm.prompts)


def test_cache_skips_done_work_and_an_interrupted_run_resumes(make):
    summariser, llm = make(COPY)
    targets = summariser.sections([DOC])

    def stop_after_two(n, total, label, cached):
        if n == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        summariser.run(targets, stop_after_two)
    calls = len(llm.prompts)
    resumed = summariser.run(targets)
    assert [s.cached for s in resumed] == [True, True] + [False] * (len(targets) - 2)
    again = summariser.run(targets)
    assert all(s.cached for s in again) and len(llm.prompts) > calls
    before = len(llm.prompts)
    summariser.run(targets)
    assert len(llm.prompts) == before  # nothing recomputed
    other_length, _ = make(COPY, length="long")
    assert not any(s.cached for s in other_length.run(targets[:1]))  # the length is part of the key


def test_outputs_are_written_whole(make, tmp_path):
    summariser, _ = make(COPY)
    summaries = summariser.run(summariser.sections([DOC], ["Inleiding", "Conclusie"]))
    out = tmp_path / "uit"
    paths = write_outputs(summaries, out / "samenvatting.md")
    assert [p.name for p in paths] == ["samenvatting.md", "samenvatting.json", "samenvatting.html"]
    markdown = paths[0].read_text()
    assert "### Inleiding" in markdown and "### Conclusie" in markdown
    assert json.loads(paths[1].read_text())[0]["section"] == "Inleiding"
    assert "<h3>Conclusie</h3>" in paths[2].read_text()
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp files
    with pytest.raises(InputError, match="Markdown file"):
        write_outputs(summaries, out / "uit.txt")


class CopyingLLM(ScriptedLLM):
    """Summarises by copying the first sentence of each of the first three fragments, cited."""

    def __init__(self):
        super().__init__("")

    def stream(self, prompt, max_tokens, temperature, stop, cancel=None):
        import re

        self.prompts.append(prompt)
        fragments = re.findall(r"^\[(\d+)\] (.+)$", prompt.split("Samenvatting:")[-2], flags=re.M)
        for n, text in fragments[:3]:
            first = re.split(r"(?<=[.!?])\s", text.strip("“”"))[0].rstrip(".")
            yield f"{first} [{n}]. "


def test_parts_are_combined_by_a_reduce_step_whose_sentences_keep_their_sources(make):
    summariser, _ = make("")
    llm = CopyingLLM()
    llm.n_ctx = 700
    summariser.assistant._llm = llm
    summary = summariser.summarise_section(DOC, "Op zoek naar nieuwe strategieën")
    assert summary.parts > 1 and summary.mode == "generated"
    assert len(summary.sentences) == 2  # short: the reduce step cut the parts' sentences down
    assert len(llm.prompts) == summary.parts + 1  # one call per part, one to combine
    section_lines = {(c.start_line, c.end_line) for c in summariser._chunks(DOC, "Op zoek naar nieuwe strategieën")}
    for sentence in summary.sentences:
        assert sentence.origin == "model"
        assert {(r.start_line, r.end_line) for r in sentence.sources} <= section_lines


def test_quotes_writer_quotes_the_main_points_without_the_model(make):
    summariser, llm = make(COPY, length="medium", writer="quotes")
    summary = summariser.summarise_section(DOC, "Conclusie")
    assert summary.mode == "quoted" and llm.prompts == []
    assert len(summary.sentences) == 4 and all(s.origin == "quoted" for s in summary.sentences)
    section_text = " ".join(" ".join(c.text.split()) for c in summariser._chunks(DOC, "Conclusie"))
    assert all(s.text.strip("“”") in section_text for s in summary.sentences)
    starts = [section_text.index(s.text.strip("“”")) for s in summary.sentences]
    assert starts == sorted(starts)  # in the order of the section


def test_main_points_cover_every_stretch_of_the_section_rather_than_repeat_its_centre():
    # The section's first half is on its dominant theme, its second half on another, with a turn
    # between: one sentence of each half, not the section's centre twice.
    centre, other, turn = np.array([1.0, 0.0]), np.array([0.6, 0.8]), np.array([0.8, 0.6])
    first = [centre, centre * 0.99 + [0, 0.14], centre, centre]
    vectors = np.array([*first, other, other * 0.99 + [0.14, 0], turn, other])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert main_points(vectors, 2) == [0, 5]  # the most central of each half, in the section's order
    prior = np.zeros(len(vectors))
    prior[6] = 1.0  # a sentence rich in the section's key terms wins its stretch
    assert main_points(vectors, 2, prior=prior) == [0, 6]
    assert main_points(vectors[:1], 4) == [0] and main_points(vectors[:0], 4) == []


def test_a_garbled_word_is_damaged_and_a_source_or_common_word_is_not():
    source = "Politici kunnen dus menging voorstaan, ook al is er geen sprake van buurteffecten."
    assert damaged_words("Politici kunnen dus inging voorstaan [1].", source) == ["inging"]
    assert damaged_words("Politici kunnen menging dus voorstaan, zonder buurteffecten [1].", source) == []


def test_a_model_sentence_with_a_damaged_word_is_not_kept(make):
    section = "Het ontkoppelen van buurteffecten en menging"
    good, _ = make("Politici kunnen dus menging voorstaan, ook al is er geen sprake van buurteffecten [1].")
    assert good.summarise_section(DOC, section).mode == "generated"
    garbled, _ = make("Politici kunnen dus inging voorstaan, ook al is er geen sprake van buurteffecten [1].")
    summary = garbled.summarise_section(DOC, section)
    assert all("inging" not in s.text for s in summary.sentences) and summary.dropped >= 1


def test_the_cache_is_keyed_on_the_grounding_policy(make):
    summariser, _ = make(COPY)
    key = summariser.cache_key(DOC, "Conclusie")
    assert Summariser(summariser.assistant, "short").cache_key(DOC, "Conclusie") == key
    for change in ({"min_support": 0.9}, {"common_word_zipf": 3.0}, {"min_word_coverage": 0.5}):
        stricter = Summariser(summariser.assistant.with_settings(**change), "short")
        assert stricter.cache_key(DOC, "Conclusie") != key, change


def test_the_cache_is_keyed_on_the_splitting_rules(make, monkeypatch):
    """Passages of the same text cut into other sentences give other summaries: the old ones are not reused."""
    import assistant.summarise as summarise

    summariser, _ = make(COPY)
    key = summariser.cache_key(DOC, "Conclusie")
    monkeypatch.setattr(summarise, "SPLITTING_VERSION", summarise.SPLITTING_VERSION + 1)
    assert summariser.cache_key(DOC, "Conclusie") != key


def test_document_text_in_summaries_is_never_markup():
    """A section title or sentence with Markdown or HTML is shown as written in every output format."""
    from assistant.summarise import SectionSummary, SummarySentence, summary_html, to_markdown

    hostile = "Zie ![b](http://127.0.0.2:9/b.png) en [klik](http://x) <img src=x onerror=alert(1)> *vet*"
    summary = SectionSummary(
        doc="doc", title="# <b>Titel</b>", section="[Kop](http://x)", language="nl", length="short",
        mode="quoted", sentences=[SummarySentence(hostile, [], "quoted")],
    )  # fmt: skip
    markdown = to_markdown([summary])
    unescaped = [m for m in ("![b](", "[klik](", "<img") if re.search(r"(?<!\\)" + re.escape(m), markdown)]
    assert unescaped == []
    assert "!\\[b\\](" in markdown and "\\<img src=x" in markdown  # escaped, still readable
    html = summary_html([summary])
    assert "<img" not in html and "&lt;img src=x" in html and "<b>" not in html


def test_quoted_summaries_need_no_model(make_settings, keyword_embedder, corpus_copy):
    """No model writes them, so none is loaded: not even an LLM server that is down stops them."""
    settings = make_settings(corpus_dir=corpus_copy, summary_writer="quotes", llm_url="http://127.0.0.1:9/v1")
    build_index(settings, keyword_embedder)
    (summary,) = Summariser(assistant_over(settings, keyword_embedder)).run([(DOC, "Inleiding")])
    assert summary.mode == "quoted" and summary.sentences


def test_quoted_summaries_reuse_the_sentence_vectors_stored_in_the_index(make_settings, keyword_embedder, corpus_copy):
    """Bulk summarising embeds only the sentences the index has no vector for, and picks the same points."""
    settings = make_settings(corpus_dir=corpus_copy, summary_writer="quotes")
    build_index(settings, keyword_embedder)
    embedded: list[str] = []

    class Counting:
        name, fingerprint, dim = keyword_embedder.name, keyword_embedder.fingerprint, keyword_embedder.dim

        def embed_passages(self, texts):
            embedded.extend(texts)
            return keyword_embedder.embed_passages(texts)

        def embed_queries(self, texts):
            return keyword_embedder.embed_queries(texts)

    assistant = assistant_over(settings, Counting())
    stored = Summariser(assistant).summarise_section(DOC, "Conclusie")
    reused = len(embedded)
    assistant.index.units.clear()  # as if the index held no sentence vectors
    embedded.clear()
    fresh = Summariser(assistant).summarise_section(DOC, "Conclusie")
    assert [s.text for s in stored.sentences] == [s.text for s in fresh.sentences]
    assert reused < len(embedded) / 2
