"""Evidence selection: answer types, names, continuations and duplicates (known answers)."""

import pytest

from assistant.evidence import (
    AnswerType,
    answer_type,
    candidate_units,
    corpus_vocabulary,
    has_answer_type,
    missing_names,
    pinning_names,
    question_focus,
    question_names,
    select_evidence,
)
from assistant.settings import GroundingPolicy
from assistant.types import Chunk, Hit


def _hit(text: str, n: int = 0) -> Hit:
    return Hit(Chunk(f"d#0.{n}", "d", "Sectie", text, 1, 2, 0, len(text), "h"), 1.0, 0.9)


@pytest.mark.parametrize(
    "question, kind",
    [
        ("Sinds wanneer wordt gemengd gebouwd?", AnswerType.YEAR),
        ("In welk jaar werd de deelgemeente opgericht?", AnswerType.YEAR),
        ("In what year did the policy start?", AnswerType.YEAR),
        ("Hoeveel inwoners heeft Rotterdam?", AnswerType.NUMBER),
        ("Hoeveel sociale huurwoningen zijn er gesloopt?", AnswerType.NUMBER),
        ("Hoe groot is de middenklasse in de wijk?", AnswerType.NUMBER),
        ("Hoe oud is Jan Willem Duyvendak?", AnswerType.NUMBER),
        ("By how much did the policy want to reduce social housing?", AnswerType.NUMBER),
        ("Hoe hoog is de woonsubsidie per maand?", AnswerType.NUMBER),
        # A percentage, asked for as such, needs a share: a count will not do.
        ("Welk percentage van de bewoners is van allochtone afkomst?", AnswerType.SHARE),
        ("Hoeveel procent koopwoningen moesten de wijken krijgen?", AnswerType.SHARE),
        ("What percentage of Rotterdam's population is of immigrant origin?", AnswerType.SHARE),
        ("Wie schreef over draconische maatregelen?", AnswerType.PERSON),
        # A body or a study is answered by its name ("de Rekenkamer", "Wittebrood en Van der Wouden").
        ("Welke instantie bevestigt dat de pogingen niets hebben opgeleverd?", AnswerType.PERSON),
        ("Welke instelling deed onderzoek naar interventies?", AnswerType.PERSON),
        ("Welke studie toont aan dat de kans op slachtofferschap groter is?", AnswerType.PERSON),
        ("Which body confirmed that the attempts achieved nothing?", AnswerType.PERSON),
        # A question asking for money needs a sum, not any figure.
        ("Hoeveel geld is er uitgegeven aan herstructurering?", AnswerType.MONEY),
        ("Hoeveel kostte het onderzoek?", AnswerType.MONEY),
        ("Wat kostte de sloop van die woningen?", AnswerType.MONEY),
        ("How much did the restructuring cost?", AnswerType.MONEY),
        # Conditions, descriptions and amounts in words are not typed answers.
        ("Wanneer is een aanpak van de woningvoorraad geboden?", AnswerType.ANY),
        ("Wie is Dominic Schrijer?", AnswerType.ANY),
        ("Hoeveel aandacht besteedde de commissie aan welzijnswerk?", AnswerType.ANY),
        ("Op wie heeft een gemengde buurt een positief effect?", AnswerType.ANY),
    ],
)
def test_answer_type_of_a_question(question, kind):
    assert answer_type(question) is kind


def test_every_answer_type_has_its_abstention_message_in_both_languages():
    from assistant.prompting import NO_FIGURE

    typed = {kind.value for kind in AnswerType if kind is not AnswerType.ANY}
    assert {language: set(messages) for language, messages in NO_FIGURE.items()} == {"nl": typed, "en": typed}


