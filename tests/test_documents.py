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


_FULL = "Dit is een gewone regel tekst van ongeveer de lengte die elke regel in het bestand heeft"


def _sentences(raw: str) -> list[str]:
    from assistant.chunking import split_sentences

    section = clean_sections(raw)[0]
    return [s.text for s in split_sentences(section.text, section.breaks)]


def test_a_short_line_without_a_full_stop_ends_its_sentence_before_a_capital():
    raw = (
        f"{_FULL}\n{_FULL} en het\nbevorderen van de leefbaarheid inhouden (Reijndorp, 1996, p. 7)\n\n"
        f"Bestuurders streven primair doelen na.\n{_FULL}.\n"
    )
    sentences = _sentences(raw)
    assert sentences[0].endswith("(Reijndorp, 1996, p. 7)")
    assert sentences[1] == "Bestuurders streven primair doelen na."


def test_a_sentence_running_over_a_page_break_is_not_cut():
    # The page's last line is a full line; that the next page starts with a name does not end the sentence.
    raw = f"{_FULL}\n{_FULL} zoals\n\n 5 \n\nGijsberts en Dagevos laten zien.\n{_FULL}.\n"
    assert any("zoals Gijsberts en Dagevos laten zien." in s for s in _sentences(raw))


def test_a_numbered_list_is_not_cut_between_its_items():
    raw = (
        f"{_FULL}.\n{_FULL}.\nEr bestaan drie strategieën:\n1. mengen\n2. hervormen instituties\n"
        f"3. accepteren gevolgen\nIn het volgende lichten we ze toe.\n{_FULL}.\n{_FULL}.\n"
    )
    section = clean_sections(raw)[0]
    assert [section.text[b:][:13] for b in section.breaks] == ["In het volgen"]  # only where the list ends


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
    (tmp_path / "rapport.odt").write_bytes(b"PK\x03\x04")
    (tmp_path / "leeg.md").write_text("   \n", encoding="utf-8")
    documents, skipped = load_corpus(tmp_path)
    assert [d.doc_id for d in documents] == ["goed"]
    reasons = {s.path.name: s.reason for s in skipped}
    assert "not UTF-8" in reasons["latin1.txt"]
    assert "binary" in reasons["plaatje.txt"]
    assert "not a readable PDF" in reasons["rapport.pdf"]
    assert "unsupported" in reasons["rapport.odt"]
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


@pytest.mark.parametrize(
    "meta, message",
    [
        ("[]", "malformed metadata, the file: Input should be a valid dictionary"),
        ('"x"', "malformed metadata, the file: Input should be a valid dictionary"),
        ('{"authors": 5}', "malformed metadata, authors: Input should be a valid list"),
        ('{"authors": "Jan"}', "malformed metadata, authors: Input should be a valid list"),  # not J, a, n
        ('{"year": "twee"}', "malformed metadata, year: Input should be a valid integer"),
        ('{"language": "de"}', "malformed metadata, language: Input should be 'nl' or 'en'"),
        ("{niet json", "unreadable metadata"),
    ],
)
def test_malformed_metadata_skips_the_document_with_one_reason(tmp_path, meta, message):
    (tmp_path / "tekst.txt").write_text("Kop\nDe huur daalt in de wijk.\n", encoding="utf-8")
    (tmp_path / "tekst.meta.json").write_text(meta, encoding="utf-8")
    (tmp_path / "goed.txt").write_text("Kop\nDe wijk wordt gemengd.\n", encoding="utf-8")
    documents, skipped = load_corpus(tmp_path)
    assert [d.doc_id for d in documents] == ["goed"]  # the rest of the folder is indexed
    assert len(skipped) == 1 and message in skipped[0].reason


