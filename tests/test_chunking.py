from assistant.chunking import chunk_section, split_sentences
from assistant.documents import clean_sections


def test_dutch_abbreviations_citations_and_initials_do_not_end_sentences():
    text = (
        "Zie Sampson e.a., 2002 voor een overzicht. Dit is zo (Bolt, 2004; Musterd & Ostendorf, 2003a). "
        "Prof. dr. Jan Willem Duyvendak is hoogleraar. Zelfs M. Trappenburg (2003, p. 317) stelt dit. "
        "Dit geldt bijv. voor Rotterdam, e.g. Delfshaven. Wie heeft gelijk?"
    )
    assert [s.text for s in split_sentences(text)] == [
        "Zie Sampson e.a., 2002 voor een overzicht.",
        "Dit is zo (Bolt, 2004; Musterd & Ostendorf, 2003a).",
        "Prof. dr. Jan Willem Duyvendak is hoogleraar.",
        "Zelfs M. Trappenburg (2003, p. 317) stelt dit.",
        "Dit geldt bijv. voor Rotterdam, e.g. Delfshaven.",
        "Wie heeft gelijk?",
    ]


def test_a_contact_line_ends_at_its_address_but_an_address_inside_a_sentence_does_not_end_it():
    text = (
        "Hij doet promotieonderzoek. Correspondentie: E-mail: j.l.Uitermark@uva.nl; Prof. dr. Jan Willem "
        "Duyvendak is hoogleraar. Meer op www.scp.nl Het rapport verscheen in 2004. "
        "Schrijf naar info@scp.nl of bel ons. Zie https://www.scp.nl/rapport voor de tabellen."
    )
    assert [s.text for s in split_sentences(text)] == [
        "Hij doet promotieonderzoek.",
        "Correspondentie: E-mail: j.l.Uitermark@uva.nl;",
        "Prof. dr. Jan Willem Duyvendak is hoogleraar.",
        "Meer op www.scp.nl",
        "Het rapport verscheen in 2004.",
        "Schrijf naar info@scp.nl of bel ons.",
        "Zie https://www.scp.nl/rapport voor de tabellen.",
    ]
    for s in split_sentences(text):
        assert text[s.start : s.end] == s.text


def test_sentence_offsets_point_into_the_text():
    text = "Eerste zin.  Tweede zin!"
    for s in split_sentences(text):
        assert text[s.start : s.end] == s.text


def _section(lines):
    return clean_sections(" Kop \n" + "\n".join(lines) + "\n")[0]


def test_chunks_hold_whole_sentences_with_overlap_and_line_ranges():
    lines = [f"Zin nummer {i} gaat over wijk {i} en menging." for i in range(1, 11)]
    section = _section(lines)
    chunks = chunk_section("doc", section, 0, target_chars=100, overlap=1)
    assert len(chunks) > 2
    for chunk in chunks:
        assert chunk.text.endswith(".")
        assert section.text[chunk.start_char : chunk.end_char] == chunk.text
        assert chunk.section == "Kop"
    # neighbours share one sentence
    assert chunks[0].text.split(". ")[-1].rstrip(".") in chunks[1].text
    # line 2 of the file holds sentence 1; line 11 holds sentence 10
    assert chunks[0].start_line == 2
    assert chunks[-1].end_line == 11


def test_a_sentence_longer_than_the_target_is_cut_into_pieces_of_at_most_the_target():
    section = _section(["Kort.", "Een heel lange zin " + "met veel woorden " * 20 + "eindigt hier.", "Kort weer."])
    chunks = chunk_section("doc", section, 0, target_chars=50, overlap=0)
    assert chunks[0].text.startswith("Kort. Een heel lange zin")  # the pieces fill passages like sentences
    assert chunks[-1].text.endswith("Kort weer.") and all(len(c.text) <= 50 for c in chunks)
    assert " ".join(c.text for c in chunks) == section.text  # cut at spaces, nothing lost
