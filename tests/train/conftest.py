"""Training tests share the machine with other work: one torch thread, restored afterwards."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def photos(shared_data):
    """Twelve real photos, used in place (read only)."""
    paths = sorted((shared_data / "photos").glob("*.jpg"))[:12]
    if len(paths) < 12:
        pytest.skip("not enough shared photos")
    return [str(p) for p in paths]
