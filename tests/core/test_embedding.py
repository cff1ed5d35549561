"""The MultiGrain engine: pooling, weights, whitening, and the Embedder on real photos."""

from __future__ import annotations

import shutil
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mgdesk.core.embedding import Whitening, class_names
from mgdesk.core.embedding.gem import gem
from mgdesk.core.embedding.backbones import (
    WeightsError,
    create_backbone,
    load_by_order,
    resnet50_features,
)
from mgdesk.core.embedding.embedder import snapped_size
from mgdesk.core.embedding.importing import import_multigrain
from mgdesk.core.imaging import LoadFailure

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
PHOTOS = DATA / "photos"


# -- GeM --------------------------------------------------------------------------------------------
def test_gem_with_p_one_is_average_pooling():
    x = torch.rand(2, 5, 7, 3)
    assert torch.allclose(gem(x, 1.0), x.mean(dim=(-2, -1)))


def test_gem_grows_towards_max_pooling_with_p():
    x = torch.rand(1, 4, 6, 6)
    p3, p30 = gem(x, 3.0), gem(x, 30.0)
    assert torch.all(p3 > x.mean(dim=(-2, -1)))
    assert torch.all(p30 > p3)
    assert torch.allclose(gem(x, float("inf")), x.amax(dim=(-2, -1)))


def test_gem_clamps_negative_activations_instead_of_producing_nan():
    x = torch.full((1, 3, 4, 4), -0.3)
    out = gem(x, 3.0)
    assert torch.isfinite(out).all() and torch.allclose(out, torch.full_like(out, 1e-6), rtol=1e-3)


# -- weights ----------------------------------------------------------------------------------------
def test_weights_are_mapped_by_order_and_a_shape_mismatch_fails_loudly():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    good = OrderedDict((f"other.{i}", t.clone() + 1) for i, t in enumerate(model.state_dict().values()))
    load_by_order(model, good, "test")
    assert torch.equal(model[0].weight, list(good.values())[0])
    bad = OrderedDict(good)
    bad["other.0"] = torch.zeros(4, 4)
    with pytest.raises(WeightsError, match="does not fit"):
        load_by_order(model, bad, "test")
    with pytest.raises(WeightsError, match="tensors"):
        load_by_order(model, OrderedDict(list(good.items())[:2]), "test")


def _fake_multigrain_checkpoint(path: Path, p: float = 3.0) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    features, fc = resnet50_features()
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    state["pool.p"] = torch.tensor(p)
    state["classifier.weight"] = torch.randn(1000, 2048) * 0.01
    state["classifier.bias"] = torch.randn(1000) * 0.01
    torch.save({"model_state": state, "epoch": 120}, path)
    return state


def test_a_multigrain_checkpoint_round_trips_through_import(tmp_path, isolated_home):
    src = tmp_path / "joint_3B_0.5.pth"
    state = _fake_multigrain_checkpoint(src, p=3.0)
    card = import_multigrain(src)
    assert card.trunk == "multigrain_resnet50" and card.p_classification == 3.0
    backbone = create_backbone(card.trunk, card.weights)
    assert backbone.p == 3.0
    for name, tensor in backbone.features.state_dict().items():
        assert torch.equal(tensor, state[f"features.{name}"]), name
    assert torch.equal(backbone.classifier.weight, state["classifier.weight"])


def test_a_checkpoint_with_pickled_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pth"
    torch.save({"model_state": {"x": torch.zeros(1)}, "payload": Evil()}, path)
    with pytest.raises(WeightsError, match="pickled objects, which mgdesk never loads"):
        create_backbone("multigrain_resnet50", str(path))


def test_a_checkpoint_of_another_network_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"model_state": {"classifier.weight": torch.zeros(10, 512)}}, path)
    with pytest.raises(WeightsError, match="missing tensor"):
        create_backbone("multigrain_resnet50", str(path))


# -- whitening --------------------------------------------------------------------------------------
def test_whitening_decorrelates_and_round_trips_through_a_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 16)) @ rng.normal(size=(16, 16))
    w = Whitening.fit(x, shrinkage=0.0)
    y = (Whitening.fit(x, shrinkage=0.0).apply(x))
    assert np.allclose(np.linalg.norm(y, axis=1), 1, atol=1e-4)
    z = (x / np.linalg.norm(x, axis=1, keepdims=True) - w.mean) @ w.projection.T
    cov = np.cov(z.T)
    assert np.allclose(cov, np.eye(16), atol=0.05)
    w.save(tmp_path / "w.npz")
    again = Whitening.load(tmp_path / "w.npz")
    assert np.array_equal(again.projection, w.projection) and np.array_equal(again.apply(x), y)


def test_whitening_can_reduce_dimensions_and_identity_changes_nothing():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 32)).astype(np.float32)
    assert Whitening.fit(x, dim=8).apply(x).shape == (50, 8)
    assert Whitening.fit(x).dim == 32  # rank-limited: n - 1 = 49 > 32
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert np.allclose(Whitening.identity(32).apply(x), unit, atol=1e-5)


# -- embedder ---------------------------------------------------------------------------------------
def test_shapes_snap_to_multiples_of_32_keeping_the_longest_side():
    assert snapped_size(4000, 3000, 384) == (384, 288)
    assert snapped_size(3000, 4000, 384) == (288, 384)
    assert snapped_size(5000, 10, 384) == (384, 32)


