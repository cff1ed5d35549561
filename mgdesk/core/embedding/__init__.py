"""MultiGrain embeddings: trunks, GeM, whitening, model cards and the batched Embedder."""

from mgdesk.core.embedding.cards import ModelCard, available_cards, load_card
from mgdesk.core.embedding.classes import class_names
from mgdesk.core.embedding.whitening import Whitening, l2n


def __getattr__(name: str):
    # The Embedder pulls in torch (seconds to import): only when asked for, so commands that read
    # the library (status, tags, dupes) start without it. GeM, torch too, is in its module.
    if name in {"Embedder", "EmbedResult", "pick_device"}:
        from mgdesk.core.embedding import embedder

        return getattr(embedder, name)
    raise AttributeError(name)


__all__ = [
    "Embedder", "EmbedResult", "ModelCard", "Whitening", "available_cards", "class_names",
    "l2n", "load_card", "pick_device",
]