def test_a_literature_reference_is_not_a_figure():
    assert not has_answer_type("Dat blijkt uit onderzoek (Bolt, 2004; Musterd e.a., 2003a).", AnswerType.NUMBER)
    assert not has_answer_type("Zo staat het in het rapport (Blok, 2004, p. 409).", AnswerType.NUMBER)
    assert has_answer_type("Het percentage moest dalen van 65 naar 42.", AnswerType.NUMBER)
    assert has_answer_type("Er bestaan drie strategieën.", AnswerType.NUMBER)
    assert has_answer_type("Dit beleid wordt al sinds 1990 gevoerd.", AnswerType.YEAR)
    assert not has_answer_type("Dit beleid wordt al lang gevoerd.", AnswerType.YEAR)
    # A decade or century written out is a time, "jaar en dag" is not.
    assert has_answer_type("Dat wordt sinds halverwege de jaren negentig gezien als een sine qua non.", AnswerType.YEAR)
    assert has_answer_type("In de jaren '80 en in de negentiende eeuw.", AnswerType.YEAR)
    assert not has_answer_type("Wetenschappers betogen dat al sinds jaar en dag.", AnswerType.YEAR)
    # A percentage is not a sum of money.
    assert not has_answer_type("De sociale huur moet worden verlaagd van 65 naar 42 procent.", AnswerType.MONEY)
    assert has_answer_type("Er is 3,2 miljard euro voor uitgetrokken.", AnswerType.MONEY)
    assert has_answer_type("Het kostte € 300.", AnswerType.MONEY)
    # Ordinals are not figures; a fraction of something is.
    assert not has_answer_type("Ten derde moet het geld niet geoormerkt zijn.", AnswerType.NUMBER)
    assert has_answer_type("Een derde van de woningen wordt gesloopt.", AnswerType.NUMBER)


def test_footnote_marks_and_list_numbers_are_not_figures():
    assert not has_answer_type("We kiezen voor de term multiculturalisering2 van buurten.", AnswerType.NUMBER)
    assert not has_answer_type("3 We kiezen bewust voor de term multiculturalisering.", AnswerType.NUMBER)
    majority = "De meerderheid van de bewoners heeft binnenkort een allochtone afkomst. ad 3. Accepteren gevolgen."
    assert not has_answer_type(majority, AnswerType.NUMBER)
    assert not has_answer_type(majority, AnswerType.SHARE)
    assert has_answer_type("Er werden ruim 30 Rotterdamse wijken geherstructureerd.", AnswerType.NUMBER)


def test_a_share_is_a_percentage_or_a_fraction():
    assert has_answer_type("Het percentage sociale huur moest worden verlaagd van 65 naar 42.", AnswerType.SHARE)
    assert has_answer_type("In die wijken is 38% koopwoning.", AnswerType.SHARE)
    assert has_answer_type("De helft van de bewoners verhuisde.", AnswerType.SHARE)
    assert not has_answer_type("In 1997 werden 1200 woningen gesloopt.", AnswerType.SHARE)


def test_a_reference_year_answers_only_a_question_about_publication():
    sentence = "Recentelijk heeft Dominic Schrijer (2003), bestuurder van Charlois, dit uitgedragen."
    assert not has_answer_type(sentence, AnswerType.YEAR)  # when did he become one? not said
    assert has_answer_type(sentence, AnswerType.YEAR, references=True)


@pytest.mark.parametrize(
    "question, focus",
    [
        ("Wat is het e-mailadres van Jan Willem Duyvendak?", "e-mailadres"),
        ("Welke opleiding volgde hij?", "opleiding"),
        ("Aan welke universiteit is zij verbonden?", "universiteit"),
        ("In welke Amerikaanse steden worden woonvouchers gebruikt?", "steden"),
        # Category nouns name the kind of answer; the text need not use them.
        ("Welke alledaagse maatregelen noemen de auteurs?", ""),
        ("Welke drie kritische punten heeft de recensent?", ""),
        ("Tot welk percentage moest de sociale huur omlaag?", ""),
        ("Welke groep is geïnteresseerd in de koopwoningen?", ""),  # "de allochtone middenklasse"
        ("Waarom leiden mengingsmaatregelen niet tot minder segregatie?", ""),
        ("Op welke terreinen zou geïnvesteerd kunnen worden?", ""),  # "onderwijs of criminaliteitsbestrijding"
        ("In welke sector werkte hij?", ""),
        # "Gebied" may be a place the question asks about, so the text has to name one.
        ("In welk gebied wordt het meest gesloopt?", "gebied"),
        # A noun ending in -e is no adjective when a verb or a preposition follows it.
        ("Welke methode gebruikten Gijsberts en Dagevos?", "methode"),
        ("Welke periode beschrijft het artikel?", "periode"),
        ("Wat is de derde optie voor bestuurders?", ""),
        ("Wat is de meest pregnante conclusie uit het overzicht?", "conclusie"),
        # ... nor when a separable verb's particle and a clause follow it.
        ("Welke analyse toont aan dat de kans groter is?", "analyse"),
        ("Welke studie toont aan dat de kans groter is?", ""),  # a study is named by its authors
        ("Hoeveel sociale huurwoningen zijn er gesloopt?", "huurwoningen"),
    ],
)
def test_what_a_dutch_question_asks_about(question, focus):
    assert question_focus(question, "nl") == focus
    assert question_focus(question, "en") == ""  # English words are translations of the text's


