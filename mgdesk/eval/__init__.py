"""Evaluation metrics for duplicate finding; methods never import this package."""

from mgdesk.eval.pairs import (
    PairScores,
    SceneShare,
    Truth,
    TruthRow,
    TransformRecall,
    load_truth,
    pair_scores,
    pairs_of,
    recall_per_transform,
    same_scene_share,
)

__all__ = [
    "PairScores",
    "SceneShare",
    "Truth",
    "TruthRow",
    "TransformRecall",
    "load_truth",
    "pair_scores",
    "pairs_of",
    "recall_per_transform",
    "same_scene_share",
]
