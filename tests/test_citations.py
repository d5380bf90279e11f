from assistant.citations import (
    check_draft,
    numbered,
    parse_citations,
    strip_markers,
    unsupported_names,
    unsupported_numbers,
)
from assistant.settings import GroundingPolicy
from assistant.types import Chunk, Failure, Hit

# the keyword embedder's cosines are lower than e5's; no word-coverage floor here
POLICY = GroundingPolicy.defaults().model_copy(update={"min_support": 0.8, "min_word_coverage": 0.0})


def _hit(text: str, n: int = 0) -> Hit:
    chunk = Chunk(f"doc#{n}", "doc", "Kop", text, 1, 2, 0, len(text), f"h{n}")
    return Hit(chunk=chunk, score=1.0, dense_score=0.9)


def test_markers_after_sentence_after_stop_at_line_start_and_alone():
    draft = "De huur daalt van 65 naar 42 [2]. Koop stijgt [1, 3].\n[4] Er is weinig onderzoek.\nDat klopt. [2][5]"
    parsed = parse_citations(draft)
    assert [(s.text, s.cited) for s in parsed] == [
        ("De huur daalt van 65 naar 42.", (2,)),
        ("Koop stijgt.", (1, 3)),
        ("Er is weinig onderzoek.", (4,)),
        ("Dat klopt.", (2, 5)),
    ]


def test_marker_ranges_expand():
    assert parse_citations("Twee bronnen zeggen dit [1-3].")[0].cited == (1, 2, 3)


def test_strip_markers_leaves_clean_text():
    assert strip_markers("Zo is het [1] , zegt men [2].") == "Zo is het, zegt men."


def test_numbers_and_names_must_occur_in_the_source():
    source = "In 1997 werd voorgesteld de sociale huur te verlagen van 65 naar 42 (Musterd, 2000)."
    assert unsupported_numbers("De huur ging van 65 naar 42 in 1997.", source) == []
    assert unsupported_numbers("De huur ging van 65 naar 40.", source) == ["40"]
    assert unsupported_names("Volgens Musterd ging de huur omlaag.", source) == []
    assert unsupported_names("Volgens Verdonk ging de huur omlaag.", source) == ["Verdonk"]


def test_check_keeps_supported_repairs_missing_and_rejects_invented(keyword_embedder):
    hits = [
        _hit("Bestuurders kunnen welgestelde groepen aantrekken om de wijk te mengen.", 0),
        _hit("In 1997 moest de sociale huur dalen van 65 naar 42 procent.", 1),
    ]
    draft = parse_citations(
        "Bestuurders kunnen welgestelde groepen aantrekken om de wijk te mengen [1]. "
        "In 1997 moest de sociale huur dalen van 65 naar 42 procent. "
        "In 1997 moest de sociale huur dalen van 65 naar 30 procent [2]. "
        "Groepen mengen de wijk en de sociale huur moest dalen [7]. "
        "Dit is een onaf"
    )
    checks, _ = check_draft(draft, numbered(hits), keyword_embedder, POLICY)
    verdicts = [(c.supported, c.cited) for c in checks]
    assert verdicts[0] == (True, (1,))
    assert verdicts[1] == (True, (2,)) and "repaired" in checks[1].reason
    assert verdicts[2][0] is False and "30" in checks[2].reason and checks[2].failure is Failure.NOT_IN_SOURCE
    assert verdicts[3] == (False, ()) and checks[3].failure is Failure.UNSUPPORTED  # [7] does not exist
    assert verdicts[4][0] is False and checks[4].failure is Failure.UNFINISHED


def test_a_sentence_failing_a_word_check_is_not_embedded(keyword_embedder):
    hits = [_hit("Bestuurders kunnen welgestelde groepen aantrekken om de wijk te mengen.", 0)]
    supported = "Bestuurders kunnen welgestelde groepen aantrekken om de wijk te mengen [1]."
    invented = "De hoofdstad van Frankrijk is Parijs [1]."
    checks, _ = check_draft(parse_citations(f"{supported} {invented}"), numbered(hits), keyword_embedder, POLICY)
    assert [c.supported for c in checks] == [True, False]
    assert checks[1].failure is Failure.NOT_IN_SOURCE and "Parijs" in checks[1].reason
    # one call: the supported sentence and the passage's sentence, not the invented one
    assert (keyword_embedder.calls, keyword_embedder.embedded) == (1, 2)


