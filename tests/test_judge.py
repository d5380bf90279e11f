"""The eval's support judge: its own signals, sharing no code with the product's checks it scores."""

import ast
from pathlib import Path

from assistant.evaluation import judge
from assistant.evaluation.judge import coverage, missing_names, missing_numbers


def test_the_judge_imports_nothing_from_the_checks_it_scores():
    tree = ast.parse(Path(judge.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {"assistant.citations", "assistant.qa", "assistant.evidence", "assistant.retrieval"} & imported


def test_numbers_are_compared_by_value_in_words_or_digits():
    assert missing_numbers("Er bestaan drie strategieën.", "Er bestaan grofweg 3 strategieën.") == []
    assert missing_numbers("Three strategies exist.", "Er bestaan drie strategieën.", "en") == []
    assert missing_numbers("Een eerste optie voor bestuurders.", "een derde optie voor bestuurders") == ["1"]
    assert missing_numbers("Van 65 naar 40.", "verlaagd van 65 naar 42") == ["40"]
    assert missing_numbers("Er is een aanpak.", "Er is geen aanpak.") == []  # "een" is an article here


def test_names_and_content_words():
    passage = "Zo komt uit Amerikaans onderzoek naar voren dat woonvouchers de spreiding bevorderen."
    assert missing_names("Het Amerikaanse onderzoek naar woonvouchers", passage) == []  # inflected
    assert missing_names("Het onderzoek van Musterd naar woonvouchers", passage) == ["Musterd"]
    assert coverage("woonvouchers bevorderen de spreiding", passage) == 1.0
    assert coverage("woonvouchers verminderen de segregatie", passage) < 0.5
