"""Summaries with the real embedder and test LLM over the bundled corpus (short length, to keep CI quick)."""

import pytest

from assistant.summarise import Summariser, write_outputs

pytestmark = pytest.mark.slow


def test_every_section_summarised_cited_into_itself_cached_and_resumable(real_assistant, tmp_path):
    summariser = Summariser(real_assistant, "short")
    targets = summariser.sections()
    assert len(targets) == 9

    def interrupt_after_three(n, total, label, cached):
        if n == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        summariser.run(targets, interrupt_after_three)
    summaries = summariser.run(targets)
    assert [s.cached for s in summaries] == [True] * 3 + [False] * 6  # resumed where it stopped

    for (doc, section), summary in zip(targets, summaries, strict=True):
        assert (summary.doc, summary.section) == (doc, section)
        assert summary.sentences, f"{doc} §{section} has no summary"
        lines = [(c.start_line, c.end_line) for c in summariser._chunks(doc, section)]
        for sentence in summary.sentences:
            assert sentence.sources, sentence.text
            for ref in sentence.sources:
                assert (ref.doc, ref.section) == (doc, section)
                assert (ref.start_line, ref.end_line) in lines  # a passage of this section

    again = summariser.run(targets)
    assert all(s.cached for s in again)
    assert [s.to_dict() for s in again] == [s.to_dict() for s in summaries]
    paths = write_outputs(again, tmp_path / "samenvatting.md")
    assert all(p.stat().st_size > 0 for p in paths)
