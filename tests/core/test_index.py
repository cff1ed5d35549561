"""The FAISS wrapper: exact search by id, removal, range queries and the switch to HNSW."""

import numpy as np
import pytest

from mgdesk.core.index import VectorIndex


def unit(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_a_vector_finds_itself_first_under_its_own_id():
    x = unit(50)
    ids = np.arange(1000, 1050, dtype=np.int64) * 7_000_000_000  # beyond 32 bits
    index = VectorIndex.build(ids, x)
    scores, found = index.search(x[:5], k=3)
    assert found[:, 0].tolist() == ids[:5].tolist()
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    assert len(index) == 50 and int(ids[3]) in index and 12345 not in index


def test_scores_are_cosines_best_first():
    x = unit(20)
    index = VectorIndex.build(np.arange(20), x)
    scores, found = index.search(x[0], k=20)
    np.testing.assert_allclose(scores[0], (x[found[0]] @ x[0]), atol=1e-5)
    assert (np.diff(scores[0]) <= 1e-7).all()


def test_a_removed_photo_is_never_returned():
    x = unit(30)
    index = VectorIndex.build(np.arange(30), x)
    assert index.remove(np.array([0, 1, 999])) == 2
    _, found = index.search(x[:2], k=30)
    assert 0 not in found and 1 not in found
    assert len(index) == 28 and 0 not in index


def test_adding_an_existing_id_replaces_its_vector():
    x = unit(10)
    index = VectorIndex.build(np.arange(10), x)
    index.add(np.array([3]), x[7:8])
    assert len(index) == 10
    scores, found = index.search(x[7], k=2)
    assert sorted(found[0].tolist()) == [3, 7]


def test_asking_for_more_neighbours_than_photos_pads_with_minus_one():
    index = VectorIndex.build(np.arange(3), unit(3))
    scores, found = index.search(unit(1, seed=5), k=5)
    assert found[0, 3:].tolist() == [-1, -1] and np.isneginf(scores[0, 3:]).all()
    empty = VectorIndex(32)
    assert empty.search(unit(2), 4)[1].tolist() == [[-1] * 4] * 2


def test_range_search_returns_everything_above_the_threshold_inclusive():
    x = unit(40)
    index = VectorIndex.build(np.arange(40), x)
    sims = x[:3] @ x.T
    for q, (ids, scores) in enumerate(index.range_search(x[:3], 0.2)):
        expected = set(np.nonzero(sims[q] >= 0.2)[0].tolist())
        assert set(ids.tolist()) == expected
        assert (np.diff(scores) <= 1e-7).all()
    ids, _ = index.range_search(x[0], 1.0 - 1e-6)[0]
    assert ids.tolist() == [0]


def test_wrong_dimension_is_a_clear_error():
    index = VectorIndex(32)
    with pytest.raises(ValueError, match="shape"):
        index.add(np.arange(2), unit(2, d=16))
    with pytest.raises(ValueError, match="ids"):
        index.add(np.arange(3), unit(2))


def test_past_the_threshold_the_index_switches_to_hnsw_and_keeps_working():
    x = unit(400, d=16, seed=1)
    index = VectorIndex(16, ann_threshold=100)
    index.add(np.arange(90), x[:90])
    assert not index.is_ann
    index.add(np.arange(90, 400), x[90:])
    assert index.is_ann and len(index) == 400
    _, found = index.search(x[:50], k=1)
    assert (found[:, 0] == np.arange(50)).mean() >= 0.95
    # removal in ANN mode hides the photo, and enough removals rebuild the graph
    index.remove(np.arange(0, 150))
    assert len(index) == 250 and 10 not in index
    _, found = index.search(x[:20], k=10)
    assert not np.isin(found, np.arange(150)).any()
    _, found = index.search(x[200:220], k=1)
    assert (found[:, 0] == np.arange(200, 220)).mean() >= 0.9
    ids, scores = index.range_search(x[300], 0.999)[0]
    assert ids.tolist() == [300]
    index.add(np.array([5]), x[5:6])  # a removed id can come back
    assert index.search(x[5], 1)[1][0, 0] == 5


def test_grouping_neighbour_search_finds_near_duplicates_with_an_inverted_file_too():
    from mgdesk.core.index import NeighbourSearch

    rng = np.random.default_rng(3)
    base = rng.normal(size=(3000, 64)).astype(np.float32)
    copies = base[:300] + 0.05 * rng.normal(size=(300, 64)).astype(np.float32)
    x = np.vstack([base, copies])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(len(x), dtype=np.int64) + 1000
    exact = NeighbourSearch(ids, x, ivf_min=10_000)
    ivf = NeighbourSearch(ids, x, ivf_min=1_000)
    projected = NeighbourSearch(ids, x, ivf_min=1_000, reduced_dim=32)  # PCA to 32 of 64 dims
    assert not exact.is_approximate and ivf.is_approximate and projected.pca is not None
    for search in (exact, ivf, projected):
        scores, found = search.search(x[3000:], 2)
        assert (found[:, 1] == ids[:300]).mean() >= 0.98  # the copy's original, after itself
        assert (scores[:, 0] > 0.99).all()
        # the scores are the true cosines on the full vectors, best first
        ok = found[:, 1] >= 0
        true = np.einsum("nd,nd->n", x[3000:][ok], x[found[ok, 1] - 1000])
        assert np.allclose(scores[ok, 1], true, atol=1e-5)
        assert (np.diff(scores, axis=1) <= 1e-6).all()


def test_the_index_hands_back_its_vectors_by_id():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = VectorIndex.build(np.array([30, 10, 20, 60, 50, 40]), x)
    index.remove(np.array([20]))
    ids, vecs = index.vectors()
    assert ids.tolist() == [10, 30, 40, 50, 60]
    assert np.allclose(vecs[0], x[1]) and np.allclose(vecs[-1], x[3])
