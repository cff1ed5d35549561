"""PCA whitening of descriptors (MultiGrain §2.8): learned, applied, saved and loaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


def l2n(x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + eps)


@dataclass(frozen=True)
class Whitening:
    """y = L2((L2(x) − mean) · projectionᵀ).

    Whitening spreads out the dominant directions shared by all photos ("outdoor", "sky"), which
    makes cosine scores between unrelated photos lower and between copies relatively higher.
    It is specific to one model, resolution and p, hence stored per model.
    """

    mean: np.ndarray  # (d,)
    projection: np.ndarray  # (k, d)
    shrinkage: float = 0.0
    n_fit: int = 0

    @property
    def dim_in(self) -> int:
        return int(self.mean.shape[0])

    @property
    def dim(self) -> int:
        return int(self.projection.shape[0])

    @property
    def is_identity(self) -> bool:
        return self.n_fit == 0

    @classmethod
    def identity(cls, dim: int) -> "Whitening":
        return cls(np.zeros(dim, np.float32), np.eye(dim, dtype=np.float32), 0.0, 0)

    @classmethod
    def fit(cls, x: np.ndarray, dim: int | None = None, shrinkage: float = 0.5) -> "Whitening":
        """Learn from descriptors (n, d).

        With few photos the smallest eigenvalues are noise and dividing by them amplifies it, so
        each eigenvalue gets `shrinkage × mean eigenvalue` added: 0 is full whitening, large values
        approach plain centring + PCA rotation. Components are limited to the data's rank.
        """
        x = l2n(np.asarray(x, dtype=np.float64)).astype(np.float64)
        n, d = x.shape
        if n < 2:
            raise ValueError("whitening needs at least two descriptors")
        mean = x.mean(axis=0)
        xc = x - mean
        cov = xc.T @ xc / n
        eigval, eigvec = np.linalg.eigh(cov)
        order = np.argsort(eigval)[::-1]
        eigval, eigvec = eigval[order], eigvec[:, order]
        rank = int(min(n - 1, d))
        k = min(dim or rank, rank)
        eigval = np.clip(eigval[:k], 0, None)
        reg = eigval + shrinkage * float(eigval.mean()) + 1e-12
        projection = (eigvec[:, :k] / np.sqrt(reg)).T
        return cls(mean.astype(np.float32), projection.astype(np.float32), float(shrinkage), int(n))

    def apply(self, x: np.ndarray) -> np.ndarray:
        x = l2n(np.atleast_2d(x))
        return l2n((x - self.mean) @ self.projection.T)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        with open(path, "wb") as fh:  # np.savez would append .npz to a name without it
            np.savez(
                fh, mean=self.mean, projection=self.projection,
                shrinkage=np.float32(self.shrinkage), n_fit=np.int64(self.n_fit),
            )

    @classmethod
    def load(cls, path: str | Path) -> "Whitening":
        with np.load(Path(path), allow_pickle=False) as data:
            return cls(
                data["mean"].astype(np.float32), data["projection"].astype(np.float32),
                float(data["shrinkage"]), int(data["n_fit"]),
            )
