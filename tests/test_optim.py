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


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_per_parameter_learning_rate_matches_a_separate_optimizer(kind):
    # A step size of its own for "b" is the same as a second optimizer on b alone.
    rng = np.random.RandomState(1)
    start = {"W": rng.normal(size=(3, 4)), "b": rng.normal(size=4)}
    ours = {k: torch.tensor(v) for k, v in start.items()}
    W_alone, b_alone = {"W": torch.tensor(start["W"])}, {"b": torch.tensor(start["b"])}
    state = _optim.init_state(kind, ours)
    state_W, state_b = _optim.init_state(kind, W_alone), _optim.init_state(kind, b_alone)
    for _ in range(5):
        grads = {k: torch.tensor(rng.normal(size=v.shape)) for k, v in start.items()}
        _optim.step(state, ours, grads, learning_rate=0.01, learning_rates={"b": 0.003})
        _optim.step(state_W, W_alone, {"W": grads["W"]}, learning_rate=0.01)
        _optim.step(state_b, b_alone, {"b": grads["b"]}, learning_rate=0.003)
    assert_allclose(ours["W"].numpy(), W_alone["W"].numpy(), rtol=1e-12)
    assert_allclose(ours["b"].numpy(), b_alone["b"].numpy(), rtol=1e-12)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_row_norm_cap_shrinks_only_the_rows_above_it(kind):
    rng = np.random.RandomState(2)
    start = rng.normal(size=(6, 5))
    free, capped = {"W": torch.tensor(start)}, {"W": torch.tensor(start)}
    state_free, state_capped = _optim.init_state(kind, free), _optim.init_state(kind, capped)
    for _ in range(3):
        grad = torch.tensor(rng.normal(size=(6, 5)) * np.arange(1, 7)[:, None] ** 2)
        _optim.step(state_free, free, {"W": grad}, learning_rate=0.05)
        step_free = (free["W"] - capped["W"]).numpy()
        norms = np.linalg.norm(step_free, axis=1)
        cap = float(np.median(norms))
        before = capped["W"].clone()
        _optim.step(state_capped, capped, {"W": grad}, learning_rate=0.05, max_row_norms={"W": cap})
        step_capped = (capped["W"] - before).numpy()
        # The moments see the same gradients; only the applied step differs.
        expected = step_free * np.minimum(1.0, cap / norms)[:, None]
        assert_allclose(step_capped, expected, rtol=1e-10, atol=1e-15)
        assert np.all(np.linalg.norm(step_capped, axis=1) <= cap * (1 + 1e-12))
        free["W"].copy_(capped["W"])  # the next step from the same point


@pytest.mark.parametrize("dtype, rtol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_fused_adam_matches_the_unfused_rule(monkeypatch, dtype, rtol):
    # The CPU and CUDA use torch's fused kernel; other devices (MPS) the same
    # rule as separate operations. Both must give the same parameters and moments.
    rng = np.random.RandomState(3)
    start = {"W": rng.normal(size=(5, 7)), "b": rng.normal(size=7), "c": rng.normal(size=5)}
    runs = []
    for devices in (_optim.FUSED_ADAM_DEVICES, ()):
        monkeypatch.setattr(_optim, "FUSED_ADAM_DEVICES", devices)
        params = {k: torch.tensor(v, dtype=dtype) for k, v in start.items()}
        state = _optim.init_state("adam", params)
        grad_rng = np.random.RandomState(4)
        for _ in range(7):
            grads = {
                k: torch.tensor(grad_rng.normal(size=v.shape), dtype=dtype)
                for k, v in start.items()
            }
            _optim.step(state, params, grads, learning_rate=0.01, learning_rates={"c": 0.002})
        runs.append((params, state))
    (fused, fused_state), (plain, plain_state) = runs
    for k in start:
        assert_allclose(fused[k].numpy(), plain[k].numpy(), rtol=rtol)
        assert_allclose(
            fused_state[k]["exp_avg_sq"].numpy(), plain_state[k]["exp_avg_sq"].numpy(), rtol=rtol
        )
    assert fused_state["step"] == plain_state["step"] == 7


def test_fused_adam_leaves_a_transposed_parameter_to_the_unfused_rule(monkeypatch):
    # A parameter laid out transposed beside a contiguous gradient: a kernel
    # pairing elements by memory position would update the wrong entries.
    rng = np.random.RandomState(5)
    start = rng.normal(size=(4, 6))
    grads = [torch.tensor(rng.normal(size=(4, 6))) for _ in range(3)]
    results = []
    for devices in (_optim.FUSED_ADAM_DEVICES, ()):
        monkeypatch.setattr(_optim, "FUSED_ADAM_DEVICES", devices)
        W = torch.tensor(start.T.copy()).T  # same values, transposed memory
        assert not W.is_contiguous()
        state = _optim.init_state("adam", {"W": W})
        for grad in grads:
            _optim.step(state, {"W": W}, {"W": grad}, learning_rate=0.1)
        results.append(W.numpy().copy())
    assert_allclose(results[0], results[1], rtol=1e-12)


def test_step_schedule_drops_every_step_tenfold_after_two_thirds_of_the_epochs():
    def factors(schedule, n_epochs, n_seen):
        return [_optim.learning_rate_factor(schedule, e, n_epochs) for e in range(n_seen)]

    assert factors("step", 30, 40) == [1.0] * 20 + [0.1] * 20  # stays low in later partial_fits
    assert factors("step", 25, 25) == [1.0] * 17 + [0.1] * 8
    assert factors("step", 3, 3) == [1.0, 1.0, 0.1]
    assert factors("step", 1, 2) == [1.0, 0.1]
    assert factors("constant", 3, 10) == [1.0] * 10
    with pytest.raises(ValueError, match="unknown learning_rate_schedule 'cosine'"):
        _optim.learning_rate_factor("cosine", 0, 3)


def test_decay_schedule_is_the_step_schedule_to_25_epochs_then_falls_as_one_over_the_epoch():
    def factors(schedule, n_epochs, n_seen):
        return [_optim.learning_rate_factor(schedule, e, n_epochs) for e in range(n_seen)]

    for n_epochs in (1, 3, 10, 25):
        assert factors("decay", n_epochs, n_epochs) == factors("step", n_epochs, n_epochs)
    expected = [1.0] * 17 + [0.1] * 8 + [0.1 * 25 / epoch for epoch in range(26, 41)]
    assert factors("decay", 100, 40) == pytest.approx(expected, rel=1e-12)
    # A longer fit is the 25-epoch fit continued, in fit or in partial_fit calls.
    assert factors("decay", 100, 120) == factors("decay", 25, 120)
    assert factors("decay", 40, 200)[-1] == pytest.approx(0.1 * 25 / 200, rel=1e-12)
