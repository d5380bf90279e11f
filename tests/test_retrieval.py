from assistant.retrieval import reciprocal_rank_fusion


def test_rrf_known_answer():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    scores = dict(fused)
    assert [i for i, _ in fused] == [1, 3, 2]
    assert abs(scores[1] - (1 / 61 + 1 / 62)) < 1e-12
    assert abs(scores[3] - (1 / 63 + 1 / 61)) < 1e-12
    assert abs(scores[2] - 1 / 62) < 1e-12


def test_rrf_of_one_list_keeps_its_order_and_empty_lists_are_harmless():
    assert [i for i, _ in reciprocal_rank_fusion([[5, 4, 9], []])] == [5, 4, 9]
    assert reciprocal_rank_fusion([[], []]) == []
