"""The fine-tuning loop: pseudo-labels from the starting model, then SGD on the joint MultiGrain loss.

Labels. A user's photos have no ImageNet labels, so the starting model labels them itself (its
top-5 probabilities, or its top-1 class): this self-distillation keeps the classifier — and so the
tags — where it was, while the margin loss (positives = augmentations of one photo, negatives =
other photos of the same library) adapts the descriptor to the user's kind of photos.
Later, the user's own decisions (kept / not-a-duplicate pairs in the decisions table) could give
real positives and hard negatives; not done yet.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from mgdesk.core.embedding.backbones import create_backbone
from mgdesk.core.embedding.cards import ModelCard, load_card
from mgdesk.core.embedding.multigrain import MultiGrainNet
from mgdesk.train.config import TrainConfig
from mgdesk.train.data import PhotoDataset, RASampler, collate, train_transform
from mgdesk.train.losses import DistanceWeightedSampling, JointLoss, MarginLoss

log = logging.getLogger(__name__)

MIN_PHOTOS = 8  # fewer than this and a batch has too few other photos to learn from


class TrainError(Exception):
    """Training cannot start or go on; str() is one line for the user."""


@dataclass(frozen=True)
class TrainProgress:
    """`phase`: "labels" (done/total photos) or "train" (done/total steps); `rate` is per second."""

    phase: str
    done: int
    total: int
    rate: float = 0.0
    epoch: int = 0
    loss: float | None = None
    ce: float | None = None
    margin: float | None = None
    beta: float | None = None
    lr: float | None = None

    def to_json(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class FitResult:
    net: MultiGrainNet
    base_card: ModelCard
    config: TrainConfig
    paths: list[str]  # photos trained on
    skipped: list[str] = field(default_factory=list)  # photos that could not be decoded
    losses: list[float] = field(default_factory=list)  # one per step
    steps: int = 0
    total_steps: int = 0
    beta: float = 0.0
    seconds: float = 0.0
    cancelled: bool = False

    @property
    def first_loss(self) -> float | None:
        return self.losses[0] if self.losses else None

    @property
    def last_loss(self) -> float | None:
        return self.losses[-1] if self.losses else None


Progress = Callable[[TrainProgress], None]


def build_net(card: ModelCard) -> MultiGrainNet:
    """The card's network, built exactly as the Embedder builds it."""
    backbone = create_backbone(card.trunk, card.weights)
    return MultiGrainNet(backbone, card.p_retrieval, card.p_classification)


def pseudo_labels(paths: Sequence[str], card: ModelCard, config: TrainConfig, device: str,
                  progress: Progress | None = None, cancel: threading.Event | None = None
                  ) -> tuple[list[str], list, list[str]]:
    """(paths kept, one label per kept path, paths that failed to decode) from the starting model."""
    from mgdesk.core.embedding.embedder import Embedder

    embedder = Embedder(card=card, device=device, batch_size=16, workers=max(1, config.workers),
                        view_angles=())
    kept, labels, skipped = [], [], []
    start = time.monotonic()
    for n, result in enumerate(embedder.embed_paths(paths, cancel=cancel), 1):
        if result.error is not None or not result.top_classes:
            log.warning("not used for training: %s", result.error)
            skipped.append(result.path)
        else:
            kept.append(result.path)
            top = result.top_classes
            labels.append(int(top[0][0]) if config.pseudo_labels == "top1" else [(int(c), float(p)) for c, p in top])
        if progress is not None:
            progress(TrainProgress("labels", n, len(paths), n / max(time.monotonic() - start, 1e-9)))
    return kept, labels, skipped


def _freeze_batchnorm(net: nn.Module) -> None:
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


