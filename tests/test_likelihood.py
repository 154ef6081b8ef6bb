"""log Z and log p(x): exact enumeration, numerical integration and AIS."""

import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from scipy import integrate
from scipy.special import logsumexp
from sklearn.datasets import load_digits

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm._functional import RBMParams
from sklearn_grbm._likelihood import (
    CALIBRATION_MAX_MULTIPLY_ADDS,
    best_common_log_sigma_shift,
    calibrated_temperature,
    calibration_interval,
    choose_method,
    exact_is_affordable,
    hidden_modes,
    log_mean_exp_with_stderr,
    log_partition_ais,
    log_partition_exact,
    log_partition_grid,
    log_partition_lower_bound,
)

from . import reference as ref


def fitted_with(W, b, c, sigma):
    """A fitted estimator whose parameters are set to the given arrays."""
    rbm = GaussianBernoulliRBM(n_components=W.shape[0], n_iter=0, random_state=0)
    rbm.fit(np.zeros((2, W.shape[1])))
    rbm.components_, rbm.intercept_visible_ = W.copy(), b.copy()
    rbm.intercept_hidden_, rbm.sigma_ = c.copy(), sigma.copy()
    return rbm


def torch_params(W, b, c, sigma):
    return RBMParams(*(torch.tensor(a) for a in (W, b, c, np.log(sigma))))


@pytest.mark.parametrize("n_components, n_features", [(1, 1), (4, 3), (10, 6)])
def test_exact_log_partition_matches_closed_form(n_components, n_features):
    model = ref.random_model(n_components, n_features, seed=n_components)
    got = log_partition_exact(torch_params(*model))
    assert got.method == "exact" and got.stderr == 0.0
    assert_allclose(got.value, ref.log_partition(*model), rtol=1e-12)


def test_exact_log_partition_is_independent_of_batching():
    model = ref.random_model(9, 5, seed=3)
    whole = log_partition_exact(torch_params(*model)).value
    pieces = log_partition_exact(torch_params(*model), max_batch_elements=7 * 5).value
    assert_allclose(pieces, whole, rtol=1e-13)


def _reference_state_log_weights(H, W, b, c, sigma):
    """SPEC.md's log weight of hidden states, v integrated out (up to the constant)."""
    shifted = b + H @ W
    return H @ c + np.sum((shifted**2 - b**2) / (2 * sigma**2), axis=1)


@pytest.mark.parametrize("seed, scale", [(0, 0.5), (1, 1.5), (2, 3.0)])
def test_hidden_modes_are_local_maxima_and_bound_log_z_from_below(seed, scale):
    W, b, c, sigma = ref.random_model(12, 5, seed=seed, scale=scale)
    starts = (np.random.RandomState(seed).uniform(size=(40, 12)) < 0.5).astype(float)
    modes = hidden_modes(torch_params(W, b, c, sigma), torch.tensor(starts)).numpy()
    weights = _reference_state_log_weights(modes, W, b, c, sigma)
    start_weights = _reference_state_log_weights(starts, W, b, c, sigma)
    # no single flip of any state reached gains, by the NumPy formula
    for j in range(12):
        flipped = modes.copy()
        flipped[:, j] = 1.0 - flipped[:, j]
        assert np.all(_reference_state_log_weights(flipped, W, b, c, sigma) <= weights + 1e-5)
    assert weights.max() >= start_weights.max() - 1e-9
    assert len(np.unique(modes, axis=0)) == len(modes)
    # A lower bound on the enumerated log Z; from every state, the global
    # maximum is among the modes, so the bound is at least its weight.
    exact = ref.log_partition(W, b, c, sigma)
    everything = torch.tensor(ref.all_hidden_states(12))
    bound = log_partition_lower_bound(torch_params(W, b, c, sigma), everything)
    all_weights = _reference_state_log_weights(everything.numpy(), W, b, c, sigma)
    constant = exact - logsumexp(all_weights)
    assert constant + all_weights.max() - 1e-9 <= bound <= exact + 1e-9
    assert log_partition_lower_bound(torch_params(W, b, c, sigma), torch.tensor(starts)) <= bound


