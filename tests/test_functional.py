"""The torch mathematics against NumPy float64 and brute-force enumeration."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from scipy.special import logsumexp

from sklearn_grbm import _functional as F
from sklearn_grbm._functional import RBMParams

from . import reference as ref


def as_params(W, b, c, sigma):
    return RBMParams(*(torch.tensor(a) for a in (W, b, c, np.log(sigma))))


@pytest.fixture
def model():
    return ref.random_model(n_components=5, n_features=4, seed=0, scale=0.7)


@pytest.fixture
def V():
    return np.random.RandomState(1).normal(size=(30, 4))


def test_hidden_probs_match_reference(model, V):
    W, _b, c, sigma = model
    p = as_params(*model)
    got = F.hidden_probs(torch.tensor(V), p.W, p.c, p.inv_var).numpy()
    assert_allclose(got, ref.hidden_probs(V, W, c, sigma), rtol=1e-12)


def test_hidden_probs_are_the_marginals_of_the_energy(model, V):
    # p(h_j = 1 | v) from exp(-E(v, h)) summed over all 2^M hidden states.
    W, b, c, sigma = model
    H = ref.all_hidden_states(W.shape[0])
    p = as_params(*model)
    got = F.hidden_probs(torch.tensor(V), p.W, p.c, p.inv_var).numpy()
    for v, p_row in zip(V[:5], got):
        log_weights = -ref.energy(v, H, W, b, c, sigma)
        posterior = np.exp(log_weights - logsumexp(log_weights))
        assert_allclose(posterior @ H, p_row, rtol=1e-10)


def test_visible_conditional_is_the_gaussian_of_the_energy(model):
    # For fixed h, -E(v, h) + E(v', h) = log N(v) - log N(v') with mean b + W^T h.
    W, b, c, sigma = model
    H = ref.all_hidden_states(W.shape[0])[[3, 17, 30]]
    p = as_params(*model)
    mean = F.visible_mean(torch.tensor(H), p.W, p.b).numpy()
    assert_allclose(mean, ref.visible_mean(H, W, b), rtol=1e-12)
    rng = np.random.RandomState(2)
    for h, mu in zip(H, mean):
        v1, v2 = rng.normal(size=(2, W.shape[1]))
        energy_gap = ref.energy(v2, h[None], W, b, c, sigma) - ref.energy(
            v1, h[None], W, b, c, sigma
        )
        log_normal = lambda v, mu=mu: -np.sum((v - mu) ** 2 / (2 * sigma**2))  # noqa: E731
        assert_allclose(-energy_gap[0], log_normal(v2) - log_normal(v1), rtol=1e-10)


def test_free_energy_matches_formula_and_enumeration(model, V):
    W, b, c, sigma = model
    got = F.free_energy(torch.tensor(V), as_params(*model)).numpy()
    assert_allclose(got, ref.free_energy(V, W, b, c, sigma), rtol=1e-12)
    H = ref.all_hidden_states(W.shape[0])
    brute = [-logsumexp(-ref.energy(v, H, W, b, c, sigma)) for v in V]
    assert_allclose(got, brute, rtol=1e-10)


def test_hidden_state_log_weights_are_the_energy_integrated_over_v():
    # log of the integral over v of exp(-E(v, h)), by a grid sum in 2-D, less
    # the constant (D/2) log(2 pi) + sum log sigma the function leaves out;
    # the caller's shift (h W) and 1 / sigma^2 give the same numbers.
    W, b, c, sigma = ref.random_model(n_components=3, n_features=2, seed=4, scale=0.8)
    H = ref.all_hidden_states(3)
    centres = b + H @ W
    low, high = centres.min(0) - 9 * sigma, centres.max(0) + 9 * sigma
    step = sigma / 40
    axes = [np.arange(lo, hi, d) for lo, hi, d in zip(low, high, step)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
    var = sigma**2
    # -E(v, h) for every grid point (rows) and hidden state (columns)
    neg_energy = (
        -np.sum((grid - b) ** 2 / (2 * var), axis=1)[:, None] + H @ c + (grid / var) @ W.T @ H.T
    )
    integral = logsumexp(neg_energy, axis=0) + np.log(step).sum()
    expected = integral - np.log(2 * np.pi) - np.log(sigma).sum()
    params = as_params(W, b, c, sigma)
    h = torch.tensor(H)
    assert_allclose(F.hidden_state_log_weights(h, params).numpy(), expected, atol=1e-8)
    given = F.hidden_state_log_weights(h, params, h @ params.W, inv_var=params.inv_var)
    assert_allclose(given.numpy(), expected, atol=1e-8)


def test_free_energy_is_finite_for_huge_inputs(model):
    huge = np.arange(4, dtype=np.float64)[None] * 1e6
    assert np.isfinite(F.free_energy(torch.tensor(huge), as_params(*model)).numpy()).all()


def closed_form_and_autograd(model, v_pos, v_neg, *, learn_sigma, weight_decay=0.0, weights=None):
    """The closed-form gradients of ``mean F(v_pos) - mean_w F(v_neg) + wd |W|^2 / 2``
    beside autograd's of that loss (the leaves W, b, c, log sigma)."""
    leaves = [
        torch.tensor(a, requires_grad=True)
        for a in (model[0], model[1], model[2], np.log(model[3]))
    ]
    p = RBMParams(*leaves)
    negative = F.free_energy(v_neg, p)
    negative = negative.mean() if weights is None else weights @ negative
    loss = F.free_energy(v_pos, p).mean() - negative + 0.5 * weight_decay * (p.W**2).sum()
    loss.backward()
    with torch.no_grad():
        inv_var = p.inv_var
        grads = F.contrastive_gradients(
            v_pos * inv_var,
            F.hidden_probs(v_pos, p.W, p.c, inv_var),
            v_neg * inv_var,
            F.hidden_probs(v_neg, p.W, p.c, inv_var),
            p,
            inv_var=inv_var,
            learn_sigma=learn_sigma,
            weight_decay=weight_decay,
            weights_neg=weights,
        )
    return grads, dict(zip(("W", "b", "c", "log_sigma"), (leaf.grad for leaf in leaves)))


