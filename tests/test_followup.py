"""Follow-up questions become standalone search queries; other questions pass through."""

from assistant.followup import is_follow_up, standalone_query


def test_follow_up_gets_the_previous_topic():
    query = standalone_query(
        "En wat vond Musterd daarvan?", ["Wat zeggen de auteurs over het herstructureringsbeleid?"]
    )
    assert query.startswith("En wat vond Musterd daarvan?")
    assert "herstructureringsbeleid" in query
    assert "Wat" not in query.split("?", 1)[1]  # question words of the earlier turn add nothing to a search


def test_standalone_question_is_left_alone():
    assert standalone_query("Wat is herstructurering?", ["Wat zeggen de auteurs over menging?"]) == (
        "Wat is herstructurering?"
    )
    assert standalone_query("En wat vond Musterd daarvan?", []) == "En wat vond Musterd daarvan?"


def test_context_chains_over_several_turns():
    first = "Wat zeggen de auteurs over het herstructureringsbeleid?"
    second = standalone_query("En wat vond Musterd daarvan?", [first])
    third = standalone_query("Waarom vond hij dat?", [first, second])
    assert "Musterd" in third and "herstructureringsbeleid" in third


def test_detection():
    assert is_follow_up("And what did they conclude?")
    assert is_follow_up("Hoe zit het met Rotterdam?")
    assert not is_follow_up("Welke drie strategieën noemen de auteurs voor bestuurders?")
    assert not is_follow_up("")
