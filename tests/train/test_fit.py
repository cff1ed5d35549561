import threading

import numpy as np
import pytest
import torch

from mgdesk.core.embedding import Embedder, available_cards, load_card
from mgdesk.train import TrainConfig
from mgdesk.train.export import ExportError, export_model
from mgdesk.train.fit import TrainError, build_net, fit

# 12 photos, each 1x per epoch (len factor 1, m = 3): two batches of 6 = 2 steps, at 128 px.
SMALL = dict(epochs=1, batch_size=6, input_size=128, epoch_len_factor=1.0, lr=2e-3)


def test_a_short_fit_trains_exports_a_card_and_the_embedder_uses_it(photos):
    result = fit(photos, TrainConfig(**SMALL))
    assert not result.cancelled and result.steps == result.total_steps == 2
    assert len(result.losses) == 2 and all(np.isfinite(result.losses))
    base = build_net(load_card("lite0"))
    moved = [not torch.equal(a, b) for a, b in zip(result.net.state_dict().values(), base.state_dict().values())]
    assert any(moved)
    assert result.beta != 1.2  # beta learns with its own optimiser

    card, path = export_model(result.net, result.base_card, "mine-test")
    assert path.exists() and "mine-test" in available_cards()
    assert card.whitening is None and card.trunk == "tf_efficientnet_lite0"

    tuned = Embedder(model="mine-test").embed_file(photos[0])
    original = Embedder(model="lite0").embed_file(photos[0])
    assert tuned.ok and tuned.descriptor.shape == original.descriptor.shape == (1280,)
    assert np.linalg.norm(tuned.descriptor) == pytest.approx(1.0, abs=1e-4)
    cosine = float(tuned.descriptor @ original.descriptor)
    assert 0.5 < cosine < 0.999, cosine  # adapted, not replaced
    assert tuned.top_classes and abs(sum(p for _, p in tuned.top_classes)) <= 1.0001


def test_the_same_seed_gives_the_same_losses(photos):
    a = fit(photos, TrainConfig(**SMALL, seed=7))
    b = fit(photos, TrainConfig(**SMALL, seed=7))
    assert a.losses == b.losses


def test_cancel_stops_between_steps(photos):
    cancel = threading.Event()

    def progress(p):
        if p.phase == "train":
            cancel.set()

    result = fit(photos, TrainConfig(**SMALL), progress=progress, cancel=cancel)
    assert result.cancelled and result.steps == 1 and len(result.losses) == 1


def test_too_few_photos_is_a_clear_error(photos):
    with pytest.raises(TrainError, match="at least 8 photos"):
        fit(photos[:3], TrainConfig(**SMALL))


def test_an_existing_or_shipped_name_is_refused(photos):
    with pytest.raises(ExportError, match="shipped"):
        export_model(build_net(load_card("lite0")), load_card("lite0"), "lite0")
    with pytest.raises(ExportError, match="invalid"):
        export_model(build_net(load_card("lite0")), load_card("lite0"), "../escape")
