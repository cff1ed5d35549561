"""MultiGrain embeddings: trunks, GeM, whitening, model cards and the batched Embedder."""

from mgdesk.core.embedding.cards import ModelCard, available_cards, load_card
from mgdesk.core.embedding.classes import class_names
from mgdesk.core.embedding.gem import GeM, gem
from mgdesk.core.embedding.whitening import Whitening, l2n


def __getattr__(name: str):
    # The Embedder pulls in torch and the decoders: import it only when asked for.
    if name in {"Embedder", "EmbedResult", "pick_device"}:
        from mgdesk.core.embedding import embedder

        return getattr(embedder, name)
    raise AttributeError(name)


__all__ = [
    "Embedder", "EmbedResult", "GeM", "ModelCard", "Whitening", "available_cards", "class_names",
    "gem", "l2n", "load_card", "pick_device",
]