def test_hidden_folders_outside_links_loops_and_deep_nesting(tmp_path):
    corpus, outside = tmp_path / "corpus", tmp_path / "elders"
    corpus.mkdir()
    outside.mkdir()
    (outside / "geheim.txt").write_text("Kop\nGeheime tekst van buiten de map.\n", encoding="utf-8")
    (corpus / "gewoon.txt").write_text("Kop\nDe wijk wordt gemengd.\n", encoding="utf-8")
    (corpus / ".git").mkdir()
    (corpus / ".git" / "notities.txt").write_text("Kop\nInterne notitie.\n", encoding="utf-8")
    (corpus / "link-naar-buiten.txt").symlink_to(outside / "geheim.txt")
    (corpus / "lus").symlink_to(corpus, target_is_directory=True)
    (corpus / "kopie.txt").symlink_to(corpus / "gewoon.txt")  # inside the folder: a name like any other
    levels = [corpus]
    for _ in range(1100):  # one level at a time: pathlib's own mkdir(parents=True) recurses
        levels.append(levels[-1] / "d")
        levels[-1].mkdir()
    (levels[-1] / "diep.txt").write_text("Kop\nHeel diep verstopt.\n", encoding="utf-8")
    try:
        documents, skipped = load_corpus(corpus)
    finally:  # pytest's own clean-up (shutil.rmtree) recurses, and would fail on this tree
        (levels[-1] / "diep.txt").unlink()
        for level in reversed(levels[1:]):
            level.rmdir()
    assert sorted(d.doc_id for d in documents) == ["diep", "gewoon", "kopie"]
    reasons = {p.name: r for p, r in ((s.path, s.reason) for s in skipped)}
    assert "outside the folder" in reasons["link-naar-buiten.txt"] and "outside the folder" in reasons["lus"]
    assert "notities" not in str(skipped)  # hidden folders are not even listed


def test_a_huge_line_of_word_characters_is_cleaned_in_linear_time(tmp_path):
    import signal

    def too_slow(*_):
        raise TimeoutError("cleaning took over 20 s: quadratic again")

    signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(20)  # linear: milliseconds; the old regex took minutes on this input
    try:
        sections = clean_sections("Kop\n" + "a" * 200_000 + "-\nvervolg van de tekst\n")
    finally:
        signal.alarm(0)
    assert sections and "vervolg" in sections[0].text
    assert clean_sections("Kop\nDe ingre-\npen in de wijk.\n")[0].text.endswith("ingrepen in de wijk.")
    # a line holding only the split word
    assert (
        clean_sections("Kop\nDe\ningre-\npen in de wijk.\n")[0].text == "De ingrepen in de wijk."
    )  # a line of one word


def test_a_file_over_the_size_limit_is_skipped(tmp_path, monkeypatch):
    import assistant.documents as documents

    monkeypatch.setattr(documents, "MAX_FILE_BYTES", 1000)
    (tmp_path / "groot.txt").write_text("Kop\n" + "woord " * 500, encoding="utf-8")
    (tmp_path / "klein.txt").write_text("Kop\nDe wijk.\n", encoding="utf-8")
    found, skipped = load_corpus(tmp_path)
    assert [d.doc_id for d in found] == ["klein"] and "bytes, over the limit of 1,000, skipped" in skipped[0].reason


def test_a_document_without_a_stated_language_is_read_in_the_language_it_is_written_in(tmp_path):
    english = "Mixed neighbourhoods are said to help residents find work through their neighbours. " * 3
    dutch = "Gemengde wijken zouden bewoners helpen werk te vinden via hun buren en kennissen. " * 3
    (tmp_path / "english.txt").write_text(f"Work\n{english}\n", encoding="utf-8")
    (tmp_path / "dutch.txt").write_text(f"Werk\n{dutch}\n", encoding="utf-8")
    (tmp_path / "stated.txt").write_text(f"Work\n{english}\n", encoding="utf-8")
    (tmp_path / "stated.meta.json").write_text('{"language": "nl"}', encoding="utf-8")  # what it says wins
    (tmp_path / "titled.txt").write_text(f"Work\n{english}\n", encoding="utf-8")
    (tmp_path / "titled.meta.json").write_text('{"title": "Werk"}', encoding="utf-8")  # no language given
    documents, _ = load_corpus(tmp_path)
    languages = {d.doc_id: d.meta.language for d in documents}
    assert languages == {"english": "en", "dutch": "nl", "stated": "nl", "titled": "en"}