def _reference_ascent(start, W, b, c, sigma, min_gain=1e-5):
    """Greedy ascent in NumPy float64: flip the unit of largest gain while
    it gains more than ``min_gain``, the weights by SPEC.md's formula."""
    h = start.copy()
    while True:
        flips = np.tile(h, (len(h), 1))
        flips[np.arange(len(h)), np.arange(len(h))] = 1.0 - h
        gains = _reference_state_log_weights(flips, W, b, c, sigma)
        gains -= _reference_state_log_weights(h[None], W, b, c, sigma)
        j = int(np.argmax(gains))
        if gains[j] <= min_gain:
            return h
        h[j] = 1.0 - h[j]


@pytest.mark.parametrize("n_components, n_features, scale", [(12, 5, 3.0), (40, 30, 1.0)])
def test_hidden_modes_climb_as_the_greedy_ascent_by_the_formula(n_components, n_features, scale):
    # The ascent updates its inputs by Gram-matrix rows, flip by flip: it
    # must reach the states one-best-flip-at-a-time reaches by SPEC.md's log
    # weight, recomputed at every step.
    W, b, c, sigma = ref.random_model(n_components, n_features, seed=4, scale=scale)
    rng = np.random.RandomState(4)
    starts = np.vstack(
        [np.ones(n_components), np.zeros(n_components), rng.uniform(size=(12, n_components)) < 0.5]
    ).astype(float)
    modes = hidden_modes(torch_params(W, b, c, sigma), torch.tensor(starts)).numpy()
    expected = np.unique([_reference_ascent(s, W, b, c, sigma) for s in starts], axis=0)
    assert_array_equal(modes, expected)


def test_log_partition_says_when_ais_misses_a_hidden_mode():
    # 40 units of one direction: a state's weight depends only on how many
    # are on, k, as c k + (w k)^2 / 2 (b = 0, sigma = 1), so log Z is a sum
    # over k (NumPy, float64). AIS from the W = 0 model starts with every
    # unit off (c = -15) and never climbs the barrier to k = 40, which holds
    # nearly all the mass, 200 nats above the all-off state.
    from scipy.special import gammaln

    from sklearn_grbm import AISWarning

    n_components, n_features, w, c = 40, 20, 1.0, -15.0
    direction = np.zeros(n_features)
    direction[0] = 1.0
    W = np.tile(w * direction, (n_components, 1))
    b, sigma = np.zeros(n_features), np.ones(n_features)
    k = np.arange(n_components + 1)
    log_binomial = gammaln(n_components + 1) - gammaln(k + 1) - gammaln(n_components - k + 1)
    exact = 0.5 * n_features * np.log(2 * np.pi) + logsumexp(
        log_binomial + c * k + 0.5 * (w * k) ** 2
    )
    rbm = fitted_with(W, b, np.full(n_components, c), sigma)
    with pytest.warns(AISWarning, match="missed hidden modes") as record:
        log_z = rbm.log_partition("ais", n_chains=100, n_betas=1000, random_state=0)
    assert log_z.missed > 150.0 and log_z.unsure
    assert exact - 0.01 < log_z.value <= exact + 1e-9  # the all-on state's weight
    assert f"{log_z.value:.6g}" in str(record[0].message)
    # score_samples uses it, and says so again
    with pytest.warns(AISWarning, match="missed hidden modes"):
        scores = rbm.score_samples(np.zeros((3, n_features)))
    assert_allclose(
        scores,
        -ref.free_energy(np.zeros((3, n_features)), W, b, rbm.intercept_hidden_, sigma)
        - log_z.value,
    )
    # A model whose modes AIS finds is left as AIS gave it.
    healthy = fitted_with(*ref.random_model(40, 20, seed=0, scale=0.1))
    with warnings.catch_warnings():
        warnings.simplefilter("error", AISWarning)
        assert healthy.log_partition("ais", n_chains=100, n_betas=1000).missed == 0.0


@pytest.mark.parametrize("n_features", [1, 2, 3])
def test_grid_log_partition_matches_closed_form(n_features):
    # Weights of two deviations: p(v) has well-separated components, which
    # the grid must reach and resolve at one deviation's spacing.
    for seed in range(3):
        model = ref.random_model(7, n_features, seed=seed, scale=2.0)
        got = log_partition_grid(torch_params(*model), max_batch_elements=1000)
        assert got.method == "grid" and got.stderr == 0.0
        assert_allclose(got.value, ref.log_partition(*model), rtol=0, atol=1e-7)
    # Too many points: no answer rather than a coarse one.
    assert log_partition_grid(torch_params(*model), max_points=10) is None