@pytest.mark.slow
def test_abstention_signals_from_real_evidence(real_embedder):
    embedder = real_embedder
    passages = [
        _hit(
            "De door Stichting de Wijk opgerichte buurtpanels hebben als bedoeling supra-etnische identiteiten te "
            "ontwikkelen. Justus Uitermark is verbonden aan de Universiteit van Amsterdam.",
            0,
        ),
        _hit(
            "In 1997 werd het herstructureringsbeleid voorgesteld: het percentage sociale huur moest van 65 naar 42.", 1
        ),
    ]
    ask = lambda q: select_evidence(q, passages, embedder, "nl")  # noqa: E731
    # Numbers in an unrelated sentence do not give the number of panels.
    assert not ask("Hoeveel buurtpanels heeft Stichting de Wijk opgericht?").type_found
    assert ask("Tot welk percentage moest de sociale huur dalen?").type_found
    assert ask("Wat is het telefoonnummer van Justus Uitermark?").missing_focus == "telefoonnummer"
    assert ask("Aan welke universiteit is Justus Uitermark verbonden?").missing_focus == ""
    # "methodologische" begins like "methode" but is another word.
    methods = [_hit("Aan het evaluatieonderzoek zitten veel methodologische haken en ogen.", 0)]
    assert select_evidence("Welke methode gebruikten de onderzoekers?", methods, embedder, "nl").missing_focus == (
        "methode"
    )
    # A question asking for a name need not find its kind of name in the text: the name itself is asked for.
    audit = [
        _hit(
            "Onderzoek van de Rekenkamer bevestigt dat de vele pogingen om segregatie te verminderen niets opleverden."
        )
    ]
    chosen = select_evidence("Welke instantie bevestigt dat de pogingen niets opleverden?", audit, embedder, "nl")
    assert chosen.missing_focus == "" and chosen.type_found


@pytest.mark.slow
def test_a_quote_carries_on_into_the_next_sentence(real_embedder):
    embedder = real_embedder
    text = (
        "Voor een deel kan de relatie tussen segregatie en contact ook andersom liggen. "
        "Allochtonen die weinig gericht zijn op de Nederlandse samenleving kiezen eerder voor concentratiewijken."
    )
    question = "Hoe kan het verband tussen segregatie en interetnisch contact omgekeerd zijn?"
    one = GroundingPolicy.defaults().model_copy(update={"evidence_units": 1})
    with_next = select_evidence(question, [_hit(text)], embedder, "nl", one)
    alone = select_evidence(
        question, [_hit(text)], embedder, "nl", one.model_copy(update={"evidence_next_sentence": False})
    )
    assert "concentratiewijken" in with_next.units[0].text
    assert with_next.units[0].text.startswith("Voor een deel")
    assert "concentratiewijken" not in alone.units[0].text


def test_a_sentence_is_quoted_once_even_when_two_units_hold_it(keyword_embedder):
    text = (
        "Dit is een politieke keuze van bestuurders in de stad. Ten slotte bestaat er een derde optie voor "
        "bestuurders: accepteren dat buurten minder gemengd zijn. Daarvoor zijn alledaagse maatregelen nodig."
    )
    question = "Wat is de derde optie voor bestuurders, een politieke keuze?"
    two = GroundingPolicy.defaults().model_copy(update={"evidence_units": 2, "evidence_margin": 1.0})
    units = select_evidence(question, [_hit(text)], keyword_embedder, "nl", two).units
    sentences = [s for u in units for s in u.text.split(". ")]
    assert len(sentences) == len(set(sentences)), [u.text for u in units]


