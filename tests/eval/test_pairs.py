"""Pair metrics on small hand-built groupings whose answers are worked out in the comments."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mgdesk.eval.pairs import (
    Truth,
    TruthRow,
    load_truth,
    pair_scores,
    pairs_of,
    recall_per_transform,
    same_scene_share,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _truth() -> Truth:
    # copy group A: a0 (original), a1 (jpeg_low), a2 (crop_center)  -> 3 copy pairs
    # copy group B: b0 (original), b1 (rot90)                        -> 1 copy pair
    # c0 is another shot of B's scene: b0-c0 and b1-c0 are same-scene pairs, not copies
    # d0 stands alone
    rows = [
        ("a0", "A", "A", "original"),
        ("a1", "A", "A", "jpeg_low"),
        ("a2", "A", "A", "crop_center"),
        ("b0", "B", "S", "original"),
        ("b1", "B", "S", "rot90"),
        ("c0", "C", "S", "original"),
        ("d0", "D", "D", "original"),
    ]
    return Truth({f: TruthRow(f, cg, sg, t) for f, cg, sg, t in rows})


# predicted pairs: a0-a1 (right), a2-d0 (wrong), b0-b1 (right), b0-c0 and b1-c0 (wrong)
PREDICTED = [["a0", "a1"], ["a2", "d0"], ["b0", "b1", "c0"]]


def test_a_group_of_three_claims_three_pairs():
    assert pairs_of([["x", "y", "z"]]) == {("x", "y"), ("x", "z"), ("y", "z")}


def test_pair_precision_recall_and_f1_count_every_pair_inside_a_group():
    scores = pair_scores(PREDICTED, _truth())
    assert (scores.true_positives, scores.false_positives, scores.false_negatives) == (2, 3, 2)
    assert scores.precision == pytest.approx(2 / 5)
    assert scores.recall == pytest.approx(2 / 4)
    assert scores.f1 == pytest.approx(2 * 0.4 * 0.5 / (0.4 + 0.5))


def test_the_truth_groups_themselves_score_perfectly():
    truth = _truth()
    scores = pair_scores([["a0", "a1", "a2"], ["b0", "b1"]], truth)
    assert (scores.precision, scores.recall, scores.f1) == (1.0, 1.0, 1.0)


def test_finding_nothing_is_precise_but_recalls_nothing():
    scores = pair_scores([], _truth())
    assert scores.precision == 1.0
    assert scores.recall == 0.0
    assert scores.f1 == 0.0


def test_paths_are_scored_by_file_name_and_a_pair_reported_twice_counts_once():
    predicted = [["/photos/a0", "/photos/a1"], ["/elsewhere/a1", "a0"]]
    scores = pair_scores(predicted, _truth())
    assert (scores.true_positives, scores.false_positives) == (1, 0)


def test_files_outside_the_truth_neither_help_nor_hurt():
    scores = pair_scores([["a0", "a1", "Thumbs.db"]], _truth())
    assert (scores.true_positives, scores.false_positives) == (1, 0)


def test_recall_per_transform_counts_original_to_copy_pairs_only():
    per = recall_per_transform(PREDICTED, _truth())
    assert {t: (r.found, r.total) for t, r in per.items()} == {
        "crop_center": (0, 1),
        "jpeg_low": (1, 1),
        "rot90": (1, 1),
    }
    assert per["jpeg_low"].recall == 1.0
    assert per["crop_center"].recall == 0.0


def test_a_copy_to_copy_pair_does_not_count_toward_a_transform():
    # a1-a2 is a true copy pair, but neither file is the original
    per = recall_per_transform([["a1", "a2"]], _truth())
    assert per["jpeg_low"].found == 0 and per["crop_center"].found == 0
    assert pair_scores([["a1", "a2"]], _truth()).true_positives == 1


def test_same_scene_share_counts_other_shots_put_together():
    truth = _truth()
    assert truth.scene_pairs() == {("b0", "c0"), ("b1", "c0")}
    both = same_scene_share(PREDICTED, truth)
    assert (both.grouped, both.total, both.share) == (2, 2, 1.0)
    one = same_scene_share([["b0", "c0"], ["a0", "a1"]], truth)
    assert (one.grouped, one.total, one.share) == (1, 2, 0.5)


def test_pairs_across_scenes_are_counted_apart():
    # a2-d0 joins two scenes; a0-a1 (copies) and b0-c0 (one scene) do not
    assert same_scene_share(PREDICTED, _truth()).cross_scene == 1
    assert same_scene_share([["b0", "b1", "c0"]], _truth()).cross_scene == 0


def test_copies_of_one_photo_are_not_same_scene_pairs():
    # b0-b1 share a scene but are copies; only the copy metrics judge them
    assert same_scene_share([["b0", "b1"]], _truth()).grouped == 0


def test_truth_csv_is_read_by_file_name(tmp_path):
    path = tmp_path / "truth.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "copy_group", "scene_group", "base", "transform"])
        writer.writerow(["g0_orig.jpg", "g0", "g0", "x.png", "original"])
        writer.writerow(["g0_hflip.jpg", "g0", "g0", "x.png", "hflip"])
        writer.writerow(["s_a.jpg", "c_s_a.jpg", "s", "scenes/s", "scene_member"])
        writer.writerow(["s_b.jpg", "c_s_b.jpg", "s", "scenes/s", "scene_member"])
    truth = load_truth(path)
    assert truth.copy_pairs() == {("g0_hflip.jpg", "g0_orig.jpg")}
    assert truth.scene_pairs() == {("s_a.jpg", "s_b.jpg")}
    assert truth.original_copy_pairs() == {"hflip": {("g0_hflip.jpg", "g0_orig.jpg")}}


@pytest.mark.skipif(not (DATA / "nd-dev").is_dir(), reason="shared data not present")
def test_the_shared_benchmarks_have_the_documented_pair_counts():
    dev = load_truth(DATA / "nd-dev" / "truth.csv")
    scenes = load_truth(DATA / "nd-scenes" / "truth.csv")
    assert len(dev.copy_pairs()) == 1200  # 120 photos x C(5, 2)
    assert sum(len(p) for p in dev.original_copy_pairs().values()) == 480
    assert dev.scene_pairs() == set()
    assert len(scenes.copy_pairs()) == 0
    assert len(scenes.scene_pairs()) == 433