@pytest.mark.parametrize("learn_sigma", [True, False])
@pytest.mark.parametrize("weight_decay", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_closed_form_gradients_match_autograd(model, learn_sigma, weight_decay, weighted):
    # weighted: importance-weighted negatives (sampler="ais"), the gradient of
    # mean F(v_pos) - sum_n w_n F(v_neg,n).
    rng = np.random.RandomState(3)
    v_pos = torch.tensor(rng.normal(size=(7, 4)))
    v_neg = torch.tensor(rng.normal(size=(5, 4)))
    weights = torch.tensor(rng.dirichlet(np.ones(5))) if weighted else None
    grads, expected = closed_form_and_autograd(
        model, v_pos, v_neg, learn_sigma=learn_sigma, weight_decay=weight_decay, weights=weights
    )
    names = ("W", "b", "c", "log_sigma") if learn_sigma else ("W", "b", "c")
    assert set(grads) == set(names)
    for name in names:
        assert_allclose(grads[name].numpy(), expected[name].numpy(), rtol=1e-10, atol=1e-12)


def test_sampled_hiddens_average_to_the_probabilities():
    p = torch.tensor([[0.1, 0.5, 0.9, 0.0, 1.0]], dtype=torch.float64).expand(20000, -1)
    g = torch.Generator().manual_seed(0)
    mean = F.sample_hidden(p, g).mean(dim=0).numpy()
    assert_allclose(mean, p[0].numpy(), atol=0.015)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sampled_hiddens_are_the_float32_uniforms_compared_with_p(dtype):
    # The draws are exactly 0.0 and 1.0 in p's dtype, the same for a float32
    # and a float64 fit with one seed, and a NaN probability does not raise.
    p = torch.rand(300, 7, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(
        dtype
    )
    p[0, 0] = float("nan")
    h = F.sample_hidden(p, torch.Generator().manual_seed(0))
    uniform = torch.rand(300, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    expected = (uniform.double().numpy() < p.double().numpy()).astype(np.float64)
    assert h.dtype == dtype and h.shape == p.shape
    assert_allclose(h.double().numpy(), expected, rtol=0, atol=0)
    assert h[0, 0] == 0.0


def test_sampled_visibles_have_the_conditional_moments():
    mean = torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64).expand(40000, -1)
    sigma = torch.tensor([0.1, 1.0, 3.0], dtype=torch.float64)
    v = F.sample_visible(mean, sigma, torch.Generator().manual_seed(0)).numpy()
    assert_allclose(v.mean(axis=0), mean[0].numpy(), atol=4 * 3.0 / 200)
    assert_allclose(v.std(axis=0), sigma.numpy(), rtol=0.02)


def test_gibbs_chain_with_zero_weights_samples_the_visible_gaussian():
    # With W = 0, v is independent of h: p(v) = N(b, sigma^2) whatever the start.
    b = torch.tensor([0.5, -1.0], dtype=torch.float64)
    sigma = torch.tensor([0.2, 2.0], dtype=torch.float64)
    params = RBMParams(
        torch.zeros(3, 2, dtype=torch.float64), b, torch.zeros(3, dtype=torch.float64), sigma.log()
    )
    start = torch.full((20000, 3), 0.5, dtype=torch.float64)
    v, _, p, first = F.gibbs_chain(start, params, 3, torch.Generator().manual_seed(0))
    assert_allclose(v.mean(0).numpy(), b.numpy(), atol=0.05)
    assert_allclose(v.std(0).numpy(), sigma.numpy(), rtol=0.03)
    assert_allclose(p.numpy(), 0.5)
    assert_allclose(first.numpy(), b.expand(20000, -1).numpy())


def test_tempered_step_at_beta_zero_samples_the_base_gaussian():
    W, b, c, sigma = ref.random_model(3, 2, seed=9, scale=3.0)
    params = as_params(W, b, c, sigma)
    v = torch.zeros(1, 20000, 2, dtype=torch.float64)
    out = F.tempered_gibbs_step(
        v,
        torch.tensor([0.0], dtype=torch.float64)[:, None, None],
        params,
        torch.Generator().manual_seed(0),
        inv_var=params.inv_var,
        sigma=params.sigma,
    )[0].numpy()
    assert_allclose(out.mean(0), b, atol=4 * sigma.max() / np.sqrt(20000))
    assert_allclose(out.std(0), sigma, rtol=0.03)


def test_swap_acceptance_follows_the_tempered_free_energies(monkeypatch):
    # Two temperatures, one chain each: the swap probability must be
    # min(1, exp(F_0(v_0) + F_1(v_1) - F_0(v_1) - F_1(v_0))) with F_beta from
    # the reference formula at weights beta W.
    W, b, c, sigma = ref.random_model(3, 2, seed=10, scale=1.0)
    params = as_params(W, b, c, sigma)
    betas = np.array([1.0, 0.3])
    v = np.array([[[2.0, 1.5]], [[0.5, -1.0]]])

    def F_at(beta, x):
        return ref.free_energy(x, beta * W, b, c, sigma)[0]

    expected = min(
        1.0, np.exp(F_at(1.0, v[0]) + F_at(0.3, v[1]) - F_at(1.0, v[1]) - F_at(0.3, v[0]))
    )
    generator = torch.Generator().manual_seed(0)
    swaps = 0
    for _ in range(4000):
        out, accepted = F.swap_tempered_chains(
            torch.tensor(v),
            torch.tensor(betas),
            params,
            generator,
            inv_var=params.inv_var,
            parity=0,
        )
        swapped = bool(np.allclose(out[0].numpy(), v[1]))
        assert accepted.shape == (1, 1) and bool(accepted[0, 0]) == swapped
        swaps += swapped
    assert 0.0 < expected < 1.0
    assert abs(swaps / 4000 - expected) < 4 * np.sqrt(expected * (1 - expected) / 4000)


def test_parallel_tempering_mixes_where_gibbs_does_not():
    # The bimodal 1-D model: 50 plain Gibbs steps from the base model leave
    # the chains in the wrong proportions; 50 steps of PT over 8 temperatures
    # reproduce the exact density.
    W, b, c, sigma = (
        np.array([[2.5], [-2.0]]),
        np.array([0.5]),
        np.array([-1.0, 0.5]),
        np.array([0.7]),
    )
    params = as_params(W, b, c, sigma)
    log_z = ref.log_partition(W, b, c, sigma)
    edges = np.linspace(-4, 7, 45)
    centres = 0.5 * (edges[1:] + edges[:-1])
    expected = np.exp(-ref.free_energy(centres[:, None], W, b, c, sigma) - log_z) * np.diff(edges)
    generator = torch.Generator().manual_seed(0)
    start = F.sample_visible(torch.tensor(b).expand(20000, 1).contiguous(), params.sigma, generator)
    betas = F.temperature_ladder(8, torch.float64, "cpu")
    chains = F.parallel_tempering(start.expand(8, -1, -1).clone(), betas, params, 50, generator)
    observed = np.histogram(chains[0, :, 0].numpy(), bins=edges)[0] / 20000
    assert np.abs(observed - expected).max() < 0.01
    exact_mean = np.sum(centres * expected)
    assert abs(chains[0, :, 0].mean().item() - exact_mean) < 0.03
    p0 = F.hidden_probs(start, params.W, params.c, params.inv_var)
    gibbs, _, _, _ = F.gibbs_chain(p0, params, 50, generator)
    assert abs(gibbs[:, 0].mean().item() - exact_mean) > 0.1


def zero_weight_model(sigma):
    sigma = np.asarray(sigma, dtype=np.float64)
    D = sigma.size
    return RBMParams(
        torch.zeros(3, D, dtype=torch.float64),
        torch.linspace(-1.0, 1.0, D, dtype=torch.float64),
        torch.zeros(3, dtype=torch.float64),
        torch.tensor(np.log(sigma)),
    )


@pytest.mark.parametrize("adjust", [False, True])
def test_langevin_with_zero_weights_has_the_visible_variance(adjust):
    # With W = 0, p(v | h) = N(b, sigma^2) whatever h: the adjusted sampler's
    # variance is sigma^2, the unadjusted one's sigma^2 / (1 - step / 2).
    sigma = np.array([0.1, 1.0, 3.0])
    params = zero_weight_model(sigma)
    step = 0.4
    start = torch.zeros(20000, 3, dtype=torch.float64)
    v, _ = F.gibbs_langevin_chain(
        start,
        params,
        40,
        torch.Generator().manual_seed(0),
        n_langevin_steps=5,
        step_size=step,
        adjust=adjust,
    )
    expected_var = sigma**2 if adjust else sigma**2 / (1 - step / 2)
    assert_allclose(v.var(dim=0).numpy(), expected_var, rtol=0.04)
    assert_allclose(v.mean(dim=0).numpy(), params.b.numpy(), atol=4 * 3.0 / np.sqrt(20000))


def test_langevin_step_is_per_sample_not_per_batch():
    # The same chain state must move the same way whatever the number of rows
    # it is sampled with: a gradient averaged over the batch would shrink the
    # drift by the number of rows and leave the chains where they started.
    params = zero_weight_model([1.0, 1.0])
    for n_rows in (1, 1000):
        start = torch.full((n_rows, 2), 10.0, dtype=torch.float64)
        v, _ = F.gibbs_langevin_chain(
            start, params, 20, torch.Generator().manual_seed(0), n_langevin_steps=5, step_size=0.5
        )
        assert np.abs(v.mean(dim=0).numpy() - params.b.numpy()).max() < 0.5 + 4 / np.sqrt(n_rows)


def test_mala_leaves_a_gaussian_invariant_even_with_large_steps():
    # Step 1.9 without correction overshoots (variance sigma^2 / 0.05); MALA
    # rejects what it must and keeps sigma^2.
    sigma = torch.tensor([0.5, 2.0], dtype=torch.float64)
    mean = torch.tensor([[1.0, -1.0]], dtype=torch.float64).expand(20000, -1)
    start = mean + sigma * torch.randn(
        20000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    v = F.langevin_visible(
        start, mean, sigma, 30, 1.9, torch.Generator().manual_seed(0), adjust=True
    )
    assert_allclose(v.var(dim=0).numpy(), sigma.numpy() ** 2, rtol=0.05)