def test_the_callers_screen_runs_after_the_word_checks_and_before_support(keyword_embedder):
    hits = [_hit("Bestuurders kunnen welgestelde groepen aantrekken om de wijk te mengen.", 0)]
    kept = "Bestuurders kunnen welgestelde groepen aantrekken om de wijk te mengen [1]."
    screened = "Bestuurders kunnen de wijk mengen [1]."
    invented = "De hoofdstad van Frankrijk is Parijs [1]."
    seen: list[str] = []

    def screen(text: str):
        seen.append(text)
        return (Failure.NOT_RESPONSIVE, "test") if text.startswith("Bestuurders kunnen de") else None

    draft = parse_citations(f"{kept} {screened} {invented}")
    checks, _ = check_draft(draft, numbered(hits), keyword_embedder, POLICY, screen=screen)
    assert [c.failure for c in checks] == [None, Failure.NOT_RESPONSIVE, Failure.NOT_IN_SOURCE]
    assert checks[1].reason == f"{Failure.NOT_RESPONSIVE.value}: test"
    assert seen == [draft[0].text, draft[1].text]  # not the sentence the word checks rejected
    assert keyword_embedder.embedded == 2  # the kept sentence and the passage's sentence


def test_repeated_sentences_count_once(keyword_embedder):
    hits = [_hit("Gemengd bouwen wordt al sinds 1990 gevoerd in Nederland.")]
    sentence = "Gemengd bouwen wordt al sinds 1990 gevoerd in Nederland [1]. "
    checks, _ = check_draft(parse_citations(sentence * 3), numbered(hits), keyword_embedder, POLICY)
    assert [c.supported for c in checks] == [True, False, False]


def test_garbled_copies_are_flagged_but_inflections_and_other_words_are_not():
    from assistant.citations import garbled_words

    source = "Het kabinet ziet segregatie als een sta-in-de-weg in het integratieproces van geselecteerde wijken."
    assert garbled_words("Segregatie staat in de weg van het integratieprope.", source) == ["integratieprope"]
    assert garbled_words("In geselecteerd gebied en het integratieproces.", source) == []
    assert garbled_words("Woningcorporaties verkopen huurwoningen.", source) == []


def test_number_words_and_ordinals_count_as_numbers():
    source = "Ten slotte bestaat er een derde optie voor bestuurders. Er zijn 3 strategieën sinds 1997."
    assert unsupported_numbers("De eerste optie is accepteren.", source) == ["eerste"]
    assert unsupported_numbers("De derde optie is accepteren.", source) == []
    assert unsupported_numbers("Er zijn drie strategieën.", source) == []  # "3" in the source
    assert unsupported_numbers("Er zijn vier strategieën.", source) == ["vier"]
    assert unsupported_numbers("De 3e optie.", source) == []


def test_word_coverage_tells_a_paraphrase_from_a_sentence_that_is_only_on_topic():
    from assistant.citations import word_coverage

    source = "Het geld dat nu aan herstructurering opgaat, zou veel beter kunnen worden ingezet voor onderwijs."
    assert word_coverage("Het geld voor herstructurering kan beter naar onderwijs.", source) == 1.0
    assert word_coverage("Het onderwijs heeft een belangrijke rol gespeeld in de wijk.", source) < 0.5


def test_inflected_names_count_as_occurring():
    source = "Programma’s als Mensen maken de Stad in Rotterdam brengen straatbewoners in contact."
    assert unsupported_names("Het Rotterdamse programma Mensen maken de Stad werkt.", source) == []
    assert unsupported_names("Het Utrechtse programma Mensen maken de Stad werkt.", source) == ["Utrechtse"]
