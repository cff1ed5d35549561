"""Training data: photo paths → augmented tensors with pseudo-labels, and the repeated-augmentation sampler."""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from typing import Iterator, Sequence

import torch
from torch.utils.data import Dataset, Sampler
from torchvision import transforms

from mgdesk.core.imaging import ImageLoadError, load_image

log = logging.getLogger(__name__)

NUM_CLASSES = 1000


class RASampler(Sampler[int]):
    """Repeated augmentation (MultiGrain §2.4): a shuffled permutation, each index `repeats` times in a row.

    Consecutive chunks of the stream become batches, so a batch holds about batch/m photos, each
    as m independent augmentations — the positives of the margin loss, with no labels needed.
    An epoch is round(len_factor × n) samples; permutations are chained when that is more than
    n × m, and each epoch draws new ones (call `set_epoch`, as with DistributedSampler).
    """

    def __init__(self, n: int, repeats: int = 3, len_factor: float = 3.0, seed: int = 0) -> None:
        if n < 1:
            raise ValueError("RASampler needs at least one item")
        self.n, self.repeats, self.len_factor, self.seed = n, repeats, len_factor, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return max(1, int(round(self.len_factor * self.n)))

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        need = len(self)
        rounds = math.ceil(need / (self.n * self.repeats))
        stream = torch.cat([torch.randperm(self.n, generator=g).repeat_interleave(self.repeats)
                            for _ in range(rounds)])
        return iter(stream[:need].tolist())


class _Clamp:
    """Keep pixels in [0, 1] after colour jitter (a class, not a lambda, so workers can pickle it)."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp_(0.0, 1.0)


def train_transform(size: int, mean: Sequence[float], std: Sequence[float], *,
                    scale: tuple[float, float] = (0.25, 1.0), ratio: tuple[float, float] = (3 / 4, 4 / 3),
                    jitter: float = 0.3) -> transforms.Compose:
    """MultiGrain's "full" augmentation without the PCA lighting noise, normalised like the model card."""
    return transforms.Compose([
        transforms.RandomResizedCrop(size, scale=scale, ratio=ratio, antialias=True),
        transforms.RandomHorizontalFlip(),
        transforms.ColorJitter(brightness=jitter, contrast=jitter, saturation=jitter),
        transforms.ToTensor(),
        _Clamp(),
        transforms.Normalize(mean, std),
    ])


def soft_target(top_classes: Sequence[tuple[int, float]], num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """A full distribution from a model's top-k probabilities: the remaining mass spread evenly."""
    target = torch.zeros(num_classes)
    if not top_classes:
        return target.fill_(1.0 / num_classes)
    idx = torch.tensor([c for c, _ in top_classes], dtype=torch.long)
    probs = torch.tensor([p for _, p in top_classes], dtype=torch.float32).clamp(min=0)
    rest = max(0.0, 1.0 - float(probs.sum()))
    target.fill_(rest / max(1, num_classes - len(top_classes)))
    target[idx] = probs
    return target / target.sum()


class PhotoDataset(Dataset):
    """Item i: (augmented image, pseudo-label, i) — the index is the instance id of the margin loss.

    `labels[i]` is either a class index (hard) or a list of (class, probability) (soft). Photos are
    decoded EXIF-upright by imaging.load_image at `decode_side`; the last few decodes are kept,
    since the RA sampler asks for the same photo m times in a row. A photo that no longer decodes
    gives None (dropped by `collate`), with a warning: training goes on.
    """

    def __init__(self, paths: Sequence[str], labels: Sequence, transform, decode_side: int,
                 cache_size: int = 8) -> None:
        if len(paths) != len(labels):
            raise ValueError("one label per photo")
        self.paths, self.labels = list(paths), list(labels)
        self.transform, self.decode_side = transform, decode_side
        self._cache: OrderedDict[int, object] = OrderedDict()
        self.cache_size = cache_size

    def __len__(self) -> int:
        return len(self.paths)

    def _image(self, i: int):
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        try:
            image = load_image(self.paths[i], self.decode_side).image
        except ImageLoadError as err:
            log.warning("skipped in training: %s", err)
            image = None
        self._cache[i] = image
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return image

    def __getitem__(self, i: int):
        image = self._image(i)
        if image is None:
            return None
        label = self.labels[i]
        target = soft_target(label) if isinstance(label, (list, tuple)) else torch.tensor(int(label))
        return self.transform(image), target, i


def collate(items: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """Stack a batch, dropping photos that failed to decode; None when nothing is left."""
    items = [x for x in items if x is not None]
    if not items:
        return None
    images, targets, ids = zip(*items)
    return torch.stack(images), torch.stack(targets), torch.tensor(ids, dtype=torch.long)
