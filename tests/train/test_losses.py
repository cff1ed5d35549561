import pytest
import torch

from mgdesk.train.losses import DistanceWeightedSampling, JointLoss, MarginLoss


def _unit(x):
    return torch.nn.functional.normalize(x, dim=-1)


def test_distance_weighted_sampling_never_picks_a_positive_as_a_negative():
    torch.manual_seed(0)
    ids = torch.arange(8).repeat_interleave(3)  # 8 photos x 3 augmentations
    x = _unit(torch.randn(24, 64) * 0.1 + torch.randn(8, 64).repeat_interleave(3, 0))
    for _ in range(20):
        t = DistanceWeightedSampling()(x, ids)
        assert len(t) == 24 * 2  # one triplet per (anchor, positive)
        assert (ids[t.anchor] == ids[t.positive]).all()
        assert (t.anchor != t.positive).all()
        assert (ids[t.anchor] != ids[t.negative]).all()


def test_negatives_are_the_close_ones_when_there_are_any():
    ids = torch.tensor([0, 0, 1, 1, 2, 2])
    x = torch.zeros(6, 16)
    x[0:2, 0] = 1  # photo 0
    x[2:4] = _unit(torch.tensor([1.0, 0.6] + [0.0] * 14))  # photo 1: near photo 0 (d ~ 0.53)
    x[4:6, 5] = 1  # photo 2: orthogonal (d ~ 1.41, beyond the cutoff)
    t = DistanceWeightedSampling()(x, ids)
    assert set(ids[t.negative[t.anchor < 2]].tolist()) == {1}


def test_a_batch_without_candidates_falls_back_or_gives_no_triplet():
    sampling = DistanceWeightedSampling()
    # all negatives beyond the cutoff: drawn uniformly among the other photos instead
    ids = torch.tensor([0, 0, 1, 1])
    x = torch.eye(4)[[0, 0, 1, 1]]
    t = sampling(x, ids)
    assert len(t) == 4 and (ids[t.anchor] != ids[t.negative]).all()
    # one photo only (no negatives) or no repeats (no positives): nothing to sample
    assert len(sampling(torch.eye(3)[[0, 0, 0]], torch.tensor([5, 5, 5]))) == 0
    assert len(sampling(torch.eye(3), torch.tensor([0, 1, 2]))) == 0


def test_the_margin_loss_is_zero_for_well_separated_embeddings_and_positive_otherwise():
    ids = torch.arange(4).repeat_interleave(3)
    separated = torch.eye(8)[ids]  # copies identical, other photos orthogonal (d = 1.414)
    loss = MarginLoss(margin=0.2, beta_init=1.2)
    assert loss(separated, ids).item() == 0.0
    collapsed = _unit(torch.ones(12, 8))
    assert loss(collapsed, ids).item() > 0.5
    noisy = _unit(torch.eye(8)[ids] + 0.5 * torch.randn(12, 8, generator=torch.Generator().manual_seed(0)))
    assert loss(noisy, ids).item() > 0


def test_beta_and_the_embeddings_receive_gradients():
    # Copies identical (no positive term), different photos only ~0.5 apart (every negative term
    # active): the loss wants beta lower, so its gradient is positive; the embeddings move too.
    ids = torch.arange(4).repeat_interleave(3)
    photos = _unit(torch.eye(8)[0] + 0.37 * torch.eye(8)[1:5])
    x = photos[ids].clone().requires_grad_()
    loss = MarginLoss()
    loss(x, ids).backward()
    assert loss.beta.grad is not None and loss.beta.grad.item() > 0
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_a_batch_with_no_triplets_still_backpropagates_to_nothing():
    x = torch.randn(3, 8, requires_grad=True)
    loss = MarginLoss()
    value = loss(x, torch.tensor([0, 1, 2]))
    value.backward()
    assert value.item() == 0.0 and loss.beta.grad.item() == 0.0


def test_the_joint_loss_weights_classification_and_margin_by_lambda():
    ids = torch.arange(4).repeat_interleave(3)
    emb = _unit(torch.ones(12, 8))
    out = {"classifier_output": torch.randn(12, 10, generator=torch.Generator().manual_seed(2)),
           "normalized_embedding": emb}
    targets = torch.randint(0, 10, (12,), generator=torch.Generator().manual_seed(3))
    parts = JointLoss(0.5)(out, targets, ids)
    assert parts["loss"].item() == pytest.approx((0.5 * parts["ce"] + 0.5 * parts["margin"]).item())
    assert parts["margin"].item() > 0
    soft = torch.softmax(torch.randn(12, 10), dim=-1)
    only_ce = JointLoss(1.0)(out, soft, ids)
    assert only_ce["margin"].item() == 0.0 and only_ce["loss"].item() == only_ce["ce"].item()