def test_the_passage_relevance_chooses_among_near_equal_quotes_but_not_whether_to_answer(keyword_embedder):
    question = "Wat doen corporaties met sloop van huurwoningen?"
    aside = "Corporaties doen aan sloop van huurwoningen, schrijft een krant over een andere stad."
    on_topic = "Corporaties doen aan sloop van huurwoningen om de wijk te mengen, zo blijkt uit het onderzoek."
    hits = [
        Hit(Chunk("d#0.0", "d", "S", aside, 1, 2, 0, 1, "h"), 1.0, 0.80),  # a passage about something else
        Hit(Chunk("d#0.1", "d", "S", on_topic, 3, 4, 0, 1, "h"), 0.9, 0.95),
    ]
    policy = GroundingPolicy.defaults().model_copy(update={"evidence_units": 1})
    alone = select_evidence(question, hits, keyword_embedder, "nl", policy.model_copy(update={"passage_weight": 0}))
    weighed = select_evidence(question, hits, keyword_embedder, "nl", policy.model_copy(update={"passage_weight": 1}))
    assert alone.units[0].text == aside and weighed.units[0].text == on_topic
    # The abstention signals are the sentences' own: the thresholds fitted on them still apply.
    assert (weighed.best_dense, weighed.best_lexical, weighed.type_found, weighed.names_in_best) == (
        alone.best_dense,
        alone.best_lexical,
        alone.type_found,
        alone.names_in_best,
    )


def test_names_in_dutch_and_english_questions():
    assert question_names("Wat vond de VVD van het plan van Rotterdam?", "nl") == ["VVD", "Rotterdam"]
    # Translated common words are not names; rare words and acronyms are.
    assert question_names("What did the Court of Audit's research conclude?", "en") == []
    assert question_names("What did the CDA think of Charlois?", "en") == ["CDA", "Charlois"]
    # a capitalised part after a hyphen names a body or a person; a lower-case compound does not
    assert question_names("Wat vond Margo Trappenburg van de commissie-Blok?", "nl") == [
        "Margo", "Trappenburg", "commissie-Blok"
    ]  # fmt: skip
    assert question_names("Wat zei oud-minister Dekker over niet-westerse allochtonen?", "nl") == ["Dekker"]


def test_missing_names_and_numbers_are_looked_up_in_the_corpus():
    vocabulary = corpus_vocabulary(["De Rotterdamse deelgemeente Charlois bouwde in 1997 (Bolt, 2004) woningen."])
    assert missing_names("Wat deed Rotterdam in Charlois in 1997?", "nl", vocabulary) == []  # inflected form counts
    assert missing_names("Wat vond de VVD van Charlois?", "nl", vocabulary) == ["VVD"]
    assert missing_names("Wat gebeurde er in 2004 in Charlois?", "nl", vocabulary) == ["2004"]  # only a reference
    # Sharing a word's first letters is not enough: "Boltzmannstraat" is not an inflection of "Bolt".
    street = corpus_vocabulary(["In de Boltzmannstraat in Charlois werden woningen gebouwd."])
    assert missing_names("Wat vond Bolt van Charlois?", "nl", street) == ["Bolt"]


def test_a_name_is_absent_unless_mentioned_inflected_or_written_out():
    from assistant.evidence import names_absent

    text = "Recent onderzoek van het Sociaal en Cultureel Planbureau in Rotterdamse wijken (Bolt, 2004)."
    assert names_absent(["SCP", "Rotterdam", "Bolt"], text) == []
    assert names_absent(["CBS", "Amsterdam", "Wilson"], text) == ["CBS", "Amsterdam", "Wilson"]


def test_a_sentence_that_announces_a_list_is_quoted_with_the_list():
    text = "Er bestaan drie strategieën voor bestuurders: 1. mengen 2. hervormen instituties 3. accepteren gevolgen."
    units = [u for _, u, _ in candidate_units([_hit(text)])]
    assert any("1. mengen" in u and "3. accepteren" in u for u in units)