def fit(paths: Sequence[str], config: TrainConfig = TrainConfig(), progress: Progress | None = None,
        cancel: threading.Event | None = None) -> FitResult:
    """Fine-tune `config.base_model` on the photos; the returned net is on the CPU, in eval mode.

    Deterministic for a seed on the CPU with workers = 0 (augmentations and negative sampling draw
    from torch's seeded generator). When `cancel` is set the loop stops between steps and the
    result says `cancelled` (its weights are a partly trained model: callers should not export it).
    """
    from mgdesk.core.embedding.embedder import pick_device

    paths = [str(p) for p in paths]
    if config.max_photos is not None and len(paths) > config.max_photos:
        pick = np.random.default_rng(config.seed).choice(len(paths), config.max_photos, replace=False)
        paths = [paths[i] for i in sorted(pick)]
    if len(paths) < MIN_PHOTOS:
        raise TrainError(f"need at least {MIN_PHOTOS} photos to fine-tune, the library has {len(paths)}")
    torch.manual_seed(config.seed)
    device = pick_device(config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainError("CUDA is not available here; train on the CPU (--device cpu)")
    card = load_card(config.base_model)
    started = time.monotonic()

    kept, labels, skipped = pseudo_labels(paths, card, config, str(device), progress, cancel)
    result = FitResult(net=build_net(card), base_card=card, config=config, paths=kept, skipped=skipped)
    if cancel is not None and cancel.is_set():
        result.cancelled = True
        return result
    if len(kept) < MIN_PHOTOS:
        raise TrainError(f"need at least {MIN_PHOTOS} readable photos to fine-tune, found {len(kept)}")

    size = config.input_size or card.retrieval_side
    transform = train_transform(size, card.mean, card.std, scale=config.crop_scale, ratio=config.crop_ratio,
                                jitter=config.jitter)
    dataset = PhotoDataset(kept, labels, transform, decode_side=config.decode_side or 2 * size)
    sampler = RASampler(len(kept), config.repeats, config.epoch_len_factor, seed=config.seed)
    loader = DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, num_workers=config.workers,
                        collate_fn=collate, generator=torch.Generator().manual_seed(config.seed),
                        pin_memory=device.type == "cuda", persistent_workers=config.workers > 0)

    net = result.net.to(device).train()
    if config.freeze_bn:
        _freeze_batchnorm(net)
    criterion = JointLoss(config.classif_weight, MarginLoss(
        config.margin, config.beta_init,
        DistanceWeightedSampling(config.sampling_cutoff, config.nonzero_loss_cutoff))).to(device)
    beta = criterion.margin.beta
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=config.effective_lr,
                          momentum=config.momentum, weight_decay=config.weight_decay)
    beta_opt = torch.optim.SGD([beta], lr=config.effective_lr * config.beta_lr_factor,
                               momentum=config.momentum, weight_decay=0.0)

    steps_per_epoch = len(loader)
    result.total_steps = total = config.epochs * steps_per_epoch
    log.info("fine-tuning %s on %d photos: %d steps of %d at %d px on %s, lr %.2g",
             card.name, len(kept), total, config.batch_size, size, device, config.effective_lr)
    train_start = time.monotonic()
    step = 0
    for epoch in range(config.epochs):
        sampler.set_epoch(epoch)
        for batch in loader:
            if cancel is not None and cancel.is_set():
                result.cancelled = True
                break
            step += 1
            if batch is None or batch[0].shape[0] < 2:
                continue  # every photo of the batch failed, or a lone leftover: nothing to learn
            images, targets, ids = (t.to(device, non_blocking=True) for t in batch)
            lr = config.lr_at(step - 1, total)
            for group in opt.param_groups:
                group["lr"] = lr
            for group in beta_opt.param_groups:
                group["lr"] = lr * config.beta_lr_factor
            losses = criterion(net(images), targets, ids)
            opt.zero_grad(set_to_none=True)
            beta_opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            opt.step()
            beta_opt.step()
            loss = float(losses["loss"].detach())
            if not np.isfinite(loss):
                raise TrainError(f"the loss diverged at step {step} (lr {lr:.2g}); try a smaller --lr")
            result.losses.append(loss)
            result.steps = step
            if progress is not None:
                progress(TrainProgress("train", step, total, step / max(time.monotonic() - train_start, 1e-9),
                                       epoch + 1, loss, float(losses["ce"]), float(losses["margin"]),
                                       float(beta.detach()), lr))
        if result.cancelled:
            break
    result.beta = float(beta.detach())
    result.net = net.cpu().eval()
    result.seconds = time.monotonic() - started
    return result
