"""Properties of cleaning, chunking and citation parsing that hold for any text (hypothesis).

The example-based tests show what these functions do on the texts we know; these show what
they never do on texts nobody thought of: crash, invent characters, lose text, make a passage
longer than its size, or let a citation marker through.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.chunking import chunk_section
from assistant.citations import MARKER, parse_citations, strip_markers
from assistant.documents import clean_sections

WORDS = ["de", "wijk", "gemeente", "menging", "1997", "65", "ingre-", "diënten", "Prof.", "dr.", "J.W.", "o.a.",
         "sociale", "huur", "Rotterdam", "(zie", "2001);", "42%", "—", "naar", "beleid", "écht", "x" * 40]  # fmt: skip
PUNCTUATION = [". ", ", ", "; ", ": ", "! ", "? ", " - ", "\n", "\n\n", "\n# Kop\n", "\n3\n", " [1] ", " [2, 3]. "]

token = st.one_of(st.sampled_from(WORDS), st.text(min_size=1, max_size=12))
texts = st.lists(st.tuples(token, st.sampled_from([" ", " ", " ", *PUNCTUATION])), max_size=120).map(
    lambda pairs: "".join(word + sep for word, sep in pairs)
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def _is_subsequence(small: str, big: str) -> bool:
    it = iter(big)
    return all(ch in it for ch in small)


@FAST
@given(texts)
def test_cleaning_invents_nothing_and_keeps_its_line_map_in_range(raw):
    sections = clean_sections(raw)
    n_lines = len(raw.splitlines())
    for section in sections:
        assert section.text == section.text.strip() and "  " not in section.text and "\n" not in section.text
        assert _is_subsequence(_alnum(section.text), _alnum(raw))  # every letter comes from the input
        offsets = [offset for offset, _ in section.line_starts]
        assert offsets == sorted(offsets) and all(0 <= o <= len(section.text) for o in offsets)
        assert all(1 <= line <= n_lines for _, line in section.line_starts)


@FAST
@given(texts, st.integers(min_value=40, max_value=400), st.integers(min_value=0, max_value=2))
def test_chunks_are_exact_slices_no_longer_than_the_size_and_cover_the_text(raw, size, overlap):
    for index, section in enumerate(clean_sections(raw)):
        chunks = chunk_section("doc", section, index, size, overlap)
        covered = [False] * len(section.text)
        for chunk in chunks:
            assert chunk.text == section.text[chunk.start_char : chunk.end_char]
            assert len(chunk.text) <= size  # a sentence longer than a passage is cut, never passed on whole
            for i in range(chunk.start_char, chunk.end_char):
                covered[i] = True
        assert all(covered[i] for i, ch in enumerate(section.text) if not ch.isspace())  # nothing dropped


def test_one_sentence_far_longer_than_a_passage_is_cut_into_passage_sized_pieces():
    from assistant.types import Section

    sentence = "De gemeente, " + ", ".join(f"de wijk {i} en de buurt {i}" for i in range(300)) + "."
    section = Section("Kop", sentence, ((0, 1),))
    chunks = chunk_section("doc", section, 0, 800, 1)
    assert len(chunks) > 5 and all(len(c.text) <= 800 for c in chunks)
    assert all(c.text.endswith(",") or c is chunks[-1] for c in chunks)  # cut after a clause, not mid-word
    unbroken = "a" * 5000  # no space at all: cut at the size
    chunks = chunk_section("doc", Section("Kop", unbroken, ((0, 1),)), 0, 800, 0)
    assert [len(c.text) for c in chunks] == [800] * 6 + [200]


drafts = st.lists(
    st.tuples(
        st.sampled_from(["De huur daalde van 65 naar 42", "Zie o.a. Musterd", "Gemengd bouwen sinds 1990", "[3]"]),
        st.lists(st.integers(min_value=0, max_value=99), max_size=3),
        st.sampled_from([". ", ".\n", " ", "? "]),
    ),
    max_size=8,
)


@FAST
@given(drafts)
def test_parsed_citations_carry_only_numbers_that_were_in_markers_and_no_marker_text(parts):
    draft = "".join(text + "".join(f" [{n}]" for n in numbers) + end for text, numbers, end in parts)
    written = {int(n) for m in MARKER.finditer(draft) for n in re.findall(r"\d+", m.group(1))}
    for sentence in parse_citations(draft):
        assert not MARKER.search(sentence.text)
        assert set(sentence.cited) <= written


@FAST
@given(st.text(max_size=300))
def test_parsing_any_text_never_fails_and_stripping_markers_is_idempotent(text):
    parse_citations(text)
    once = strip_markers(text)
    assert strip_markers(once) == once