def test_class_names_are_the_thousand_imagenet_classes():
    names = class_names()
    assert len(names) == 1000 and names[340] == "zebra" and len(set(names)) == 1000


@pytest.fixture(scope="module")
def embedder():
    from mgdesk.core.embedding import Embedder

    return Embedder("lite0", device="cpu", view_angles=(90, 180, 270), view_side=256)


def test_real_photos_get_their_imagenet_class(embedder):
    names = class_names()
    expected = {"set14_img_014.jpg": "zebra", "set14_img_011.jpg": "monarch", "set14_img_001.jpg": "baboon"}
    results = list(embedder.embed_paths([PHOTOS / f for f in expected]))
    for result, label in zip(results, expected.values()):
        top5 = [names[c] for c, _ in result.top_classes]
        assert label in top5, (result.path, top5)


CAT_CLASSES = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat", "cougar", "lynx",
               "leopard", "snow leopard", "jaguar", "lion", "tiger", "cheetah"}


def test_cat_photos_have_a_cat_class_in_their_top_five_and_others_do_not(embedder):
    names = class_names()
    cats = ["bsd100_img_007.jpg", "bsd100_img_016.jpg", "bsd100_img_078.jpg"]  # tiger, leopard, cougar
    others = ["set14_img_011.jpg", "urban100_img_005.jpg"]  # a butterfly, a building
    results = list(embedder.embed_paths([PHOTOS / f for f in cats + others]))
    for result in results[: len(cats)]:
        assert CAT_CLASSES & {names[c] for c, _ in result.top_classes}, result.path
    for result in results[len(cats):]:
        assert not CAT_CLASSES & {names[c] for c, p in result.top_classes if p > 0.05}, result.path


def test_the_same_photo_decoded_twice_gives_identical_descriptors(embedder, tmp_path):
    src = PHOTOS / "bsd100_img_010.jpg"
    shutil.copy(src, tmp_path / "copy.jpg")
    a, b = embedder.embed_paths([src, tmp_path / "copy.jpg"])
    assert a.descriptor.shape == (embedder.dim,) and a.descriptor.dtype == np.float32
    assert np.array_equal(a.descriptor, b.descriptor)
    assert abs(np.linalg.norm(a.descriptor) - 1) < 1e-4


def test_bad_files_come_back_as_errors_in_order_and_the_rest_still_embeds(embedder, tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("not a photo")
    paths = [PHOTOS / "bsd100_img_001.jpg", tmp_path / "empty.jpg", tmp_path / "notes.jpg",
             tmp_path / "gone.jpg", PHOTOS / "bsd100_img_002.jpg"]
    results = list(embedder.embed_paths(paths))
    assert [r.path for r in results] == [str(p) for p in paths]
    assert [r.ok for r in results] == [True, False, False, False, True]
    assert results[1].error.reason == LoadFailure.EMPTY
    assert results[3].error.reason == LoadFailure.MISSING


def test_a_rotated_copy_matches_its_original_through_the_rotated_view(embedder, tmp_path):
    from PIL import Image

    src = PHOTOS / "urban100_img_005.jpg"
    Image.open(src).rotate(-90, expand=True).save(tmp_path / "turned.jpg", quality=90)
    original, turned = embedder.embed_paths([src, tmp_path / "turned.jpg"])
    direct = float(original.descriptor @ turned.descriptor)
    through_view = float((original.views @ turned.descriptor).max())
    assert through_view > 0.9 and through_view > direct + 0.05


def test_embedding_reports_progress_and_stops_when_cancelled(embedder):
    paths = sorted(PHOTOS.glob("bsd100_*.jpg"))[:12]
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int, path: str) -> None:
        seen.append(done)
        if done == 3:
            cancel.set()

    results = list(embedder.embed_paths(paths, progress=progress, cancel=cancel, chunk=2))
    assert 3 <= len(results) < len(paths)
    assert seen[:3] == [1, 2, 3]


def test_folding_batchnorm_keeps_the_descriptors_and_the_tags_of_real_photos(embedder):
    from mgdesk.core.embedding.fold import fold_batchnorm
    from mgdesk.core.embedding.multigrain import MultiGrainNet
    from mgdesk.core.embedding.backbones import create_backbone

    card = embedder.card
    plain = MultiGrainNet(create_backbone(card.trunk, card.weights), card.p_retrieval, card.p_classification).eval()
    folded = fold_batchnorm(plain)
    assert folded is not plain
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())  # the original is left as it was
    photos = sorted(PHOTOS.glob("*.jpg"))[:4]
    pixels = [np.asarray(Image.open(p).convert("RGB").resize((224, 224))) for p in photos]
    batch = torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2).float() / 127.5 - 1  # mean = std = 0.5
    with torch.inference_mode():
        want, got = plain(batch), folded(batch)
    cosine = (want["normalized_embedding"] * got["normalized_embedding"]).sum(-1)
    assert float(cosine.min()) > 0.99999
    assert torch.equal(want["classifier_output"].topk(5).indices, got["classifier_output"].topk(5).indices)


def test_a_resnet_trunk_folds_too_and_a_training_network_is_refused():
    from mgdesk.core.embedding.backbones import resnet50_features
    from mgdesk.core.embedding.fold import fold_batchnorm

    features, _ = resnet50_features()
    for m in features.modules():  # statistics that are not the identity, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    with pytest.raises(ValueError):
        fold_batchnorm(features.train())
    folded = fold_batchnorm(features.eval())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
