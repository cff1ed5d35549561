"""Grouping: candidates from k-NN, verified copies, complete-link groups that never chain."""

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps
from photo_edits import noisy, sharpened, stickered, watermarked

from mgdesk.core import grouping
from mgdesk.core.grouping import FeatureStore, Group, GroupingConfig, find_groups, verdict_key
from mgdesk.core.verify import VERIFIER_VERSION, LocalFeatures, PairVerifier

DEV = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nd-dev" / "images"
PHOTOS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "photos"
CAMERA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "formats" / "camera" / "jpg"


def fake_vector(im: Image.Image) -> np.ndarray:
    """A tiny stand-in embedder: the mean-free 8x8 luminance thumbnail, L2-normalised."""
    v = np.asarray(im.convert("L").resize((8, 8), Image.Resampling.BOX), np.float32).ravel()
    v = v - v.mean()
    return v / (np.linalg.norm(v) + 1e-9)


def fake_views(im: Image.Image) -> np.ndarray:
    return np.stack([fake_vector(im.rotate(a, expand=True)) for a in (90, 180, 270)]
                    + [fake_vector(ImageOps.mirror(im))])


def unit(v) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def chain_vectors():
    """A~B and B~C (cosine 0.8) while A and C are far apart (cosine 0.28)."""
    a = unit([1.0, 0.0, 0.0])
    c = unit([0.28, 0.96, 0.0])
    b = unit(a + c)
    return np.stack([a, b, c])


def test_a_chain_a_b_c_never_puts_a_and_c_together():
    vecs = chain_vectors()
    assert vecs[0] @ vecs[1] > 0.75 and vecs[0] @ vecs[2] < 0.3
    groups = find_groups([1, 2, 3], vecs, "similar", config=GroupingConfig(similar_cosine=0.75))
    assert len(groups) == 1
    assert not {1, 3} <= set(groups[0].members)
    assert len(groups[0].members) == 2


def test_similar_photos_form_one_group_with_the_medoid_as_anchor():
    rng = np.random.default_rng(0)
    base = unit(rng.standard_normal(16))
    vecs = np.stack([unit(base + 0.05 * rng.standard_normal(16)) for _ in range(4)]
                    + [unit(rng.standard_normal(16))])
    groups = find_groups(np.arange(10, 15), vecs, "similar", config=GroupingConfig(similar_cosine=0.7))
    assert [g.members for g in groups] == [(10, 11, 12, 13)]
    g = groups[0]
    assert g.level == "similar" and g.anchor in g.members and g.scores[g.anchor] == 1.0
    assert all(0.7 <= g.scores[m] <= 1.0 for m in g.members)


def test_a_not_duplicate_pair_is_never_grouped():
    vecs = np.stack([unit([1, 0.05, 0]), unit([1, 0, 0.05])])
    assert len(find_groups([1, 2], vecs, "similar")) == 1
    assert find_groups([1, 2], vecs, "similar", not_duplicate={frozenset({1, 2})}) == []


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="level"):
        find_groups([1, 2], np.eye(2, dtype=np.float32), "twins")
    with pytest.raises(ValueError, match="image_paths"):
        find_groups([1, 2], np.eye(2, dtype=np.float32), "copy")
    with pytest.raises(ValueError):
        GroupingConfig(k=0)


def test_a_cancelled_run_returns_nothing():
    cancel = threading.Event()
    cancel.set()
    vecs = np.stack([unit([1, 0.05, 0]), unit([1, 0, 0.05])])
    assert find_groups([1, 2], vecs, "similar", cancel=cancel) == []


# -- copy level with real photos and the real verifier ----------------------------------

@pytest.fixture(scope="module")
def verifier() -> PairVerifier:
    return PairVerifier()


