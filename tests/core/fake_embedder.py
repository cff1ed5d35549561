"""A tiny deterministic embedder with the real Embedder's interface, for fast pipeline tests.

The descriptor is the 8x8 grey thumbnail of the real image (EXIF applied by imaging.load_image),
centred and L2-normalised, so copies of one photo land close together and different photos do not.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mgdesk.core.imaging import ImageInfo, ImageLoadError, load_image

DIM = 64


@dataclass(frozen=True)
class FakeResult:
    path: str
    descriptor: np.ndarray | None
    views: np.ndarray | None
    top_classes: list[tuple[int, float]]
    info: ImageInfo | None
    error: ImageLoadError | None


def _vector(image) -> np.ndarray:
    grey = np.asarray(image.convert("L").resize((8, 8)), dtype=np.float32).reshape(-1)
    grey -= grey.mean()
    n = np.linalg.norm(grey)
    return (grey / n if n > 0 else np.full(DIM, 1 / 8, np.float32)).astype(np.float32)


@dataclass
class FakeEmbedder:
    model_name: str = "fake8x8"
    dim: int = DIM
    delay: float = 0.0
    calls: list[str] = field(default_factory=list)

    def embed_paths(self, paths, progress=None, cancel: threading.Event | None = None):
        import time
        for path in paths:
            self.calls.append(str(path))
            if self.delay:
                time.sleep(self.delay)
            try:
                loaded = load_image(path, 64)
            except ImageLoadError as e:
                yield FakeResult(str(path), None, None, [], None, e)
                continue
            v = _vector(loaded.image)
            flipped = _vector(loaded.image.transpose(0))
            # A stable pseudo-class from the brightness pattern, so tags have something to count.
            cls = int(np.argmax(v[:10])) + 1
            yield FakeResult(str(path), v, np.stack([v, flipped]), [(cls, 0.9), (cls + 100, 0.05)],
                             loaded.info, None)


def fake_tagger(top: list[tuple[int, float]]) -> list[tuple[int, str, float]]:
    return [(i, f"class{i}", s) for i, s in top if s >= 0.2]


def make_fake(**kw: Any) -> FakeEmbedder:
    return FakeEmbedder(**kw)
