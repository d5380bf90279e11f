from pathlib import Path

import pytest

from assistant.documents import clean_sections, join_hyphenated, load_corpus, load_document
from assistant.errors import DocumentError

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def test_split_word_is_joined_and_real_hyphen_kept():
    vocabulary = {"sociaal-economische"}
    assert join_hyphenated("ingre", "pen", vocabulary) == "ingrepen"
    assert join_hyphenated("sociaal", "economische", vocabulary) == "sociaal-economische"
    assert join_hyphenated("Noord", "Holland", set()) == "Noord-Holland"


def test_cleaning_joins_lines_drops_page_numbers_and_finds_headings():
    raw = (
        " Inleiding \n"
        "Het kabinet wil ingre-\n"
        "pen doen in de wijk.\n"
        "\n"
        " 5 \n"
        "\n"
        "Dat is sociaal-economisch zinvol, zegt men.\n"
        " \n"
        "Conclusie \n"
        "Er zijn sociaal-\n"
        "economische gevolgen.\n"
    )
    sections = clean_sections(raw)
    assert [s.title for s in sections] == ["Inleiding", "Conclusie"]
    assert sections[0].text == "Het kabinet wil ingrepen doen in de wijk. Dat is sociaal-economisch zinvol, zegt men."
    assert sections[1].text == "Er zijn sociaal-economische gevolgen."
    # character offsets map back to the original line numbers
    first = sections[0]
    assert first.line_at(first.text.index("ingrepen")) == 2
    assert first.line_at(first.text.index("Dat is")) == 7
    assert sections[1].line_at(sections[1].text.index("gevolgen")) == 11


def test_sentence_starting_line_after_blank_is_not_a_heading():
    raw = "Eerste zin loopt door\n\nintegratie van allochtonen. Daarbij kan\nveel.\n"
    sections = clean_sections(raw)
    assert len(sections) == 1
    assert "door integratie van allochtonen" in sections[0].text


def test_bundled_article_has_its_sections_and_line_ranges():
    doc = load_document(CORPUS / "uitermark-duyvendak-menging.txt")
    titles = [s.title for s in doc.sections]
    assert titles == [
        "Inleiding",
        "Buurteffecten",
        "Leefbaarheid en bestuurbaarheid",
        "Het ontkoppelen van buurteffecten en menging",
        "Op zoek naar nieuwe strategieën",
        "Conclusie",
        "Noot",
        "Dankbetuiging",
    ]
    conclusion = doc.sections[5]
    assert conclusion.line_starts[0][1] == 435
    assert doc.meta.authors == ("Justus Uitermark", "Jan Willem Duyvendak")
    assert "ingrepen" in load_document(CORPUS / "gijsberts-dagevos-interventies-recensie.txt").sections[0].text


def test_unusable_files_are_skipped_with_a_reason(tmp_path):
    (tmp_path / "goed.txt").write_text("Dit is een gewone tekst over wijken.\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 in de wijk".encode("latin-1"))
    (tmp_path / "plaatje.txt").write_bytes(b"\x89PNG\x00\x00\x01")
    (tmp_path / "rapport.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "leeg.md").write_text("   \n", encoding="utf-8")
    documents, skipped = load_corpus(tmp_path)
    assert [d.doc_id for d in documents] == ["goed"]
    reasons = {s.path.name: s.reason for s in skipped}
    assert "not UTF-8" in reasons["latin1.txt"]
    assert "binary" in reasons["plaatje.txt"]
    assert "unsupported" in reasons["rapport.pdf"]
    assert "no text" in reasons["leeg.md"]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DocumentError, match="no such folder"):
        load_corpus(tmp_path / "nergens")


def test_markdown_headings_become_sections(tmp_path):
    path = tmp_path / "notitie.md"
    path.write_text("# Doel\nWe willen wijken mengen.\n\n## Aanpak\nWe bouwen koopwoningen.\n", encoding="utf-8")
    doc = load_document(path)
    assert [(s.title, s.text) for s in doc.sections] == [
        ("Doel", "We willen wijken mengen."),
        ("Aanpak", "We bouwen koopwoningen."),
    ]