def test_a_rotated_copy_is_found_through_its_views(tmp_path, verifier):
    orig = DEV / "g0002_orig.jpg"
    rot = DEV / "g0002_rot90.jpg"
    other = DEV / "g0003_orig.jpg"
    paths = {1: str(orig), 2: str(rot), 3: str(other)}
    ims = {i: ImageOps.exif_transpose(Image.open(p)).convert("RGB") for i, p in paths.items()}
    vecs = np.stack([fake_vector(ims[i]) for i in (1, 2, 3)])
    views = {i: fake_views(ims[i]) for i in (1, 2, 3)}
    config = GroupingConfig(copy_candidate_cosine=0.6)
    assert vecs[0] @ vecs[1] < 0.6  # the plain vectors alone would never make them candidates
    without = find_groups([1, 2, 3], vecs, "copy", image_paths=paths, config=config,
                          verifier=verifier)
    assert without == []
    groups = find_groups([1, 2, 3], vecs, "copy", views=views, image_paths=paths, config=config,
                         verifier=verifier)
    assert [g.members for g in groups] == [(1, 2)]
    assert groups[0].level == "copy" and groups[0].scores[groups[0].anchor] == 1.0


def test_two_halves_of_one_photo_do_not_chain_through_the_whole(tmp_path, verifier):
    im = ImageOps.exif_transpose(Image.open(DEV / "g0001_orig.jpg")).convert("RGB")
    w, h = im.size
    parts = {1: im.crop((0, 0, int(w * 0.45), h)), 2: im, 3: im.crop((int(w * 0.55), 0, w, h))}
    paths = {}
    for i, p in parts.items():
        paths[i] = str(tmp_path / f"{i}.png")
        p.save(paths[i])
    vecs = np.stack([unit([1, 0.01 * i, 0]) for i in (1, 2, 3)])  # force every pair to be a candidate
    groups = find_groups([1, 2, 3], vecs, "copy", image_paths=paths, verifier=verifier)
    assert len(groups) == 1 and 2 in groups[0].members and len(groups[0].members) == 2
    assert verifier.verify(paths[1], paths[2]).is_copy and verifier.verify(paths[3], paths[2]).is_copy


def _saved(tmp_path, images: dict) -> dict:
    paths = {}
    for i, im in images.items():
        paths[i] = str(tmp_path / f"{i}.png")
        im.save(paths[i])
    return paths


