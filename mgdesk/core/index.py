"""The FAISS vector index: inner-product search over whitened, L2-normalised descriptors by photo id."""

from __future__ import annotations

import logging

import faiss
import numpy as np

log = logging.getLogger(__name__)

#: Above this many vectors the index switches from exact (flat) search to HNSW.
ANN_THRESHOLD = 200_000


class VectorIndex:
    """Cosine search (inner product of L2-normalised vectors) keyed by 64-bit photo ids.

    Small libraries use an exact ``IndexIDMap2(IndexFlatIP)``; once the index holds more than
    ``ann_threshold`` vectors it is rebuilt as an HNSW graph (inner product), because flat search
    grows linearly and HNSW stays fast with a small recall loss. HNSW cannot delete, so in that
    mode removed entries become tombstones that searches skip; the graph is rebuilt when a
    quarter of it is dead. Adding an id that is already present replaces its vector.

    Thread safety: concurrent searches are safe; ``add``/``remove`` must not run at the same time
    as anything else. In mgdesk the index lives in the worker thread, which is the only caller.
    """

    def __init__(self, dim: int, *, ann_threshold: int = ANN_THRESHOLD, hnsw_m: int = 32,
                 ef_search: int = 128, ef_construction: int = 80) -> None:
        self.dim = int(dim)
        self.ann_threshold = int(ann_threshold)
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.ef_construction = ef_construction
        self._flat: faiss.IndexIDMap2 | None = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        self._ids: set[int] = set()
        # HNSW mode: internal row -> id, id -> row, dead rows
        self._hnsw: faiss.IndexHNSWFlat | None = None
        self._row_ids = np.zeros(0, np.int64)
        self._row_of: dict[int, int] = {}
        self._dead = np.zeros(0, bool)

    # -- construction --------------------------------------------------------------------
    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, **kwargs) -> "VectorIndex":
        """An index holding these vectors (dimension taken from them)."""
        vectors = np.asarray(vectors, np.float32)
        index = cls(vectors.shape[1] if vectors.ndim == 2 else int(kwargs.pop("dim")), **kwargs)
        index.add(ids, vectors)
        return index

    @property
    def is_ann(self) -> bool:
        """True once the index has switched to approximate (HNSW) search."""
        return self._hnsw is not None

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, photo_id: object) -> bool:
        try:
            return int(photo_id) in self._ids  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return False

    def ids(self) -> np.ndarray:
        """All ids currently in the index (unordered)."""
        return np.fromiter(self._ids, np.int64, len(self._ids))

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything in the index, by ascending id: grouping reads them from here
        instead of decoding and whitening every descriptor from SQLite again on each regroup."""
        ids, vecs = self._all_vectors()
        order = np.argsort(ids, kind="stable")
        return ids[order], np.ascontiguousarray(vecs[order], np.float32)

    # -- updates -------------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add (or replace) vectors for these ids."""
        ids, vectors = self._check(ids, vectors)
        if len(ids) == 0:
            return
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate ids in one add() call")
        present = [i for i in ids.tolist() if i in self._ids]
        if present:
            self.remove(np.asarray(present, np.int64))
        if self._hnsw is None:
            self._flat.add_with_ids(vectors, ids)
            self._ids.update(ids.tolist())
            if len(self._ids) > self.ann_threshold:
                self._switch_to_ann()
        else:
            start = self._hnsw.ntotal
            self._hnsw.add(vectors)
            self._row_ids = np.concatenate([self._row_ids, ids])
            self._dead = np.concatenate([self._dead, np.zeros(len(ids), bool)])
            self._row_of.update({int(i): start + k for k, i in enumerate(ids.tolist())})
            self._ids.update(ids.tolist())

    def remove(self, ids: np.ndarray) -> int:
        """Remove these ids (unknown ids are ignored); returns how many were removed."""
        ids = np.atleast_1d(np.asarray(ids, np.int64))
        known = [i for i in ids.tolist() if i in self._ids]
        if not known:
            return 0
        if self._hnsw is None:
            self._flat.remove_ids(faiss.IDSelectorBatch(np.asarray(known, np.int64)))
        else:
            for i in known:
                self._dead[self._row_of.pop(i)] = True
            if self._dead.sum() > 0.25 * len(self._dead):
                self._rebuild_hnsw()
        self._ids.difference_update(known)
        return len(known)

    # -- queries -------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids), each (n, k); missing neighbours have id -1 and score -inf."""
        q = self._queries(queries)
        n = len(q)
        k = int(k)
        if k <= 0 or len(self) == 0:
            return np.full((n, max(k, 0)), -np.inf, np.float32), np.full((n, max(k, 0)), -1, np.int64)
        if self._hnsw is None:
            scores, ids = self._flat.search(q, min(k, len(self)))
        else:
            dead = int(self._dead.sum())
            kk = min(k + dead, self._hnsw.ntotal) if dead < 4 * k else min(4 * k, self._hnsw.ntotal)
            self._hnsw.hnsw.efSearch = max(self.ef_search, kk)
            scores, rows = self._hnsw.search(q, kk)
            ids = np.where(rows >= 0, self._row_ids[np.maximum(rows, 0)], -1)
            alive = (rows >= 0) & ~self._dead[np.maximum(rows, 0)]
            scores, ids = _compact(scores, ids, alive, k)
        if scores.shape[1] < k:
            pad = k - scores.shape[1]
            scores = np.hstack([scores, np.full((n, pad), -np.inf, np.float32)])
            ids = np.hstack([ids, np.full((n, pad), -1, np.int64)])
        scores = np.where(ids >= 0, scores, -np.inf).astype(np.float32)
        return scores, ids.astype(np.int64)

    def range_search(self, queries: np.ndarray, threshold: float
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per query, (ids, scores) of every vector with score >= threshold, best first."""
        q = self._queries(queries)
        out: list[tuple[np.ndarray, np.ndarray]] = []
        if len(self) == 0:
            return [(np.zeros(0, np.int64), np.zeros(0, np.float32)) for _ in range(len(q))]
        # FAISS keeps results strictly above the radius; step just below to include equality
        radius = float(np.nextafter(np.float32(threshold), np.float32(-np.inf)))
        if self._hnsw is None:
            lims, scores, ids = self._flat.range_search(q, radius)
        else:
            self._hnsw.hnsw.efSearch = self.ef_search
            lims, scores, rows = self._hnsw.range_search(q, radius)
            keep = ~self._dead[rows]
            ids = self._row_ids[rows]
            lims = np.concatenate([[0], np.cumsum([keep[lims[i]:lims[i + 1]].sum()
                                                   for i in range(len(q))])]).astype(np.int64)
            scores, ids = scores[keep], ids[keep]
        for i in range(len(q)):
            s, d = scores[lims[i]:lims[i + 1]], ids[lims[i]:lims[i + 1]]
            o = np.argsort(-s, kind="stable")
            out.append((d[o].astype(np.int64), s[o].astype(np.float32)))
        return out

    # -- internals -----------------------------------------------------------------------
    def _check(self, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids = np.ascontiguousarray(np.atleast_1d(np.asarray(ids)).astype(np.int64))
        vectors = np.ascontiguousarray(np.asarray(vectors, np.float32))
        if vectors.ndim == 1:
            vectors = vectors[None, :]
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors contain NaN or infinity")
        return ids, vectors

    def _queries(self, queries: np.ndarray) -> np.ndarray:
        q = np.ascontiguousarray(np.asarray(queries, np.float32))
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"expected queries of shape (n, {self.dim}), got {q.shape}")
        return q

    def _all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        if self._hnsw is None:
            ids = faiss.vector_to_array(self._flat.id_map).astype(np.int64)
            vecs = self._flat.index.reconstruct_n(0, self._flat.ntotal) if len(ids) else \
                np.zeros((0, self.dim), np.float32)
            return ids, vecs
        alive = np.nonzero(~self._dead)[0]
        vecs = self._hnsw.reconstruct_n(0, self._hnsw.ntotal)[alive] if len(alive) else \
            np.zeros((0, self.dim), np.float32)
        return self._row_ids[alive], vecs

    def _new_hnsw(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        h = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        h.hnsw.efConstruction = self.ef_construction
        h.hnsw.efSearch = self.ef_search
        if len(vecs):
            h.add(np.ascontiguousarray(vecs, np.float32))
        self._hnsw = h
        self._row_ids = ids.astype(np.int64).copy()
        self._row_of = {int(i): r for r, i in enumerate(self._row_ids.tolist())}
        self._dead = np.zeros(len(ids), bool)

    def _switch_to_ann(self) -> None:
        ids, vecs = self._all_vectors()
        log.info("index holds %d vectors (> %d): switching to HNSW", len(ids), self.ann_threshold)
        self._new_hnsw(ids, vecs)
        self._flat = None

    def _rebuild_hnsw(self) -> None:
        ids, vecs = self._all_vectors()
        log.info("rebuilding HNSW without %d removed vectors", int(self._dead.sum()))
        self._new_hnsw(ids, vecs)


def _compact(scores: np.ndarray, ids: np.ndarray, keep: np.ndarray, k: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the first k kept entries (order preserved), padded with -1 / -inf."""
    n = len(scores)
    out_s = np.full((n, k), -np.inf, np.float32)
    out_i = np.full((n, k), -1, np.int64)
    for r in range(n):
        s, i = scores[r][keep[r]][:k], ids[r][keep[r]][:k]
        out_s[r, : len(s)], out_i[r, : len(i)] = s, i
    return out_s, out_i


__all__ = ["ANN_THRESHOLD", "VectorIndex"]


#: From this many vectors on, grouping's all-pairs neighbour search uses an inverted file.
IVF_MIN = 50_000


class NeighbourSearch:
    """The k nearest neighbours of every photo at once, over a fixed set: what grouping needs.

    Exact search of n queries against n vectors is quadratic (100k photos × 1280 dims: 311 s on one
    core). From ``ivf_min`` vectors on, the search runs on a PCA projection to ``reduced_dim``
    dimensions (trained on a sample) through an inverted file (k-means, √n lists) where each query
    looks only in its ``nprobe`` nearest lists; the neighbours found are then re-scored exactly on
    the full vectors, so the scores grouping sees are true cosines. Near-duplicates stay close in
    the projection and sit in the same or neighbouring lists, so they are still found.
    """

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, *, ivf_min: int = IVF_MIN,
                 nprobe: int = 8, reduced_dim: int = 128, seed: int = 0) -> None:
        vectors = np.ascontiguousarray(vectors, np.float32)
        self.ids = np.asarray(ids, np.int64)
        self.full = vectors
        self.pca: faiss.PCAMatrix | None = None
        n, dim = vectors.shape
        if n < ivf_min:
            self.index: faiss.Index = faiss.IndexFlatIP(dim)
            self.index.add(vectors)
            return
        nlist = max(1, int(np.sqrt(n)))
        rng = np.random.default_rng(seed)
        sample = vectors[np.sort(rng.choice(n, min(n, max(40 * nlist, 4 * dim)), replace=False))]
        if dim > reduced_dim:
            self.pca = faiss.PCAMatrix(dim, reduced_dim)
            self.pca.train(sample)
            sample = self.pca.apply(sample)
        sub = sample.shape[1]
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(sub), sub, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.niter = 10
        ivf.cp.seed = seed
        ivf.train(sample)
        ivf.nprobe = min(nprobe, nlist)
        for start in range(0, n, 100_000):  # project in chunks: bounded temporaries
            ivf.add(self._project(vectors[start:start + 100_000]))
        self.index = ivf

    def _project(self, x: np.ndarray) -> np.ndarray:
        return x if self.pca is None else self.pca.apply(np.ascontiguousarray(x, np.float32))

    @property
    def is_approximate(self) -> bool:
        return isinstance(self.index, faiss.IndexIVF)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n, k), best first; missing neighbours have id -1."""
        queries = np.ascontiguousarray(queries, np.float32)
        k = int(k)
        # through the projection the order is approximate: fetch more, keep the best k exactly
        deep = k if self.pca is None else min(len(self.ids), 2 * k + 8)
        scores, rows = self.index.search(self._project(queries), deep)
        if self.pca is not None:  # exact cosines on the full vectors, re-ranked
            found = self.full[np.maximum(rows, 0)]  # (n, k, dim)
            scores = np.einsum("nd,nkd->nk", queries, found)
            scores[rows < 0] = -np.inf
            order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            scores = np.take_along_axis(scores, order, axis=1)
            rows = np.take_along_axis(rows, order, axis=1)
        ids = np.where(rows >= 0, self.ids[np.maximum(rows, 0)], -1)
        return scores, ids