def test_a_sentence_repeated_by_overlapping_passages_is_one_unit_under_the_better_passage():
    a = "Het beleid van gemengd bouwen wordt al sinds 1990 gevoerd. Het is steeds verder geïntensiveerd."
    b = "Het is steeds verder geïntensiveerd. In 1997 werd een ambitieuze vernieuwing voorgesteld."
    units = candidate_units([_hit(a, 0), _hit(b, 1)])
    texts = [u for _, u, _ in units]
    assert texts.count("Het is steeds verder geïntensiveerd.") == 1
    assert dict((u, r) for r, u, _ in units)["Het is steeds verder geïntensiveerd."] == 0


def test_the_best_sentence_naming_everyone_the_question_names_is_signalled(keyword_embedder):
    named = "Wittebrood en Van der Wouden laten zien dat het wonen in een achterstandswijk de kans vergroot."
    ask = lambda q: select_evidence(q, [_hit(named)], keyword_embedder, "nl")  # noqa: E731
    assert ask("Wat laten Wittebrood en Van der Wouden zien?").names_in_best
    assert not ask("Wat laten onderzoekers zien?").names_in_best  # no names asked
    assert not ask("Wat laten Wittebrood en Bolt zien?").names_in_best  # one of them not in the sentence
    assert not ask("Wat vond Wittebrood van de commissie-Blok?").names_in_best  # "commissie-Blok" is a name too


def test_a_sentence_that_only_names_the_place_does_not_pin_the_evidence(keyword_embedder):
    both = ["In de Amsterdamse Westelijke Tuinsteden is de herstructurering vertraagd.",
            "Amsterdam bestrijdt discriminatie op de woningmarkt met praktijktests."]  # fmt: skip
    vocabulary = corpus_vocabulary([*both, "Welke maatregelen nemen steden tegen segregatie?"])
    ask = lambda q, text: select_evidence(q, [_hit(text)], keyword_embedder, "nl", vocabulary=vocabulary)  # noqa: E731
    question = "Welke maatregelen nam Amsterdam tegen discriminatie op de woningmarkt?"
    assert not ask(question, both[0]).names_in_best  # names Amsterdam, says nothing else the question asks
    assert ask(question, both[1]).names_in_best


def test_question_words_are_not_words_the_pinning_sentence_must_share(keyword_embedder):
    named = "Recentelijk heeft Dominic Schrijer, bestuurder van de deelgemeente Charlois, spreiding bepleit."
    vocabulary = corpus_vocabulary([named, "Welke wijken worden gemengd?"])
    ask = lambda q, lang: select_evidence(q, [_hit(named)], keyword_embedder, lang, vocabulary=vocabulary)  # noqa: E731
    assert ask("Who is Schrijer?", "en").names_in_best  # "who" and "is" ask, they are not the topic
    assert ask("Welke spreiding bepleit Dominic Schrijer?", "nl").names_in_best  # "welke" neither
    assert not ask("Who paid Schrijer's salary?", "en").names_in_best  # "salary" is the topic


def test_names_pin_the_evidence_only_when_the_documents_use_the_rest_of_the_question():
    vocabulary = corpus_vocabulary(["Justus Uitermark laat zien dat het wonen in een wijk de kans vergroot."])
    assert pinning_names("Wat laat Uitermark zien?", "nl", vocabulary) == ["Uitermark"]
    assert pinning_names("Wat vindt Uitermark van de huurtoeslag?", "nl", vocabulary) == []  # a word no text uses
    assert pinning_names("Wat laat het wonen in een wijk zien?", "nl", vocabulary) == []  # no names


@pytest.mark.slow
def test_a_loosely_worded_question_about_named_authors_is_answered_from_their_sentence(real_assistant):
    # The passage's cosine (0.798) is under min_relevance (0.80); it names both authors the question names.
    answer = real_assistant.ask("Wat laten Wittebrood en Van der Wouden zien?")
    assert not answer.abstained, answer.abstain_reason
    assert "slachtofferschap" in answer.text and answer.signals["names_in_best"]
    # names the documents never mention still abstain, whatever else matches
    assert real_assistant.ask("Wat laten Wittebrood en Pietersen zien?").abstained
    # a name the documents use, asking about something they never mention: the rule does not apply
    assert real_assistant.ask("Wat adviseert Reijndorp over zonnepanelen?").abstained
