"""Export a fine-tuned network as a user model: a card JSON plus a tensors-only weights file.

The card goes into paths.user_models_dir(), where load_card finds it, so `Embedder(model=name)` and
`mgdesk scan --model name` use it. The weights are written in the format the card's trunk already
reads (backbones.py): for EfficientNet-Lite the timm model's own state_dict (loaded "by order with
a shape check"); for the MultiGrain ResNet-50 a {"model_state": ...} checkpoint. Only tensors: they
load with torch.load(weights_only=True).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import time
from pathlib import Path

import torch

from mgdesk.core.embedding.cards import ModelCard
from mgdesk.core.embedding.multigrain import MultiGrainNet
from mgdesk.paths import MODEL_CARDS, user_models_dir

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ExportError(Exception):
    """The model cannot be written under that name; str() is one line."""


def default_name(base: str) -> str:
    return f"{base}-ft-{time.strftime('%Y%m%d-%H%M%S')}"


def check_name(name: str, *, overwrite: bool = False) -> None:
    """A new model name: a plain file name, not a shipped card, not an existing user model."""
    if not _NAME.match(name):
        raise ExportError(f"invalid model name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    if (MODEL_CARDS / f"{name}.json").exists():
        raise ExportError(f"{name!r} is a shipped model; choose another name")
    if not overwrite and (user_models_dir() / f"{name}.json").exists():
        raise ExportError(f"a model named {name!r} already exists; choose another name")


def _tensors(state: dict) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone().contiguous() for k, v in state.items()}


def weights_state(net: MultiGrainNet, trunk: str) -> dict:
    """The trained weights in the layout the trunk's loader reads back."""
    if trunk.startswith("tf_efficientnet_lite"):
        timm_model = getattr(net.features, "model", None)
        if timm_model is None:
            raise ExportError(f"cannot find the timm model inside the {trunk} network")
        return _tensors(timm_model.state_dict())  # includes the classifier: the same Linear
    if trunk == "multigrain_resnet50":
        state = {f"features.{k}": v for k, v in net.features.state_dict().items()}
        state.update({f"classifier.{k}": v for k, v in net.classifier.state_dict().items()})
        state["pool.p"] = net.pool.p
        return {"model_state": _tensors(state)}
    raise ExportError(f"no exporter for trunk {trunk!r}")


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def export_model(net: MultiGrainNet, base_card: ModelCard, name: str, *, extra: dict | None = None,
                 notes: str = "", overwrite: bool = False) -> tuple[ModelCard, Path]:
    """Write <name>.pt and <name>.json into the user models folder; returns (card, card path).

    The card copies the base card (trunk, normalisation, side, p) with the new weights, and no
    whitening: the descriptors changed, so the Library refits whitening on the user's photos.
    """
    check_name(name, overwrite=overwrite)
    folder = user_models_dir()
    weights = folder / f"{name}.pt"
    card_path = folder / f"{name}.json"
    state = weights_state(net, base_card.trunk)
    _atomic_write(weights, lambda p: torch.save(state, p))
    card = dataclasses.replace(
        base_card,
        name=name,
        weights=str(weights.resolve()),
        whitening=None,
        licence=f"fine-tuned from {base_card.name}; its licence applies: {base_card.licence}",
        notes=notes or f"Fine-tuned from {base_card.name} with `mgdesk train`.",
        extra={**(base_card.extra or {}), **(extra or {})},
    )
    _atomic_write(card_path, lambda p: p.write_text(card.to_json() + "\n"))
    log.info("wrote model %s: %s", name, card_path)
    return card, card_path
