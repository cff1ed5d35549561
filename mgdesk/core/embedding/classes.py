"""Human-readable ImageNet class names shipped in resources/."""

from __future__ import annotations

from functools import lru_cache

from mgdesk.paths import RESOURCES


@lru_cache(maxsize=1)
def class_names() -> list[str]:
    """Short, unique names (index order); two ambiguous ones are disambiguated: 'crane (bird)'."""
    lines = (RESOURCES / "imagenet_classes.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[2] for line in lines]
