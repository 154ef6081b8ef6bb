"""Our explicit-state Adam and SGD against torch.optim on the same gradients."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from sklearn_grbm import _optim


@pytest.mark.parametrize(
    "kind, make_reference",
    [
        ("adam", lambda p, lr: torch.optim.Adam(p, lr=lr)),
        ("sgd", lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9)),
    ],
)
def test_updates_match_torch_optim(kind, make_reference):
    rng = np.random.RandomState(0)
    start = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    ours = {k: torch.tensor(v) for k, v in start.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in start.items()}
    state = _optim.init_state(kind, ours)
    reference = make_reference(list(theirs.values()), 0.01)
    for _ in range(6):
        grads = {k: torch.tensor(rng.normal(size=v.shape)) for k, v in start.items()}
        _optim.step(state, ours, grads, learning_rate=0.01, momentum=0.9)
        for k, leaf in theirs.items():
            leaf.grad = grads[k].clone()
        reference.step()
    for k in start:
        assert_allclose(ours[k].numpy(), theirs[k].detach().numpy(), rtol=1e-12)


def test_state_round_trips_through_numpy():
    params = {"W": torch.ones(2, 3)}
    state = _optim.init_state("adam", params)
    _optim.step(state, params, {"W": torch.full((2, 3), 0.5)}, learning_rate=0.1)
    as_numpy = _optim.state_to_numpy(state)
    assert isinstance(as_numpy["W"]["exp_avg"], np.ndarray)
    back = _optim.state_from_numpy(as_numpy, torch.device("cpu"), torch.float32)
    assert back["step"] == 1
    assert torch.equal(back["W"]["exp_avg_sq"], state["W"]["exp_avg_sq"])
