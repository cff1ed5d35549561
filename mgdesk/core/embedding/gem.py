"""GeM (generalised-mean) pooling, as MultiGrain defines it."""

from __future__ import annotations

import torch
from torch import nn

EPS = 1e-6


def gem(x: torch.Tensor, p: float, eps: float = EPS) -> torch.Tensor:
    """Pool a (N, C, H, W) map to (N, C).

    The clamp comes before the power because EfficientNet-Lite and MobileNet activations can be
    zero or negative; p = 1 is plain average pooling and skips the clamp, as MultiGrain does.
    """
    if p == 1:
        return x.mean(dim=(-2, -1))
    if p == float("inf"):
        return x.amax(dim=(-2, -1))
    return x.clamp(min=eps).pow(p).mean(dim=(-2, -1)).pow(1.0 / p)


class GeM(nn.Module):
    """GeM with p kept as a buffer (`pool.p` in MultiGrain checkpoints): fixed, not learned."""

    def __init__(self, p: float = 3.0, eps: float = EPS) -> None:
        super().__init__()
        self.register_buffer("p", torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gem(x, float(self.p), self.eps)

    def extra_repr(self) -> str:
        return f"p={float(self.p):.2f}, eps={self.eps}"
