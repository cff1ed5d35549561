"""How sharp a photo is, to suggest the best frame of a burst: the one neither the camera nor
the subject blurred.

The measure is the variance of the Laplacian over the variance of the luminance, both at one
fixed size (FOCUS_SIDE on the long side, resampled up or down), after a slight blur:
- one size for every photo: a smaller copy shows more detail per pixel, an upscaled one less;
  measured at its own size a thumbnail would pass for the sharpest frame;
- over the luminance variance: a brighter frame or a contrast edit raises both alike, a blur
  lowers the Laplacian's far more;
- after a slight blur: sensor noise is not detail (a noisier frame would otherwise win).
It compares frames of one view: across different views it also measures how much texture
each shows, so keep-best only uses it within a burst (mgdesk.core.shots.one_burst).
"""

from __future__ import annotations

import logging
import os

import cv2
import numpy as np

from mgdesk.core.imaging import ImageLoadError, load_image

log = logging.getLogger(__name__)

#: the long side every photo is measured at
FOCUS_SIDE = 1024
#: the version of the measure: part of a stored answer's key
FOCUS_VERSION = "focus-1"
_NOISE_SIGMA = 0.8


def focus_measure(path: str | os.PathLike[str]) -> float | None:
    """The photo's sharpness (higher is sharper; comparable across frames of one view), or None
    when it cannot be read now or is flat (nothing in it can be sharp)."""
    try:
        loaded = load_image(path, max_side=2 * FOCUS_SIDE)
    except ImageLoadError as exc:
        log.debug("no focus measure for %s: %s", path, exc)
        return None
    except MemoryError:
        return None
    return focus_of(np.asarray(loaded.image.convert("L"), dtype=np.float32))


def focus_of(gray: np.ndarray) -> float | None:
    """focus_measure of a luminance array (any size: it is resampled to FOCUS_SIDE)."""
    h, w = gray.shape[:2]
    if min(h, w) < 8:
        return None
    scale = FOCUS_SIDE / max(h, w)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    g = cv2.resize(gray.astype(np.float32), size,
                   interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    g = cv2.GaussianBlur(g, (0, 0), _NOISE_SIGMA)
    spread = float(g.var())
    if spread < 4.0:  # flat: under two grey levels of standard deviation
        return None
    return float(cv2.Laplacian(g, cv2.CV_32F).var() / spread)


__all__ = ["FOCUS_SIDE", "FOCUS_VERSION", "focus_measure", "focus_of"]