@pytest.mark.parametrize("seed", [0, 1])
def test_best_common_sigma_shift_maximises_the_exact_likelihood(seed):
    W, b, c, sigma = ref.random_model(5, 4, seed=seed)
    V = np.random.RandomState(seed).normal(size=(300, 4)) * 2.0 + b
    sigma = sigma * 0.8  # off the optimum, so the maximum is inside the bounds

    def mean_log_likelihood(delta):
        return ref.log_likelihood(V, W, b, c, sigma * np.exp(delta)).mean()

    grid = np.linspace(-0.3, 0.3, 6001)
    best = grid[np.argmax([mean_log_likelihood(delta) for delta in grid])]
    params = torch_params(W, b, c, sigma)
    got = best_common_log_sigma_shift(params, torch.tensor(V), bound=0.3)
    assert_allclose(got, best, atol=2e-4)


@pytest.mark.parametrize("n_components", [1, 3, 6])
def test_calibration_objective_and_its_derivatives_against_numpy(n_components):
    # The objective against the NumPy float64 likelihood by enumeration, and
    # its gradient and Hessian against central differences of that likelihood.
    from sklearn_grbm._likelihood import CalibrationObjective, state_table

    W, b, c, sigma = ref.random_model(n_components, 4, seed=n_components)
    V = np.random.RandomState(n_components).normal(size=(200, 4)) * 1.5 + b
    params = torch_params(W, b, c, sigma)
    u, K = W @ (b / sigma**2), (W / sigma**2) @ W.T
    states, quadratic = state_table(torch.tensor(u), torch.tensor(K))
    # every state once, row s with unit j on where bit j of s is set
    H = states.numpy()
    assert set(np.unique(H)) <= {0.0, 1.0}
    assert_array_equal(H @ (2 ** np.arange(n_components)), np.arange(2**n_components))
    expected = H @ u + 0.5 * np.einsum("si,ij,sj->s", H, K, H)
    assert_allclose(quadratic.numpy(), expected, rtol=1e-12, atol=1e-12)

    def reference(x):  # x = (delta, the hidden biases)
        return -ref.log_likelihood(V, W, b, x[1:], sigma * np.exp(x[0])).mean()

    # The objective leaves out terms that do not depend on x: the same
    # difference from the reference wherever x is.
    objective = CalibrationObjective(params, torch.tensor(V))
    points = np.random.RandomState(0).normal(scale=0.3, size=(5, n_components + 1))
    points[:, 1:] += c
    offsets = [objective.value(torch.tensor(point)) - reference(point) for point in points]
    assert_allclose(offsets, offsets[0], rtol=0, atol=1e-10)
    x = points[0]
    gradient, hessian = (t.numpy() for t in objective.derivatives(torch.tensor(x.copy())))
    eps, eye = 1e-5, np.eye(n_components + 1)
    numeric_gradient = [(reference(x + eps * e) - reference(x - eps * e)) / (2 * eps) for e in eye]
    assert_allclose(gradient, numeric_gradient, rtol=1e-6, atol=1e-7)
    numeric_hessian = [
        [
            (
                reference(x + eps * (e + f))
                - reference(x + eps * (e - f))
                - reference(x - eps * (e - f))
                + reference(x - eps * (e + f))
            )
            / (4 * eps**2)
            for f in eye
        ]
        for e in eye
    ]
    assert_allclose(hessian, numeric_hessian, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("seed", [0, 1])
def test_calibrated_temperature_and_hidden_biases_maximise_the_exact_likelihood(seed):
    # The reference: NumPy float64 log-likelihood by enumeration, maximised over
    # (delta, dc) by Nelder-Mead from another start. Rows drawn from the model
    # itself, so the maximum is inside (near the truth); sigma and c are off.
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    # Orthogonal rows of W and one sigma: the units are independent in the
    # model, each as likely on as off, so every state has weight.
    rng = np.random.RandomState(seed)
    W = 2.0 * np.linalg.qr(rng.normal(size=(5, 4)))[0].T
    b, sigma = rng.normal(size=5), np.full(5, 0.8)
    c = -(W @ (b / sigma**2)) - 0.5 * np.sum(W**2 / sigma**2, axis=1)
    H = ref.all_hidden_states(4)
    log_weights = H @ c + np.sum(((b + H @ W) ** 2 - b**2) / (2 * sigma**2), axis=1)
    drawn = rng.choice(len(H), size=2000, p=np.exp(log_weights - logsumexp(log_weights)))
    V = ref.visible_mean(H[drawn], W, b) + sigma * rng.normal(size=(2000, 5))
    c_off, sigma = c + np.array([1.0, -1.0, 0.5, -0.5]), sigma * 0.9

    def mean_log_likelihood(x):
        return ref.log_likelihood(V, W, b, c_off + x[1:], sigma * np.exp(x[0])).mean()

    reference = minimize(
        lambda x: -mean_log_likelihood(x),
        np.full(5, 0.05),
        method="Nelder-Mead",
        options=dict(xatol=1e-9, fatol=1e-12, maxiter=20000, maxfev=20000),
    )
    params = torch_params(W, b, c_off, sigma)
    delta, dc = calibrated_temperature(params, torch.tensor(V), bound=0.5)
    ours = np.concatenate([[delta], dc.numpy()])
    assert abs(reference.x[0]) < 0.5  # inside the bounds, so both find the same maximum
    assert mean_log_likelihood(ours) >= -reference.fun - 1e-7
    assert_allclose(ours, reference.x, atol=1e-3)
    truth = -np.array([1.0, -1.0, 0.5, -0.5])  # c_off minus the c the rows were drawn with
    assert np.all(np.abs(ours[1:] - truth) < 0.3), ours
    assert mean_log_likelihood(ours) > mean_log_likelihood(np.zeros(5)) + 0.05
    # sigma alone: the one-dimensional search of best_common_log_sigma_shift
    alone, zeros = calibrated_temperature(params, torch.tensor(V), bound=0.5, hidden_biases=False)
    assert alone == best_common_log_sigma_shift(params, torch.tensor(V), bound=0.5)
    assert not zeros.any()


def test_sigma_calibration_runs_less_often_as_the_hidden_states_grow():
    # every epoch up to 19 units, then every k-th epoch where one pass over
    # the states costs k times the budget, none past 22 units
    assert [calibration_interval(m) for m in (1, 16, 19, 20, 21, 22)] == [1, 1, 1, 2, 4, 9]
    assert calibration_interval(23) is None and calibration_interval(256) is None
    for m in range(1, 23):
        per_epoch = 2.0**m * m**2 / calibration_interval(m)
        assert per_epoch <= CALIBRATION_MAX_MULTIPLY_ADDS


def test_one_dimensional_density_integrates_to_one():
    W, b, c, sigma = ref.random_model(3, 1, seed=4, scale=1.5)
    rbm = fitted_with(W, b, c, sigma)
    # log Z against quadrature of exp(-F(v)) over the real line.
    integral, _ = integrate.quad(
        lambda v: np.exp(-ref.free_energy(np.array([[v]]), W, b, c, sigma)[0]),
        -np.inf,
        np.inf,
        epsabs=0,
        epsrel=1e-11,
    )
    assert_allclose(rbm.log_partition().value, np.log(integral), rtol=1e-9)
    grid = np.linspace(-30, 30, 200001)[:, None]
    density = np.exp(rbm.score_samples(grid))
    assert_allclose(np.trapezoid(density, grid[:, 0]), 1.0, rtol=1e-7)


def test_two_dimensional_density_integrates_to_one():
    W, b, c, sigma = ref.random_model(4, 2, seed=5, scale=1.0)
    rbm = fitted_with(W, b, c, sigma)
    axis = np.linspace(-25, 25, 1201)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    density = np.exp(rbm.score_samples(grid)).reshape(axis.size, axis.size)
    mass = np.trapezoid(np.trapezoid(density, axis, axis=1), axis)
    assert_allclose(mass, 1.0, rtol=1e-6)
    assert_allclose(
        rbm.score_samples(grid[:50]), ref.log_likelihood(grid[:50], W, b, c, sigma), rtol=1e-10
    )


def test_score_samples_uses_exact_partition_for_small_models():
    W, b, c, sigma = ref.random_model(6, 5, seed=6)
    rbm = fitted_with(W, b, c, sigma)
    X = np.random.RandomState(0).normal(size=(10, 5))
    assert_allclose(rbm.score_samples(X), ref.log_likelihood(X, W, b, c, sigma), rtol=1e-10)


def test_exact_threshold_follows_the_cost():
    # auto enumerates while 2^M M D <= 4e9; an explicit "exact" up to 30 units.
    assert exact_is_affordable(18, 784)
    assert not exact_is_affordable(20, 784)
    assert exact_is_affordable(20, 64) and exact_is_affordable(21, 64)
    assert not exact_is_affordable(22, 64)
    assert exact_is_affordable(25, 1) and not exact_is_affordable(28, 1)
    assert choose_method("auto", 21, 64) == "exact" and choose_method("auto", 22, 64) == "ais"
    assert choose_method("exact", 30, 784) == "exact"
    with pytest.raises(ValueError, match="above 30"):
        choose_method("exact", 31, 2)
    with pytest.raises(ValueError, match="method must be"):
        choose_method("enumerate", 3, 2)


@pytest.fixture(scope="module")
def digits():
    return load_digits().data / 16.0


@pytest.mark.parametrize("n_components", [12, 16, 20])
def test_ais_agrees_with_exact_on_trained_models(digits, n_components):
    # Default settings, trained models: every run within 0.15 nats, the mean
    # error (the bias) within three standard errors of the mean of the four
    # runs (about 0.07 nats), and each run's reported standard error honest.
    rbm = GaussianBernoulliRBM(
        n_components=n_components, n_iter=20, learning_rate=1e-2, random_state=0
    ).fit(digits)
    exact = rbm.log_partition("exact").value
    estimates = [rbm.log_partition("ais", random_state=seed) for seed in range(4)]
    errors = np.array([e.value - exact for e in estimates])
    stderr = np.array([e.stderr for e in estimates])
    assert np.all(np.abs(errors) < 0.15), errors
    assert abs(errors.mean()) < 3 * np.sqrt(np.sum(stderr**2)) / len(stderr), (errors, stderr)
    assert np.all(np.abs(errors) < 4 * stderr + 0.02), (errors, stderr)


def test_ais_agrees_with_integration_for_a_2d_model_with_many_hidden_units():
    rng = np.random.RandomState(0)
    centres = np.array([[-3.0, -3.0], [3.0, -3.0], [0.0, 3.0]])
    X = centres[rng.randint(3, size=3000)] + rng.normal(size=(3000, 2))
    rbm = GaussianBernoulliRBM(n_components=64, n_iter=20, learning_rate=1e-2, random_state=0).fit(
        X
    )
    axis = np.linspace(-30, 30, 1501)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    minus_F = -rbm.free_energy(grid).reshape(axis.size, axis.size)
    top = minus_F.max()
    integral = np.trapezoid(np.trapezoid(np.exp(minus_F - top), axis, axis=1), axis)
    reference = top + np.log(integral)
    estimate = rbm.log_partition("ais", random_state=0)
    assert abs(estimate.value - reference) < 0.05, (estimate, reference)


def test_default_ais_temperatures_follow_the_cost():
    from sklearn_grbm._likelihood import ais_betas

    assert ais_betas(16, 64, 100) == 5000
    assert ais_betas(250, 784, 100) == 1000
    assert 1000 < ais_betas(100, 300, 100) < 5000


def hard_small_model():
    """16 hidden units in 2-D, where 100 AIS chains at 300 temperatures have a
    standard error of about 0.1 nats; log Z is exact by enumeration."""
    rng = np.random.RandomState(0)
    W = rng.normal(scale=0.5, size=(16, 2))
    b, sigma = np.zeros(2), np.full(2, 0.7)
    c = -2.0 - (W**2).sum(axis=1) / 2
    return torch_params(W, b, c, sigma)


def test_ais_with_given_temperatures_adds_chains_until_the_error_is_small():
    params = hard_small_model()
    exact = log_partition_exact(params).value
    few = log_partition_ais(params, torch.Generator().manual_seed(0), n_chains=100, n_betas=300)
    auto = log_partition_ais(params, torch.Generator().manual_seed(0), n_betas=300)
    assert few.stderr > 0.05  # 100 chains are not enough for this model
    assert auto.stderr <= 0.05
    assert abs(auto.value - exact) < 3 * auto.stderr + 0.02, (auto, exact)


def test_default_ais_doubles_its_temperatures_until_the_error_is_small(monkeypatch):
    from sklearn_grbm import _likelihood

    params = hard_small_model()
    exact = log_partition_exact(params).value
    monkeypatch.setattr(_likelihood, "ais_betas", lambda *args: 300)
    first = log_partition_ais(params, torch.Generator().manual_seed(0), n_chains=100)
    auto = log_partition_ais(params, torch.Generator().manual_seed(0))
    assert first.stderr > 0.05
    assert auto.stderr < first.stderr / 1.5
    assert abs(auto.value - exact) < 3 * auto.stderr + 0.02, (auto, exact)


def test_default_ais_is_the_100_chain_run_when_that_is_precise():
    rbm = fitted_with(*ref.random_model(6, 3, seed=1, scale=0.1))
    assert rbm.log_partition("ais", random_state=0) == rbm.log_partition(
        "ais", n_chains=100, random_state=0
    )


def test_ais_is_exact_for_zero_weights():
    W, b, c, sigma = ref.random_model(30, 4, seed=7, scale=0.0)
    got = log_partition_ais(
        torch_params(W, b, c, sigma), torch.Generator().manual_seed(0), n_betas=10
    )
    # With W = 0 the hidden units are free: log Z = Gaussian constant + sum softplus(c).
    closed_form = 2 * np.log(2 * np.pi) + np.log(sigma).sum() + np.logaddexp(0, c).sum()
    assert_allclose(got.value, closed_form, rtol=1e-12)
    assert got.stderr == 0.0


def test_score_samples_with_ais_is_deterministic_and_cached(digits):
    rbm = GaussianBernoulliRBM(n_components=40, n_iter=2, random_state=0).fit(digits[:300])
    first = rbm.score_samples(digits[:20])
    assert rbm.log_partition().method == "ais"
    clone = GaussianBernoulliRBM(n_components=40, n_iter=2, random_state=0).fit(digits[:300])
    assert_allclose(clone.score_samples(digits[:20]), first, rtol=0)
    assert_allclose(rbm.score_samples(digits[:20]), first, rtol=0)


def test_cached_partition_follows_parameter_changes():
    W, b, c, sigma = ref.random_model(3, 2, seed=8)
    rbm = fitted_with(W, b, c, sigma)
    before = rbm.log_partition().value
    rbm.sigma_ = rbm.sigma_ * 2
    after = rbm.log_partition().value
    assert_allclose(after, ref.log_partition(W, b, c, sigma * 2), rtol=1e-12)
    assert after != before


def test_log_mean_exp_with_stderr():
    log_w = torch.tensor(np.log([1.0, 2.0, 3.0, 6.0]), dtype=torch.float64)
    value, stderr = log_mean_exp_with_stderr(log_w)
    w = np.array([1.0, 2.0, 3.0, 6.0])
    assert_allclose(value, np.log(w.mean()))
    assert_allclose(stderr, w.std(ddof=1) / (2 * w.mean()))


def test_log_partition_methods_and_their_use_by_score_samples(digits):
    rbm = GaussianBernoulliRBM(n_components=10, n_iter=3, random_state=0).fit(digits[:300])
    exact = rbm.log_partition("exact")
    assert exact.method == "exact" and rbm.log_partition().method == "exact"
    precise = rbm.log_partition("ais", n_chains=300, n_betas=2000, random_state=1)
    assert precise.method == "ais" and abs(precise.value - exact.value) < 4 * precise.stderr + 0.05
    # score_samples now uses the AIS value just computed.
    assert_allclose(rbm.score_samples(digits[:5]), -rbm.free_energy(digits[:5]) - precise.value)
    assert (
        rbm.log_partition("ais", random_state=1).value
        == rbm.log_partition("ais", random_state=1).value
    )
    for bad in (dict(method="bogus"), dict(n_chains=1), dict(n_betas=0)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            rbm.log_partition(**bad)
    with pytest.raises(ValueError, match="use 'ais'"):
        fitted_with(*ref.random_model(31, 1, seed=0)).log_partition("exact")


# ------------------------------------------------------------------ both sides


@pytest.mark.parametrize(
    "n_components, learning_rate, standardize",
    [(12, 1e-2, True), (16, 3e-2, True), (18, 1e-2, False)],
)
def test_bounds_bracket_the_exact_log_likelihood(digits, n_components, learning_rate, standardize):
    rbm = GaussianBernoulliRBM(
        n_components=n_components,
        n_iter=15,
        learning_rate=learning_rate,
        standardize=standardize,
        random_state=0,
    ).fit(digits)
    rows = digits[::12]
    exact = rbm.score_samples(rows)  # exact log Z: 2^M states enumerated
    assert rbm.log_partition().method == "exact"
    bounds = rbm.log_likelihood_bounds(rows, n_betas=4000, random_state=1)
    assert bounds.lower.shape == bounds.upper.shape == exact.shape
    lower, upper = bounds.lower.mean(), bounds.upper.mean()
    # In expectation lower <= log p(x) <= upper; the estimates are within a
    # few tenths of a nat of that, and the bracket is under a nat wide.
    assert lower <= exact.mean() + 0.1, (lower, exact.mean())
    assert upper >= exact.mean() - 0.15, (upper, exact.mean())
    assert upper - lower < 1.0, (lower, upper)
    assert rbm.log_partition().method == "exact"  # the bounds leave the cached log Z alone


def test_bounds_bracket_numerical_integration_for_a_2d_model():
    rng = np.random.RandomState(0)
    centres = np.array([[-3.0, -3.0], [3.0, -3.0], [0.0, 3.0]])
    X = centres[rng.randint(3, size=2000)] + rng.normal(size=(2000, 2))
    rbm = GaussianBernoulliRBM(n_components=48, n_iter=10, learning_rate=1e-2, random_state=0)
    rbm.fit(X)
    axis = np.linspace(-25, 25, 1001)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    minus_F = -rbm.free_energy(grid).reshape(axis.size, axis.size)
    top = minus_F.max()
    log_z = top + np.log(np.trapezoid(np.trapezoid(np.exp(minus_F - top), axis, axis=1), axis))
    rows = X[:300]
    truth = -rbm.free_energy(rows) - log_z
    bounds = rbm.log_likelihood_bounds(rows, n_betas=3000, random_state=0)
    assert bounds.lower.mean() <= truth.mean() + 0.05
    assert bounds.upper.mean() >= truth.mean() - 0.1
    assert bounds.upper.mean() - bounds.lower.mean() < 0.5


def test_bounds_of_a_large_model_are_finite_and_ordered(digits):
    rbm = GaussianBernoulliRBM(n_components=100, n_iter=10, learning_rate=1e-2, random_state=0)
    rbm.fit(digits)
    short = rbm.log_likelihood_bounds(digits[:100], n_betas=100, random_state=0)
    longer = rbm.log_likelihood_bounds(digits[:100], n_betas=1000, random_state=0)
    with pytest.raises(ValueError, match="n_betas"):
        rbm.log_likelihood_bounds(digits[:5], n_betas=1.5)
    for bounds in (short, longer):
        assert np.isfinite(bounds.lower).all() and np.isfinite(bounds.upper).all()
        assert bounds.lower.mean() < bounds.upper.mean()
    # Longer annealing closes the gap.
    gap = [b.upper.mean() - b.lower.mean() for b in (short, longer)]
    assert gap[1] < gap[0], gap


def test_raise_is_below_the_exact_log_likelihood_and_closes_in(digits):
    import torch

    from sklearn_grbm._likelihood import ais_schedule, raise_log_likelihood

    W, b, c, sigma = ref.random_model(6, 3, seed=4, scale=1.5)
    params = RBMParams(*(torch.tensor(a) for a in (W, b, c, np.log(sigma))))
    V = np.random.RandomState(0).normal(size=(400, 3)) + b
    exact = ref.log_likelihood(V, W, b, c, sigma)
    gaps = []
    for n_betas in (20, 2000):
        generator = torch.Generator().manual_seed(0)
        lower = raise_log_likelihood(params, torch.tensor(V), generator, ais_schedule(n_betas))
        gaps.append(float((exact - lower.numpy()).mean()))
    assert gaps[0] > gaps[1] > -0.02 and gaps[1] < 0.05, gaps


def test_unsure_ais_warns_and_reports_its_effective_sample_size(digits):
    from sklearn_grbm import AISWarning

    rbm = GaussianBernoulliRBM(n_components=40, n_iter=5, learning_rate=1e-2, random_state=0)
    rbm.fit(digits)
    with pytest.warns(AISWarning, match="effective sample size"):
        rough = rbm.log_partition("ais", n_chains=20, n_betas=10, random_state=0)
    assert rough.unsure and 1.0 <= rough.ess <= 20 and rough.n_chains == 20
    with pytest.warns(AISWarning):
        rbm.score_samples(digits[:5])  # uses the cached, unsure estimate
    with warnings.catch_warnings():
        warnings.simplefilter("error", AISWarning)
        careful = rbm.log_partition("ais", random_state=0)
    assert not careful.unsure and careful.ess > 0.1 * careful.n_chains
