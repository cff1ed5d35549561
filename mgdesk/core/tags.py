"""ImageNet tags: which of a photo's top classes are confident enough to show, and album summaries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

#: A class is a tag when its softmax probability reaches this. Calibrated by looking at the top-1
#: labels of the 214 shared photos with lite0 at its 256-px card side (top-1 probability: median
#: 0.42, quartiles 0.21 / 0.75), in bands: 0.12-0.20 mostly wrong (bow tie on a portrait,
#: planetarium on office towers), 0.20-0.30 about one in three right, 0.30-0.50 about seven in ten
#: right or near (leopard, groom, monastery, alp, sea anemone), above 0.5 nearly all right. A wrong
#: tag costs the user more than a missing one, so a photo below 0.30 gets no tag.
MIN_SCORE = 0.30
MAX_TAGS = 3
#: An album shows a label when at least this share of its photos carry it.
ALBUM_MIN_SHARE = 0.15


def photo_tags(top_classes: Sequence[tuple[int, float]], names: Sequence[str] | None = None,
               min_score: float = MIN_SCORE, max_tags: int = MAX_TAGS) -> list[tuple[int, str, float]]:
    """(class index, label, probability) of the confident top classes, best first."""
    if names is None:
        from mgdesk.core.embedding import class_names
        names = class_names()
    out = []
    for index, score in sorted(top_classes, key=lambda t: -t[1]):
        if score < min_score or len(out) >= max_tags:
            break
        label = names[index] if 0 <= index < len(names) else f"class {index}"
        out.append((int(index), label, float(score)))
    return out


def album_tags(n_photos: int, tags: Sequence[tuple[int, str, float]],
               min_share: float = ALBUM_MIN_SHARE) -> list[tuple[str, float]]:
    """Labels of a folder: score = mean probability over ALL its photos (photos without it count 0).

    So a label on half the photos at 0.8 scores 0.4; labels carried by fewer than `min_share` of
    the photos are dropped, so one odd photo does not label an album.
    """
    if n_photos <= 0:
        return []
    total: dict[str, float] = defaultdict(float)
    photos: dict[str, set[int]] = defaultdict(set)
    for file_id, label, score in tags:
        total[label] += score
        photos[label].add(file_id)
    out = [(label, total[label] / n_photos) for label in total if len(photos[label]) / n_photos >= min_share]
    return sorted(out, key=lambda t: (-t[1], t[0]))
