"""TrainConfig: every fine-tuning hyper-parameter in one frozen place, defaults from MultiGrain.

MultiGrain (methods.md §2.3–2.6) trains from scratch on ImageNet: lr 0.2 at batch 512, 120 epochs.
Here a pretrained model is adapted to a few hundred or thousand photos, so a few things change and
say why next to the field. Everything else (λ, α, β, m, the sampler's cutoffs, jitter, SGD
momentum and weight decay, a step schedule, β's own optimiser) is MultiGrain's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TrainConfig:
    base_model: str = "lite0"  # model card to start from
    epochs: int = 3
    batch_size: int = 24  # a multiple of `repeats`, so RA copies of a photo share a batch
    input_size: int | None = None  # square crop side; None: the card's retrieval_side
    decode_side: int | None = None  # longest side photos are decoded at; None: 2 × input_size
    device: str | None = None  # None: CUDA when available, else CPU
    workers: int = 0  # DataLoader decode processes (0: decode in the training thread)
    seed: int = 0
    max_photos: int | None = None  # a seeded random subset of the library, None: all

    # losses (§2.3)
    classif_weight: float = 0.5  # λ in λ·CE + (1 − λ)·margin, as the released joint models
    margin: float = 0.2  # α
    beta_init: float = 1.2  # β, one learnable scalar with its own SGD, no weight decay
    beta_lr_factor: float = 1.0  # β's lr = lr × this
    sampling_cutoff: float = 0.5  # distances clamped below at this before weighting
    nonzero_loss_cutoff: float = 1.4  # negatives farther than this give no loss: not sampled
    # Pseudo-labels from the starting model (a user's photos have no ImageNet labels):
    # "soft": its top-5 probabilities (rest spread evenly) — CE to those is minimised by the
    # teacher's own distribution, so tag scores stay calibrated; "top1": its arg-max as a hard
    # label (sharpens probabilities a little over training).
    pseudo_labels: str = "soft"

    # RA sampler (§2.4)
    repeats: int = 3  # m: each photo m times in a row, the copies are each other's positives
    # Samples per epoch = factor × photos. MultiGrain uses 2 (so 2/3 of ImageNet per epoch at m=3);
    # for fine-tuning it equals m, so every photo (m augmentations of it) is seen every epoch.
    epoch_len_factor: float = 3.0

    # augmentation (§2.5, "full" without the PCA lighting noise)
    crop_scale: tuple[float, float] = (0.25, 1.0)  # torchvision's 0.08 would make positives that
    # share almost nothing; the app's copies keep >= ~50 % of the area (crop_offset in nd-dev)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    jitter: float = 0.3  # brightness = contrast = saturation

    # optimisation (§2.6)
    base_lr: float = 0.01  # at batch 512: 1/20 of MultiGrain's from-scratch 0.2, for fine-tuning
    lr: float | None = None  # explicit lr; None: base_lr × batch_size / 512 (linear scaling)
    momentum: float = 0.9
    weight_decay: float = 1e-4
    lr_drops: tuple[float, ...] = (0.5, 0.75)  # fractions of all steps after which lr × drop_factor
    # (MultiGrain drops at 1/4, 1/2, 3/4 of 120 epochs; a short fine-tune keeps the first half)
    lr_drop_factor: float = 0.1
    freeze_bn: bool = True  # keep BatchNorm running statistics: small batches of one library would
    # drift them away from what the classifier (and the tags) were calibrated on

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError("epochs must be at least 1")
        if self.repeats < 1:
            raise ValueError("repeats must be at least 1")
        if self.batch_size < 2:
            raise ValueError("batch size must be at least 2")
        if self.repeats == 1 and self.classif_weight < 1:
            raise ValueError("with repeats = 1 there are no positives: classif_weight must be 1")
        if not 0 <= self.classif_weight <= 1:
            raise ValueError("classif_weight must be in [0, 1]")
        if self.pseudo_labels not in ("soft", "top1"):
            raise ValueError("pseudo_labels must be 'soft' or 'top1'")
        if self.input_size is not None and self.input_size < 32:
            raise ValueError("input size must be at least 32 pixels")

    @property
    def effective_lr(self) -> float:
        return self.lr if self.lr is not None else self.base_lr * self.batch_size / 512

    def lr_at(self, step: int, total_steps: int) -> float:
        """Step schedule: lr × factor for every drop fraction already passed."""
        passed = sum(1 for f in self.lr_drops if step >= f * total_steps)
        return self.effective_lr * self.lr_drop_factor**passed

    def to_dict(self) -> dict:
        return asdict(self)
