"""Measure how the retrieval side and GeM p affect copy retrieval, to choose the model card defaults.

For each (side, p): every nd-dev image queries all nd-dev + nd-scenes images; we report mean
average precision over its copies, recall of copies within the 10 nearest neighbours (what the
candidate stage of grouping needs) and the ms per image of the forward pass. Also reports how
confident the classifier is on the photos at that side (mean top-1 probability), since a side far
from the training one leaves tag scores uncalibrated.

    python bench/choose_resolution.py [--groups 60] [--sides 256 320 384] [--ps 1 2 3 4 6]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch

from mgdesk.core.embedding.backbones import create_backbone
from mgdesk.core.embedding.embedder import to_array
from mgdesk.core.embedding.gem import gem
from mgdesk.core.embedding.cards import load_card
from mgdesk.core.imaging import load_image

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    order = np.argsort(-scores)
    rel = relevant[order]
    hits = np.cumsum(rel)
    precision = hits / (np.arange(len(rel)) + 1)
    return float((precision * rel).sum() / max(rel.sum(), 1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--groups", type=int, default=60)
    ap.add_argument("--sides", type=int, nargs="+", default=[256, 320, 384])
    ap.add_argument("--ps", type=float, nargs="+", default=[1, 2, 3, 4, 6])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    rows = list(csv.DictReader(open(DATA / "nd-dev" / "truth.csv")))
    groups = sorted({r["copy_group"] for r in rows})[: args.groups]
    dev = [r for r in rows if r["copy_group"] in groups]
    files = [DATA / "nd-dev" / "images" / r["file"] for r in dev]
    labels = [r["copy_group"] for r in dev]
    scenes = sorted((DATA / "nd-scenes" / "images").glob("*.jpg"))
    files += scenes
    labels += [f"scene:{p.name}" for p in scenes]
    labels = np.array(labels)
    n_query = len(dev)

    card = load_card("lite0")
    backbone = create_backbone(card.trunk, card.weights)
    mean = torch.tensor(card.mean).view(1, 3, 1, 1) * 255
    std = torch.tensor(card.std).view(1, 3, 1, 1) * 255
    images = [load_image(f, max_side=max(args.sides)).image for f in files]

    print(f"{len(files)} images ({n_query} queries from {len(groups)} copy groups)")
    print(f"{'side':>5} {'p':>4} {'mAP':>6} {'R@10':>6} {'ms/img':>7} {'top1 prob':>9}")
    for side in args.sides:
        feats, top1 = [], []
        t0 = time.perf_counter()
        with torch.inference_mode():
            for img in images:
                x = torch.from_numpy(to_array(img, side).copy()).permute(2, 0, 1)[None].float()
                fmap = backbone.features((x - mean) / std)
                feats.append(fmap)
                top1.append(float(torch.softmax(backbone.classifier(fmap.mean((2, 3))), -1).max()))
        ms = (time.perf_counter() - t0) / len(images) * 1000
        for p in args.ps:
            d = torch.cat([torch.nn.functional.normalize(gem(f, p), dim=-1) for f in feats]).numpy()
            sims = d[:n_query] @ d.T
            aps, r10 = [], []
            for i in range(n_query):
                s = sims[i].copy()
                s[i] = -np.inf
                rel = (labels == labels[i]).astype(np.float64)
                rel[i] = 0
                aps.append(average_precision(np.delete(s, i), np.delete(rel, i)))
                nn = np.argsort(-s)[:10]
                r10.append(rel[nn].sum() / rel.sum())
            print(f"{side:>5} {p:>4g} {np.mean(aps):6.3f} {np.mean(r10):6.3f} {ms:7.1f} {np.mean(top1):9.3f}")


if __name__ == "__main__":
    main()