def test_a_thumbnail_and_a_tight_crop_share_the_original_they_both_verify_with(tmp_path, verifier):
    im = ImageOps.exif_transpose(Image.open(DEV / "g0003_orig.jpg")).convert("RGB")
    w, h = im.size
    thumb = im.copy()
    thumb.thumbnail((100, 100))
    paths = _saved(tmp_path, {1: im, 2: thumb, 3: im.crop((w // 2, 0, w, h // 2))})
    between = verifier.verify(paths[2], paths[3])
    assert not between.is_copy and between.undecided  # too little left to compare, no counter-evidence
    vecs = np.stack([unit([1, 0.01 * i, 0]) for i in (1, 2, 3)])  # every pair a candidate
    groups = find_groups([1, 2, 3], vecs, "copy", image_paths=paths, verifier=verifier)
    assert [g.members for g in groups] == [(1, 2, 3)]


def test_two_edits_that_disagree_too_much_with_each_other_share_the_original(tmp_path, verifier):
    # stickers in two places on one copy, in two others on a thumbnail: each verifies against
    # the photo (detail laid over one side); against each other each covers what the other
    # shows, which no single overlay explains, but nothing moved and nothing is clipped
    photo = ImageOps.exif_transpose(Image.open(DEV / "g0001_orig.jpg")).convert("RGB")
    w, h, r = photo.width, photo.height, min(photo.size) // 10
    first = stickered(photo, [(2 * r, 2 * r), (w // 2, h // 2)], r)
    thumb = stickered(photo, [(w - 2 * r, h - 2 * r), (w // 2, 2 * r)], r)
    thumb.thumbnail((160, 160))
    paths = _saved(tmp_path, {1: photo, 2: first, 3: thumb})
    between = verifier.verify(paths[2], paths[3])
    assert not between.is_copy and between.edits_apart, between.reason
    vecs = np.stack([unit([1, 0.01 * i, 0]) for i in (1, 2, 3)])
    groups = find_groups([1, 2, 3], vecs, "copy", image_paths=paths, verifier=verifier)
    assert [g.members for g in groups] == [(1, 2, 3)]


def _photo_and_three_edits(tmp_path) -> tuple[dict, np.ndarray]:
    """A photo, watermarked, sharpened and grainy; vectors that make every pair a candidate."""
    photo = ImageOps.exif_transpose(Image.open(DEV / "g0006_orig.jpg")).convert("RGB")
    paths = _saved(tmp_path, {1: photo, 2: watermarked(photo), 3: sharpened(photo), 4: noisy(photo)})
    return paths, np.stack([unit([1, 0.01 * i, 0]) for i in (1, 2, 3, 4)])


def test_edits_that_changed_the_same_places_differently_share_their_photo(tmp_path, verifier):
    # a watermark, sharpening and grain: against each other, detail moved or went missing both
    # ways (as between two frames); seen from the photo, each is one edit
    paths, vecs = _photo_and_three_edits(tmp_path)
    assert not any(verifier.verify(paths[2], paths[i]).is_copy for i in (3, 4))
    groups = find_groups([1, 2, 3, 4], vecs, "copy", image_paths=paths, verifier=verifier)
    assert [g.members for g in groups] == [(1, 2, 3, 4)]
    # the group is anchored on the photo they were all verified with
    assert groups[0].anchor == 1 and all(groups[0].scores[i] > 0.5 for i in (2, 3, 4))


def test_a_collage_does_not_make_the_two_photos_in_it_copies_of_each_other(tmp_path, verifier):
    a = ImageOps.exif_transpose(Image.open(DEV / "g0003_orig.jpg")).convert("RGB")
    b = ImageOps.exif_transpose(Image.open(DEV / "g0010_orig.jpg")).convert("RGB").resize(a.size)
    collage = Image.new("RGB", (a.width * 2, a.height))
    collage.paste(a, (0, 0))
    collage.paste(b, (a.width, 0))
    paths = _saved(tmp_path, {1: a, 2: collage, 3: b})
    assert verifier.verify(paths[1], paths[2]).is_copy and verifier.verify(paths[3], paths[2]).is_copy
    vecs = np.stack([unit([1, 0.01 * i, 0]) for i in (1, 2, 3)])
    (group,) = find_groups([1, 2, 3], vecs, "copy", image_paths=paths, verifier=verifier)
    assert len(group.members) == 2 and 2 in group.members


def test_a_thumbnail_that_first_met_a_ruined_copy_moves_to_the_original_s_group(tmp_path, verifier):
    # the q8 copy, resized afterwards (so its blocks are off the 8 px grid and it is compared
    # block by block), fails against the original but passes against the thumbnail (both lost
    # the same detail); the thumbnail's best cosine is the q8 copy's, so greedy merging pairs them
    import io

    from PIL import ImageEnhance

    im = ImageOps.exif_transpose(Image.open(DEV / "g0010_orig.jpg")).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=8)
    ruined = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    ruined = ruined.resize((im.width * 9 // 10, im.height * 9 // 10), Image.Resampling.LANCZOS)
    thumb = im.copy()
    thumb.thumbnail((160, 160))
    smaller = im.resize((im.width * 4 // 5, im.height * 4 // 5), Image.Resampling.LANCZOS)
    paths = _saved(tmp_path, {1: im, 2: ruined, 3: thumb, 4: smaller,
                              5: ImageEnhance.Brightness(im).enhance(1.1)})
    assert not verifier.verify(paths[1], paths[2]).is_copy
    assert verifier.verify(paths[2], paths[3]).is_copy
    vecs = np.stack([unit([1, 0.20, 0.00]), unit([0, 1, 0.02]), unit([0, 1, 0.00]),
                     unit([1, 0.21, 0.00]), unit([1, 0.19, 0.01])])
    vecs[2] = unit(vecs[1] + 0.5 * vecs[0])  # the thumbnail: nearest the ruined copy, close to all
    groups = find_groups([1, 2, 3, 4, 5], vecs, "copy", image_paths=paths, verifier=verifier,
                         config=GroupingConfig(copy_candidate_cosine=0.5))
    assert [g.members for g in groups] == [(1, 3, 4, 5)]


def test_a_not_duplicate_mark_splits_verified_copies(verifier):
    paths = {1: str(DEV / "g0001_orig.jpg"), 2: str(DEV / "g0001_color.jpg")}
    vecs = np.stack([unit([1, 0.01, 0]), unit([1, 0, 0.01])])
    assert len(find_groups([1, 2], vecs, "copy", image_paths=paths, verifier=verifier)) == 1
    assert find_groups([1, 2], vecs, "copy", image_paths=paths, verifier=verifier,
                       not_duplicate={frozenset({1, 2})}) == []


class DictCache:
    def __init__(self):
        self.data, self.gets, self.puts = {}, 0, 0

    def get(self, key):
        self.gets += 1
        return self.data.get(key)

    def put(self, key, verdict):
        self.puts += 1
        self.data[key] = verdict


def test_verdicts_are_cached_under_versioned_photo_keys(verifier):
    paths = {1: str(DEV / "g0001_orig.jpg"), 2: str(DEV / "g0001_color.jpg")}
    keys = {1: "hash-b", 2: "hash-a"}
    vecs = np.stack([unit([1, 0.01, 0]), unit([1, 0, 0.01])])
    cache = DictCache()
    first = find_groups([1, 2], vecs, "copy", image_paths=paths, photo_keys=keys,
                        verdict_cache=cache, verifier=verifier)
    assert list(cache.data) == [verdict_key("hash-a", "hash-b")] == [f"{VERIFIER_VERSION}:hash-a:hash-b"]
    # a second run reads the verdict instead of opening the photos
    missing = {1: "/nonexistent/a.jpg", 2: "/nonexistent/b.jpg"}
    again = find_groups([1, 2], vecs, "copy", image_paths=missing, photo_keys=keys,
                        verdict_cache=cache, verifier=verifier)
    assert [g.members for g in again] == [g.members for g in first] == [(1, 2)]
    assert cache.puts == 1


def test_an_unreadable_photo_is_skipped_not_fatal(tmp_path, verifier):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    paths = {1: str(DEV / "g0001_orig.jpg"), 2: str(bad)}
    vecs = np.stack([unit([1, 0.01, 0]), unit([1, 0, 0.01])])
    assert find_groups([1, 2], vecs, "copy", image_paths=paths, verifier=verifier) == []


def test_the_similar_level_also_holds_copies_below_the_similar_cosine(verifier):
    paths = {1: str(DEV / "g0001_orig.jpg"), 2: str(DEV / "g0001_color.jpg")}
    vecs = np.stack([unit([1, 0.9, 0]), unit([1, 0, 0.9])])  # cosine ~0.55
    config = GroupingConfig(copy_candidate_cosine=0.5, similar_cosine=0.8)
    groups = find_groups([1, 2], vecs, "similar", image_paths=paths, config=config, verifier=verifier)
    assert [g.members for g in groups] == [(1, 2)]
    assert find_groups([1, 2], vecs, "similar", config=config) == []


class ExplodingVerifier(PairVerifier):
    def verify(self, a, b):
        raise RuntimeError("boom")


def test_a_pair_whose_verification_fails_is_not_grouped_and_the_run_goes_on():
    paths = {1: str(DEV / "g0001_orig.jpg"), 2: str(DEV / "g0001_color.jpg")}
    vecs = np.stack([unit([1, 0.01, 0]), unit([1, 0, 0.01])])
    cache = DictCache()
    assert find_groups([1, 2], vecs, "copy", image_paths=paths, photo_keys={1: "a", 2: "b"},
                       verdict_cache=cache, verifier=ExplodingVerifier()) == []
    assert cache.puts == 0  # a failure is not remembered as a verdict


class VerifierThatCannotExplain(PairVerifier):
    def edits_explain(self, *args):
        raise np.linalg.LinAlgError("singular matrix")


def test_a_witness_that_fails_to_explain_a_pair_is_no_witness_and_the_run_goes_on(tmp_path):
    paths, vecs = _photo_and_three_edits(tmp_path)
    groups = find_groups([1, 2, 3, 4], vecs, "copy", image_paths=paths,
                         verifier=VerifierThatCannotExplain())
    assert groups and all(len(g.members) < 4 for g in groups)


class CountingVerifier(PairVerifier):
    def __init__(self):
        super().__init__()
        self.pairs, self.extracted = [], 0

    def features(self, image_or_path):
        if not isinstance(image_or_path, LocalFeatures):
            self.extracted += 1
        return super().features(image_or_path)

    def verify(self, a, b):
        self.pairs.append((a, b))
        return super().verify(a, b)


def test_the_copy_level_verifies_each_pair_once_and_never_a_pair_complete_link_cannot_use(monkeypatch):
    # 1 and 2 are copies; 3 is another photo close to both in the (forced) vectors: once 1~3 is
    # refused, 2~3 can no longer join the group {1, 2} and is not verified at all (on one core:
    # with more, a pair may be verified ahead before the pass knows it will not need it)
    monkeypatch.setattr(grouping, "_cores", lambda: 1)
    paths = {1: str(DEV / "g0001_orig.jpg"), 2: str(DEV / "g0001_color.jpg"),
             3: str(DEV / "g0003_orig.jpg")}
    vecs = np.stack([unit([1, 0.01, 0]), unit([1, 0, 0.01]), unit([1, 0.3, 0.3])])
    counting = CountingVerifier()
    groups = find_groups([1, 2, 3], vecs, "copy", image_paths=paths, verifier=counting)
    assert [g.members for g in groups] == [(1, 2)]
    verified = [frozenset(p) for p in counting.pairs]
    assert len(verified) == len(set(verified)) == 2
    assert counting.extracted == 3


class ThreadNotingVerifier(PairVerifier):
    def __init__(self):
        super().__init__()
        self.pairs, self.threads = [], []

    def verify(self, a, b):
        self.pairs.append(frozenset((a.points.tobytes(), b.points.tobytes())))
        self.threads.append(threading.current_thread().name)
        return super().verify(a, b)


@pytest.mark.parametrize("level", ["copy", "similar"])
def test_pairs_verified_ahead_on_other_cores_make_the_same_groups_and_none_is_verified_twice(monkeypatch, level):
    # four photos with their edits and two other photos, all close enough in the (forced)
    # vectors that every pair is a candidate: refusals and merges, as in a library
    names = sorted(p.name for p in DEV.glob("g000[1-4]_*")) + ["g0005_orig.jpg", "g0007_orig.jpg"]
    paths = {i: str(DEV / n) for i, n in enumerate(names, 1)}
    rng = np.random.default_rng(7)
    centre = unit(rng.normal(size=16))
    vecs = np.stack([unit(centre + 0.25 * rng.normal(size=16)) for _ in names])

    # at the similar level, a copy pass that verifies almost nothing leaves the pairs to the
    # merges of captures, which verify geometry where a merge hangs on it
    config = GroupingConfig(copy_candidate_cosine=0.95) if level == "similar" else GroupingConfig()

    def run(cores: int) -> tuple[list, ThreadNotingVerifier]:
        monkeypatch.setattr(grouping, "_cores", lambda: cores)
        verifier = ThreadNotingVerifier()
        groups = find_groups(list(paths), vecs, level, image_paths=paths, verifier=verifier, config=config)
        return [(g.members, g.scores) for g in groups], verifier

    alone, one_core = run(1)
    together, four_cores = run(4)
    assert together == alone
    assert len({m for m, _ in alone}) >= 4  # the photos' copy groups: the test has work to share
    assert set(one_core.threads) == {threading.main_thread().name}
    assert sum(t.startswith("mgdesk-verify") for t in four_cores.threads) > len(four_cores.pairs) / 2
    assert len(four_cores.pairs) == len(set(four_cores.pairs))


@pytest.mark.skipif(not FeatureStore(Path(".")).enabled,
                    reason="the verifier's LocalFeatures cannot be serialised yet")
def test_local_features_are_kept_across_runs_by_content_key(tmp_path):
    paths = {1: str(DEV / "g0001_orig.jpg"), 2: str(DEV / "g0001_color.jpg")}
    keys = {1: "hash-a", 2: "hash-b"}
    vecs = np.stack([unit([1, 0.01, 0]), unit([1, 0, 0.01])])
    store = FeatureStore(tmp_path / "features")
    first = CountingVerifier()
    assert len(find_groups([1, 2], vecs, "copy", image_paths=paths, photo_keys=keys,
                           verifier=first, feature_store=store)) == 1
    assert first.extracted == 2 and len(list((tmp_path / "features").glob("*.bin"))) == 2
    again = CountingVerifier()
    assert len(find_groups([1, 2], vecs, "copy", image_paths=paths, photo_keys=keys,
                           verifier=again, feature_store=FeatureStore(tmp_path / "features"))) == 1
    assert again.extracted == 0


def test_the_feature_store_stays_within_its_size_by_dropping_the_oldest(tmp_path):
    store = FeatureStore(tmp_path, max_bytes=250)
    for i, age in enumerate((300, 200, 100)):
        f = tmp_path / f"k{i}.bin"
        f.write_bytes(b"x" * 100)
        os.utime(f, (1_000_000 + age, 1_000_000 + age))
    store.trim()
    assert sorted(p.name for p in tmp_path.glob("*.bin")) == ["k0.bin", "k1.bin"]


def copy_and_neighbour():
    """1 and 2 are copies (cosine 0.6, under the similar cosine); 3 is another photo very
    like 1 (0.9) but less like 2 (0.7)."""
    paths = {1: str(DEV / "g0001_orig.jpg"), 2: str(DEV / "g0001_color.jpg"),
             3: str(DEV / "g0003_orig.jpg")}
    vecs = np.stack([unit([1, 0, 0]), unit([0.6, 0.8, 0]), unit([0.9, 0.2, 0.3873])])
    return paths, vecs


def test_similar_groups_contain_whole_copy_groups(verifier):
    paths, vecs = copy_and_neighbour()
    copies = find_groups([1, 2, 3], vecs, "copy", image_paths=paths, verifier=verifier)
    assert [g.members for g in copies] == [(1, 2)]
    similar = find_groups([1, 2, 3], vecs, "similar", image_paths=paths, verifier=verifier)
    assert [g.members for g in similar] == [(1, 2, 3)]
    for c in copies:
        assert any(set(c.members) <= set(s.members) for s in similar)


def test_a_not_duplicate_decision_still_splits_similar_groups(verifier):
    paths, vecs = copy_and_neighbour()
    apart = find_groups([1, 2, 3], vecs, "similar", image_paths=paths, verifier=verifier,
                        not_duplicate={frozenset({1, 3})})
    assert [g.members for g in apart] == [(1, 2)]
    no_copy = find_groups([1, 2, 3], vecs, "similar", image_paths=paths, verifier=verifier,
                          not_duplicate={frozenset({1, 2})})
    assert [g.members for g in no_copy] == [(1, 3)]


def test_features_extracted_with_other_verifier_settings_are_not_reused(tmp_path):
    paths = {1: str(DEV / "g0001_orig.jpg"), 2: str(DEV / "g0001_color.jpg")}
    keys = {1: "hash-a", 2: "hash-b"}
    vecs = np.stack([unit([1, 0.01, 0]), unit([1, 0, 0.01])])
    store = FeatureStore(tmp_path)
    if not store.enabled:
        pytest.skip("the verifier's LocalFeatures cannot be serialised yet")
    find_groups([1, 2], vecs, "copy", image_paths=paths, photo_keys=keys,
                verifier=CountingVerifier(), feature_store=store)
    coarse = CountingVerifier()
    coarse.max_keypoints = 200
    find_groups([1, 2], vecs, "copy", image_paths=paths, photo_keys=keys, verifier=coarse,
                feature_store=store)
    assert coarse.extracted == 2
    assert len(list(tmp_path.glob("*.bin"))) == 4


def _screenshot_of(photo: Image.Image) -> Image.Image:
    """The photo shown at full size in an app window: a title bar and grey panels around it."""
    shot = Image.new("RGB", (photo.width + 170, photo.height + 140), (244, 244, 244))
    shot.paste(Image.new("RGB", (shot.width, 38), (58, 90, 170)), (0, 0))
    shot.paste(Image.new("RGB", (shot.width, 30), (228, 228, 228)), (0, shot.height - 30))
    shot.paste(photo, (85, 55))
    return shot


def test_two_differently_framed_copies_join_their_original_in_one_group(tmp_path, embedder):
    photo = ImageOps.exif_transpose(Image.open(DEV / "g0006_orig.jpg")).convert("RGB")
    files = {1: photo, 2: ImageOps.expand(photo, border=70, fill="black"), 3: _screenshot_of(photo)}
    paths = {}
    for i, im in files.items():
        paths[i] = str(tmp_path / f"{i}.png")
        im.save(paths[i])
    vecs = np.stack([embedder.embed_image(im).descriptor for im in files.values()])
    verifier = PairVerifier()
    # the two frames disagree all along the photo's edge: as a pair they are not copies...
    assert not verifier.verify(paths[2], paths[3]).is_copy
    # ...but each holds the whole original, so complete-link still makes one group of the three
    groups = find_groups([1, 2, 3], vecs, "copy", image_paths=paths, verifier=verifier)
    assert [g.members for g in groups] == [(1, 2, 3)]
    assert groups[0].photo[1] == 1.0 and groups[0].photo[2] < 0.9 and groups[0].photo[3] < 0.9


def test_a_grainy_and_a_stretched_copy_whose_alignment_errors_add_up_share_their_photo(tmp_path, verifier):
    # grain moves each matched point a little, a stretch resamples it: each copy aligns with the
    # photo within the limit, but against each other their errors add up past it (as parallax
    # would); the photo both align with shows them as one capture
    photo = ImageOps.exif_transpose(Image.open(DEV / "g0051_orig.jpg")).convert("RGB")
    stretched = photo.resize((photo.width, round(photo.height * 0.75)), Image.Resampling.LANCZOS)
    paths = _saved(tmp_path, {1: photo, 2: noisy(photo), 3: stretched})
    between = verifier.verify(paths[2], paths[3])
    assert not between.is_copy and between.against == "geometry", between.reason
    assert verifier.verify(paths[1], paths[2]).is_copy and verifier.verify(paths[1], paths[3]).is_copy
    vecs = np.stack([unit([1, 0.01 * i, 0]) for i in (1, 2, 3)])
    groups = find_groups([1, 2, 3], vecs, "copy", image_paths=paths, verifier=verifier)
    assert [g.members for g in groups] == [(1, 2, 3)]


def test_a_heavily_compressed_copy_and_a_watermarked_one_share_their_photo(tmp_path, verifier):
    # the photo, seen from each, explains each difference at the detail the JPEG at quality 10
    # still carries (its blocks are no detail) and the watermark as laid over the other
    photo = ImageOps.exif_transpose(Image.open(DEV / "g0040_orig.jpg")).convert("RGB")
    paths = _saved(tmp_path, {1: photo, 3: watermarked(photo)})
    paths[2] = str(tmp_path / "2.jpg")
    photo.save(paths[2], quality=10)
    assert not verifier.verify(paths[2], paths[3]).is_copy
    vecs = np.stack([unit([1, 0.01 * i, 0]) for i in (1, 2, 3)])
    groups = find_groups([1, 2, 3], vecs, "copy", image_paths=paths, verifier=verifier)
    assert [g.members for g in groups] == [(1, 2, 3)]


def test_a_crop_shown_larger_than_its_photo_s_working_image_is_explained_from_the_file(tmp_path, verifier):
    # the photo is larger than the verifier's working side, so a heavy crop of it is seen at
    # finer detail than the whole photo is: the photo vouches for the crop and a stickered copy
    # (each lacks detail the other has) only when read again at the crop's detail
    photo = ImageOps.exif_transpose(Image.open(CAMERA / "exif-org" / "fujifilm-dx10.jpg")).convert("RGB")
    w, h = photo.size
    assert max(w, h) > verifier.feature_side
    crop = photo.crop((w - int(w * 0.67), 0, w, int(h * 0.67)))
    stuck = stickered(photo, [(806, 237), (171, 259), (436, 577)], min(w, h) // 10)
    paths = {}
    for i, im in {1: photo, 2: crop, 3: stuck}.items():
        paths[i] = str(tmp_path / f"{i}.jpg")
        im.save(paths[i], quality=90)
    between = verifier.verify(paths[2], paths[3])
    assert not between.is_copy and between.against, between.reason
    vecs = np.stack([unit([1, 0.01 * i, 0]) for i in (1, 2, 3)])
    groups = find_groups([1, 2, 3], vecs, "copy", image_paths=paths, verifier=verifier)
    assert [g.members for g in groups] == [(1, 2, 3)]


def test_a_thumbnail_is_no_witness_for_a_subject_that_moved_between_two_frames(tmp_path, verifier):
    # a thumbnail of one frame is a verified copy of both (too small to see the motion); its
    # file holds no finer detail to look at, so it cannot vouch for the two frames
    photo = ImageOps.exif_transpose(Image.open(DEV / "g0001_orig.jpg")).convert("RGB")
    w, h = photo.size
    box = (w // 3, h // 3, w // 3 + w // 4, h // 3 + w // 4)
    moved = photo.copy()
    moved.paste(photo.crop(box), (box[0] + w // 40, box[1] + w // 80))
    thumb = photo.copy()
    thumb.thumbnail((160, 160))
    paths = _saved(tmp_path, {1: thumb, 2: photo, 3: moved})
    assert verifier.verify(paths[1], paths[2]).is_copy and verifier.verify(paths[1], paths[3]).is_copy
    assert verifier.verify(paths[2], paths[3]).against == "moved"
    vecs = np.stack([unit([1, 0.01 * i, 0]) for i in (1, 2, 3)])
    groups = find_groups([1, 2, 3], vecs, "copy", image_paths=paths, verifier=verifier)
    assert not any({2, 3} <= set(g.members) for g in groups)


def test_the_similar_level_reports_how_far_its_scene_comparison_is():
    # the merges of captures are most of a first similar grouping: its progress must show them
    names = ["g0001_orig.jpg", "g0001_color.jpg", "g0003_orig.jpg", "g0005_orig.jpg"]
    paths = {i: str(DEV / n) for i, n in enumerate(names, 1)}
    vecs = np.stack([unit([1, 0.01, 0]), unit([1, 0, 0.01]), unit([1, 0.5, 0.5]), unit([1, -0.5, 0.5])])
    steps = []
    find_groups(list(paths), vecs, "similar", image_paths=paths, progress=steps.append)
    scenes = [(s.done, s.total) for s in steps if s.stage == "scenes"]
    assert scenes and scenes[-1][0] == scenes[-1][1] > 0, [s.stage for s in steps]
