"""Direct tests of prompt building, settings precedence and each retrieval mode (issue 15 asked for them)."""

import pytest

from assistant.errors import BronError
from assistant.indexing import build_index, identity_for
from assistant.prompting import build_answer_prompt
from assistant.retrieval import retrieve_hybrid
from assistant.store import load_index
from assistant.types import Chunk, Hit
from tests.fakes import assistant_over


def _hit(n: int, text: str) -> Hit:
    return Hit(chunk=Chunk(f"d#{n}", "d", "Kop", text, n, n, 0, len(text), f"h{n}"), score=1.0 / n)


def test_the_prompt_numbers_the_passages_and_drops_the_lowest_ranked_to_fit():
    hits = [_hit(1, "De huur daalde van 65 naar 42."), _hit(2, "Rotterdam telt veel wijken. " * 30)]
    words = lambda text: len(text.split())  # noqa: E731
    prompt, kept = build_answer_prompt("Hoe daalde de huur?", hits, "nl", words, budget=10_000)
    assert kept == hits and "[1] De huur daalde van 65 naar 42." in prompt and "Hoe daalde de huur?" in prompt
    small, kept = build_answer_prompt("Hoe daalde de huur?", hits, "nl", words, budget=words(prompt) - 50)
    assert kept == hits[:1] and "Rotterdam" not in small
    with pytest.raises(BronError, match="the prompt needs"):
        build_answer_prompt("Hoe daalde de huur?", hits[:1], "nl", words, budget=5)


def test_settings_precedence_preset_then_file_then_environment_then_option(monkeypatch, tmp_path):
    from assistant.errors import InputError
    from assistant.settings import load_settings

    assert load_settings("test").llm == "gemma3-270m" and load_settings("test").n_threads == 1  # the preset
    config = tmp_path / "bron.toml"
    config.write_text('n_threads = 4\ntop_k = 3\ncorpus_dir = "teksten"\n', encoding="utf-8")
    from_file = load_settings("test", config)
    assert from_file.n_threads == 4 and from_file.top_k == 3  # the file over the preset
    assert from_file.corpus_dir == tmp_path / "teksten"  # a relative folder is the file's
    monkeypatch.setenv("BRON_N_THREADS", "2")
    assert load_settings("test", config).n_threads == 2  # the environment over the file
    assert load_settings("test", config).top_k == 3
    assert load_settings("test", config, n_threads=3).n_threads == 3  # an option over everything
    config.write_text("top_kk = 3\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown setting top_kk"):
        load_settings("test", config)
    config.write_text("top_k = \n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid TOML"):
        load_settings("test", config)
    config.write_text("top_k = 99\n", encoding="utf-8")
    with pytest.raises(InputError, match="invalid setting top_k=99"):
        load_settings("test", config)
    with pytest.raises(InputError, match="cannot read settings file"):
        load_settings("test", tmp_path / "missing.toml")


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_retrieval_mode_finds_the_passage_with_the_question_words(mode, make_settings, keyword_embedder):
    settings = make_settings()
    build_index(settings, keyword_embedder)
    index = load_index(settings.index_path, identity_for(settings, keyword_embedder))
    question = "herstructureringsbeleid 1997 sociale huur verlaagd"
    hits = retrieve_hybrid(index, keyword_embedder, question, 3, 20, mode=mode)
    assert len(hits) == 3 and "herstructureringsbeleid" in hits[0].chunk.text
    if mode == "dense":
        assert all(h.bm25_rank is None for h in hits)
    if mode == "bm25":
        assert all(h.dense_rank is None for h in hits) and hits[0].bm25_score > 0
    assert all(h.dense_score is not None for h in hits)  # the relevance gate needs a cosine for every hit


def test_bm25_searches_the_lexical_query_and_an_empty_one_leaves_it_out(make_settings, keyword_embedder):
    settings = make_settings()
    build_index(settings, keyword_embedder)
    index = load_index(settings.index_path, identity_for(settings, keyword_embedder))
    question = "herstructureringsbeleid 1997 sociale huur verlaagd"
    hits = retrieve_hybrid(index, keyword_embedder, question, 3, 20, lexical_query="")
    assert hits and all(h.bm25_rank is None for h in hits) and all(h.dense_rank for h in hits)
    hits = retrieve_hybrid(index, keyword_embedder, question, 3, 20, mode="bm25", lexical_query="Musterd")
    assert hits and all("Musterd" in h.chunk.text for h in hits)


def test_an_english_document_without_metadata_is_searched_in_english(make_settings, keyword_embedder, tmp_path):
    corpus = tmp_path / "english"
    corpus.mkdir()
    text = "Mixed neighbourhoods are said to help residents find work through the contacts of their neighbours."
    (corpus / "report.txt").write_text(f"Work\n{text} {text}\n", encoding="utf-8")
    settings = make_settings(corpus_dir=corpus)
    build_index(settings, keyword_embedder)
    assistant = assistant_over(settings, keyword_embedder)
    question = "How do mixed neighbourhoods help residents find work?"
    assert assistant.index.manifest.documents["report"].language == "en"
    assert assistant.lexical_query(question, "en") == question  # all its words, not only names and numbers
