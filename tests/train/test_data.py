from collections import Counter

import pytest
import torch
from PIL import Image

from mgdesk.train.data import PhotoDataset, RASampler, collate, soft_target, train_transform


def _runs(stream):
    runs, start = [], 0
    for i in range(1, len(stream) + 1):
        if i == len(stream) or stream[i] != stream[start]:
            runs.append((stream[start], i - start))
            start = i
    return runs


def test_the_ra_sampler_emits_each_index_m_times_in_a_row_and_covers_the_data():
    sampler = RASampler(10, repeats=3, len_factor=3.0, seed=1)
    stream = list(sampler)
    assert len(stream) == len(sampler) == 30
    assert all(length == 3 for _, length in _runs(stream))
    assert Counter(stream) == {i: 3 for i in range(10)}


def test_a_short_epoch_still_repeats_and_a_long_one_chains_permutations():
    short = list(RASampler(10, repeats=3, len_factor=2.0, seed=0))
    assert len(short) == 20
    assert all(length == 3 for _, length in _runs(short)[:-1])  # the last run may be cut by the epoch end
    long = list(RASampler(4, repeats=2, len_factor=4.0, seed=0))
    assert Counter(long) == {i: 4 for i in range(4)}


def test_each_epoch_draws_a_new_order_and_a_seed_repeats_it():
    a = RASampler(50, seed=3)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    a.set_epoch(0)
    assert list(a) == first == list(RASampler(50, seed=3))


def test_a_soft_target_keeps_the_teachers_top_probabilities_and_sums_to_one():
    t = soft_target([(5, 0.6), (7, 0.2)])
    assert t.sum().item() == pytest.approx(1.0)
    assert t[5].item() == pytest.approx(0.6) and t[7].item() == pytest.approx(0.2)
    assert t[0].item() == pytest.approx(0.2 / 998)


def test_a_photo_that_no_longer_decodes_is_dropped_from_its_batch(tmp_path):
    good = tmp_path / "good.jpg"
    Image.new("RGB", (80, 60), (200, 10, 10)).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    ds = PhotoDataset([str(good), str(bad)], [3, 4], train_transform(32, (0.5,) * 3, (0.5,) * 3), decode_side=64)
    batch = collate([ds[0], ds[1], ds[0]])
    images, targets, ids = batch
    assert images.shape == (2, 3, 32, 32)
    assert targets.tolist() == [3, 3] and ids.tolist() == [0, 0]
    assert collate([ds[1]]) is None


def test_training_images_are_upright_per_exif(tmp_path):
    # A 40x80 (portrait) pixel array stored with Orientation 6: displayed landscape, 80 wide.
    path = tmp_path / "rotated.jpg"
    img = Image.new("RGB", (40, 80), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(path, exif=exif)
    ds = PhotoDataset([str(path)], [0], lambda im: torch.tensor(im.size), decode_side=200)
    size, _, _ = ds[0]
    assert size.tolist() == [80, 40]
