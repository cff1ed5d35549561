"""The real Embedder, watched: records which files it was asked to embed and can be slowed down.

Incremental-scan tests need to know that an unchanged file was *not* read again, and the kill test
needs a scan slow enough to be killed mid-way. Both wrap the real network rather than replace it,
so every vector in these tests comes from the model the app ships.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


class EmbedderSpy:
    """Delegates to `inner` (a real Embedder); `calls` lists the paths embedded, in order."""

    def __init__(self, inner: Any, delay: float = 0.0) -> None:
        self.inner = inner
        self.delay = delay
        self.calls: list[str] = []

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_paths(self, paths: Iterable[str | Path], progress: Any = None,
                    cancel: threading.Event | None = None) -> Iterator[Any]:
        paths = [str(p) for p in paths]
        self.calls.extend(paths)
        for result in self.inner.embed_paths(paths, progress, cancel):
            if self.delay:
                time.sleep(self.delay)
            yield result

    def __getattr__(self, name: str) -> Any:  # embed_image, embed_file, view settings, ...
        if name == "inner":  # not set yet (a copy in the making): no endless recursion
            raise AttributeError(name)
        return getattr(self.inner, name)
