"""MultiGrain's training losses: distance-weighted negative sampling, the margin loss with a learnable β, the joint loss.

Written from the description in docs (methods.md §2.3, after Wu et al., "Sampling matters in deep
embedding learning"); positives are the other augmentations of the same photo (same instance id).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Triplets:
    anchor: torch.Tensor  # (t,) long indices into the batch
    positive: torch.Tensor
    negative: torch.Tensor

    def __len__(self) -> int:
        return int(self.anchor.numel())


def pairwise_distances(x: torch.Tensor) -> torch.Tensor:
    sq = (x.unsqueeze(1) - x.unsqueeze(0)).pow(2).sum(-1)
    return (sq + 1e-8).sqrt()


def log_inverse_density(d: torch.Tensor, dim: int) -> torch.Tensor:
    """log(1 / q(d)) for the distance between two uniform points on the unit sphere in `dim` dims.

    q(d) ∝ d^(n−2) (1 − d²/4)^((n−3)/2); weighting negatives by 1/q draws them as if distances
    were uniform, instead of all at ~√2. In log space: in 1280 or 2048 dims the weights span
    hundreds of orders of magnitude.
    """
    one_minus = (1.0 - d.pow(2) / 4.0).clamp(min=1e-8)
    return (2.0 - dim) * d.log() - ((dim - 3.0) / 2.0) * one_minus.log()


class DistanceWeightedSampling:
    """One negative per (anchor, positive) pair, drawn with probability ∝ 1/q(d) among close negatives.

    Candidates are the other photos (different instance id) closer than `nonzero_loss_cutoff`
    (farther ones cannot give a loss); distances are clamped below at `cutoff`. When an anchor has
    no candidate, its negatives are drawn uniformly among all other photos; an anchor without
    positives, or without any other photo in the batch, gives no triplet.

    The weights are shifted by each row's maximum before exponentiating (MultiGrain shifts by the
    global maximum): rows are normalised anyway, so the distribution is the same, but a row whose
    candidates are all far from the batch's closest pair no longer underflows to "no candidate".
    """

    def __init__(self, cutoff: float = 0.5, nonzero_loss_cutoff: float = 1.4) -> None:
        self.cutoff, self.nonzero_loss_cutoff = cutoff, nonzero_loss_cutoff

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, ids: torch.Tensor, generator: torch.Generator | None = None) -> Triplets:
        n, dim = x.shape
        x = x.detach().float()
        d = pairwise_distances(x)
        d.fill_diagonal_(1.0)
        d = d.clamp(min=self.cutoff)
        log_w = log_inverse_density(d, dim)
        negatives = ids.unsqueeze(0) != ids.unsqueeze(1)  # never the photo itself nor its copies
        candidates = negatives & (d < self.nonzero_loss_cutoff)
        log_w = log_w.masked_fill(~candidates, float("-inf"))
        row_max = log_w.amax(dim=1, keepdim=True)
        w = torch.exp(log_w - row_max.clamp(min=-1e30))  # rows of -inf stay 0 (exp(-inf))
        w = torch.nan_to_num(w, nan=0.0)
        anchors, positives, chosen = [], [], []
        same = ~negatives
        same.fill_diagonal_(False)
        for i in range(n):
            pos = same[i].nonzero().flatten()
            k = int(pos.numel())
            if k == 0 or not bool(negatives[i].any()):
                continue
            row = w[i] if float(w[i].sum()) > 0 else negatives[i].float()
            available = int((row > 0).sum())
            neg = torch.multinomial(row / row.sum(), k, replacement=available < k, generator=generator)
            anchors.append(torch.full((k,), i, dtype=torch.long))
            positives.append(pos.cpu())
            chosen.append(neg.cpu())
        if not anchors:
            empty = torch.zeros(0, dtype=torch.long)
            return Triplets(empty, empty, empty)
        return Triplets(torch.cat(anchors), torch.cat(positives), torch.cat(chosen))


class MarginLoss(nn.Module):
    """Margin loss on L2-normalised embeddings: max(0, d_ap − β + α) + max(0, β − d_an + α).

    β is one learnable scalar (the boundary between positives and negatives); the caller gives it
    its own optimiser without weight decay. The sum is divided by the number of triplets with at
    least one active term, so easy triplets do not dilute the gradient.
    """

    def __init__(self, margin: float = 0.2, beta_init: float = 1.2,
                 sampling: DistanceWeightedSampling | None = None) -> None:
        super().__init__()
        self.margin = margin
        self.beta = nn.Parameter(torch.tensor(float(beta_init)))
        self.sampling = sampling or DistanceWeightedSampling()

    def forward(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        t = self.sampling(x, ids)
        if len(t) == 0:
            return (x.sum() + self.beta) * 0.0  # keeps the graph: backward works, nothing moves
        dev = x.device
        a, p, n = x[t.anchor.to(dev)], x[t.positive.to(dev)], x[t.negative.to(dev)]
        d_ap = ((p - a).pow(2).sum(-1) + 1e-8).sqrt()
        d_an = ((n - a).pow(2).sum(-1) + 1e-8).sqrt()
        pos = F.relu(d_ap - self.beta + self.margin)
        neg = F.relu(self.beta - d_an + self.margin)
        active = ((pos > 0) | (neg > 0)).sum().clamp(min=1)
        return (pos + neg).sum() / active


class JointLoss(nn.Module):
    """λ·CE(classifier, pseudo-labels) + (1 − λ)·margin(normalised embedding, instance ids)."""

    def __init__(self, classif_weight: float = 0.5, margin: MarginLoss | None = None) -> None:
        super().__init__()
        self.classif_weight = classif_weight
        self.margin = margin or MarginLoss()

    def forward(self, out: dict[str, torch.Tensor], targets: torch.Tensor,
                ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """`targets`: class indices (n,) or class probabilities (n, classes) — both work with CE."""
        ce = F.cross_entropy(out["classifier_output"].float(), targets)
        lam = self.classif_weight
        margin = self.margin(out["normalized_embedding"].float(), ids) if lam < 1 else ce.new_zeros(())
        return {"loss": lam * ce + (1 - lam) * margin, "ce": ce.detach(), "margin": margin.detach()}
