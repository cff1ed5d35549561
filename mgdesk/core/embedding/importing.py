"""Import a user-supplied official MultiGrain ResNet-50 checkpoint as an mgdesk model.

The weights are CC BY-NC: mgdesk never bundles or downloads them; the user brings the file.
Only tensors are kept (re-saved without any pickled objects) in the user models directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from mgdesk.core.embedding.backbones import IMAGENET_MEAN, IMAGENET_STD, read_multigrain_checkpoint
from mgdesk.core.embedding.cards import ModelCard, load_card
from mgdesk.paths import user_models_dir


def import_multigrain(source: str | Path, name: str = "multigrain-r50", side: int = 500) -> ModelCard:
    """Validate `source`, store its tensors and write a card; returns the card.

    p for retrieval: the checkpoint's own p if it has one, else 3 (MultiGrain's constructor default);
    the classifier keeps the checkpoint's p (MultiGrain trains one p for both).
    """
    state = read_multigrain_checkpoint(source)
    p = float(state["pool.p"]) if "pool.p" in state else 3.0
    target = user_models_dir() / f"{name}.pt"
    torch.save({"model_state": {k: v.clone() for k, v in state.items()}}, target)
    card = {
        "name": name,
        "trunk": "multigrain_resnet50",
        "weights": str(target),
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "retrieval_side": side,
        "p_retrieval": max(p, 3.0),
        "p_classification": p,
        "licence": "CC BY-NC 4.0 (MultiGrain weights, supplied by the user; not redistributable)",
        "whitening": None,
        "notes": f"Imported from {Path(source).name}.",
    }
    (user_models_dir() / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    return load_card(name)
