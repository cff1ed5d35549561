"""The MultiGrain network: trunk → GeM → (descriptor, classifier logits) from one feature map."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mgdesk.core.embedding.backbones import Backbone
from mgdesk.core.embedding.gem import GeM


class MultiGrainNet(nn.Module):
    """One forward pass gives both outputs.

    MultiGrain trains one pooled vector for both tasks; at test time the retrieval descriptor uses a
    higher p (closer to max pooling favours copy matching) while the classifier keeps the p it was
    trained with (1 for ImageNet trunks), so tag scores stay calibrated. Both poolings share the
    feature map, so the second costs nothing.
    """

    def __init__(self, backbone: Backbone, p_retrieval: float, p_classification: float) -> None:
        super().__init__()
        self.features = backbone.features
        self.pool = GeM(p_retrieval)
        self.pool_cls = GeM(p_classification)
        self.classifier = backbone.classifier

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        fmap = self.features(x)
        embedding = self.pool(fmap)
        logits = self.classifier(self.pool_cls(fmap))
        return {
            "embedding": embedding,
            "normalized_embedding": F.normalize(embedding, dim=-1, eps=1e-6),
            "classifier_output": logits,
        }
