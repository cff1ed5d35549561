"""Model cards: the facts that travel with a model (trunk, weights, resolutions, p, whitening)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from mgdesk.paths import card_paths


@dataclass(frozen=True)
class ModelCard:
    """How a model is built and used. Loaded from models/<name>.json (or the user models dir)."""

    name: str
    trunk: str
    weights: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    retrieval_side: int  # longest side in pixels for the retrieval descriptor (aspect kept, no crop)
    p_retrieval: float
    p_classification: float
    licence: str = ""
    whitening: str | None = None  # file name next to the card, None: identity until refitted
    notes: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def load_card(name: str) -> ModelCard:
    cards = {p.stem: p for p in card_paths()}
    if name not in cards:
        known = ", ".join(sorted(cards)) or "none"
        raise KeyError(f"unknown model {name!r} (known: {known})")
    data = json.loads(cards[name].read_text())
    data["mean"] = tuple(data["mean"])
    data["std"] = tuple(data["std"])
    return ModelCard(**data)


def available_cards() -> list[str]:
    return sorted({p.stem for p in card_paths()})
