"""Column statistics and the exact map of the parameters between training
coordinates and the data's units (``standardize=True``)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sklearn_grbm import GaussianBernoulliRBM, _scaling
from sklearn_grbm._initialization import sigma_floor
from sklearn_grbm._scaling import (
    Scaling,
    column_statistics,
    combine_statistics,
    to_data_units,
    to_training_units,
)

from . import reference as ref


def test_chunked_column_statistics_match_the_direct_formulas(monkeypatch):
    X = np.random.RandomState(0).normal(size=(1000, 7)) * np.arange(1, 8) - 3
    monkeypatch.setattr(_scaling, "CHUNK_ELEMENTS", 4 * 7 * 33)  # chunks of 33 rows
    mean, std, largest = column_statistics(X)
    assert_allclose(mean, X.mean(axis=0), rtol=1e-12)
    assert_allclose(std, X.std(axis=0), rtol=1e-12)
    assert_allclose(largest, np.abs(X).max(axis=0), rtol=1e-12)
    assert_allclose(sigma_floor(std, largest), 0.01 * np.sqrt(np.mean(X.var(axis=0))), rtol=1e-12)


def test_float32_statistics_match_the_float64_formulas(monkeypatch):
    # float32 chunks are reduced in float32 (fast); the result must still
    # agree with the float64 computation, also far from the origin.
    X = (np.random.RandomState(1).normal(size=(5000, 9)) * np.arange(1, 10) + 50).astype(np.float32)
    monkeypatch.setattr(_scaling, "CHUNK_ELEMENTS", 4 * 9 * 700)
    mean, std, _ = column_statistics(X)
    X64 = X.astype(np.float64)
    assert_allclose(mean, X64.mean(axis=0), rtol=1e-6)
    assert_allclose(std, X64.std(axis=0), rtol=1e-5)


def test_parameter_map_keeps_the_model_and_shifts_log_likelihoods():
    # SPEC's formulas in float64: the model (W', b', c', sigma') on
    # v' = (v - shift) / scale is, on v, the mapped model, with
    # log p(v) = log p'(v') - sum(log scale).
    rng = np.random.RandomState(0)
    W, b, c, sigma = ref.random_model(5, 4, seed=3, scale=0.7)
    scaling = Scaling(rng.normal(size=4) * 10, np.exp(rng.normal(size=4)))
    W2, b2, c2, log_sigma2 = to_data_units(W, b, c, np.log(sigma), scaling)
    V = rng.normal(size=(50, 4))
    V_data = scaling.shift + scaling.scale * V
    expected = ref.log_likelihood(V, W, b, c, sigma) - np.sum(np.log(scaling.scale))
    assert_allclose(
        ref.log_likelihood(V_data, W2, b2, c2, np.exp(log_sigma2)), expected, rtol=1e-10
    )
    assert_allclose(
        ref.hidden_probs(V_data, W2, c2, np.exp(log_sigma2)), ref.hidden_probs(V, W, c, sigma)
    )
    back = to_training_units(W2, b2, c2, log_sigma2, scaling)
    for got, want in zip(back, (W, b, c, np.log(sigma))):
        assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("sampler", ["cd", "pcd"])
def test_the_fit_does_not_depend_on_the_units(sampler):
    # Fitting a * X + t (per-column a > 0) gives the same model in other units:
    # the same hidden features and log-likelihoods shifted by -sum(log a).
    X = np.random.RandomState(0).standard_t(4, size=(600, 5)) @ np.random.RandomState(1).normal(
        size=(5, 5)
    )
    a, t = np.array([1e-3, 1.0, 50.0, 2e3, 0.2]), np.array([5.0, -1e3, 0.0, 1e5, 3.0])
    params = dict(n_components=6, n_iter=5, sampler=sampler, random_state=0)
    model = GaussianBernoulliRBM(**params).fit(X)
    moved = GaussianBernoulliRBM(**params).fit(a * X + t)
    assert_allclose(moved.transform(a * X + t), model.transform(X), rtol=1e-6, atol=1e-9)
    assert_allclose(
        moved.score_samples(a * X + t), model.score_samples(X) - np.sum(np.log(a)), rtol=1e-6
    )
    assert_allclose(moved.sigma_, a * model.sigma_, rtol=1e-6)
    assert_allclose(
        moved.reconstruct(a * X + t), a * model.reconstruct(X) + t, rtol=1e-6, atol=1e-6
    )


def test_combined_statistics_are_those_of_all_rows():
    rng = np.random.RandomState(2)
    parts = [rng.normal(size=(n, 3)) * [1.0, 5.0, 0.1] + [0.0, 3.0, -2.0] for n in (7, 50, 1)]
    combined = (len(parts[0]), *column_statistics(parts[0]))
    for part in parts[1:]:
        combined = combine_statistics(combined, (len(part), *column_statistics(part)))
    X = np.concatenate(parts)
    assert combined[0] == len(X)
    assert_allclose(combined[1], X.mean(axis=0), rtol=1e-12)
    assert_allclose(combined[2], X.std(axis=0), rtol=1e-12)
    assert_allclose(combined[3], np.abs(X).max(axis=0))


def test_partial_fit_standardises_with_the_statistics_of_every_row_seen():
    X = np.random.RandomState(0).normal(size=(900, 4)) * [1.0, 10.0, 0.01, 3.0] + 5.0
    X[:300, 0] = 0.0  # the first chunk alone has a constant column
    model = GaussianBernoulliRBM(n_components=3, random_state=0)
    for chunk in np.split(X, 3):
        model.partial_fit(chunk)
    shift, scale = model._training_state["scaling"]
    assert_allclose(shift, X.mean(axis=0), rtol=1e-10)
    assert_allclose(scale, X.std(axis=0), rtol=1e-10)
    assert_allclose(model.sigma_floor_, 0.01 * X.std(axis=0), rtol=1e-10)
    # The same rows again move nothing: partial_fit on X repeats fit's epochs.
    fitted = GaussianBernoulliRBM(n_components=3, n_iter=2, random_state=0).fit(X)
    stepped = GaussianBernoulliRBM(n_components=3, random_state=0).partial_fit(X).partial_fit(X)
    np.testing.assert_array_equal(fitted.components_, stepped.components_)


def test_estimated_log_likelihoods_do_not_depend_on_the_units():
    # Wide enough for the hidden-mode negatives (>= 128 columns) and for AIS
    # (2^24 hidden states are not enumerated): log Z and the RAISE bounds are
    # estimated in the training coordinates, so the same seed gives the same
    # estimates in any units, shifted by -sum(log a) exactly (in data units
    # AIS drew other Bernoulli samples and moved by a tenth of a nat).
    rng = np.random.RandomState(3)
    X = rng.standard_t(4, size=(300, 150)) @ rng.normal(size=(150, 150)) * 0.1
    a, t = np.exp(rng.uniform(-5, 5, 150)), rng.normal(0, 100, 150)
    params = dict(n_components=24, n_iter=3, random_state=0)
    model = GaussianBernoulliRBM(**params).fit(X)
    moved = GaussianBernoulliRBM(**params).fit(a * X + t)
    log_a = np.sum(np.log(a))
    assert model.log_partition().method == "ais"
    assert_allclose(moved.log_partition().value, model.log_partition().value + log_a, rtol=1e-9)
    assert_allclose(moved.score_samples(a * X + t), model.score_samples(X) - log_a, rtol=1e-9)
    bounds = model.log_likelihood_bounds(X[:20], n_betas=50)
    moved_bounds = moved.log_likelihood_bounds(a * X[:20] + t, n_betas=50)
    assert_allclose(moved_bounds.lower, bounds.lower - log_a, rtol=1e-9)
    assert_allclose(moved_bounds.upper, bounds.upper - log_a, rtol=1e-9)


def test_float64_images_train_the_same_bits_in_any_units():
    # With the hidden-mode negatives (>= 128 columns) a difference of one
    # rounding in the standardised rows grows into another fit within ten
    # epochs, as another seed would. float64 rows are rounded to a millionth
    # of a standard deviation in training coordinates, so X and a * X + t
    # (per column, shifts ten spreads out) train on the same bits.
    from sklearn_grbm._training import resolve_mode_negatives
    from sklearn_grbm.datasets import load_fashion_mnist_subset

    rng = np.random.RandomState(0)
    X = load_fashion_mnist_subset(dtype=np.float64).data[:300] / 255.0
    X += rng.uniform(size=X.shape) / 256.0
    a = np.exp(rng.uniform(-4, 4, X.shape[1]))
    t = rng.normal(0, 10, X.shape[1]) * a
    params = dict(n_components=32, n_iter=8, random_state=0)
    assert resolve_mode_negatives("auto", "cd", X.shape[1], True)
    model = GaussianBernoulliRBM(**params).fit(X)
    moved = GaussianBernoulliRBM(**params).fit(a * X + t)
    for name in ("W", "b", "c", "log_sigma"):
        np.testing.assert_array_equal(
            moved._training_state["params"][name], model._training_state["params"][name]
        )
    assert_allclose(moved.free_energy(a * X + t), model.free_energy(X), rtol=1e-9)
    assert_allclose(moved.transform(a * X + t), model.transform(X), rtol=1e-9, atol=1e-12)
    assert_allclose(moved.sigma_, a * model.sigma_, rtol=1e-12)


def test_partial_fit_carries_the_hidden_modes_between_calls():
    # With the hidden-mode negatives each epoch's ascent starts from the
    # heaviest modes of the epoch before; the training state carries them, so
    # k calls of partial_fit on X are fit with n_iter=k, bit for bit, on wide
    # data too.
    from sklearn_grbm.datasets import load_fashion_mnist_subset

    X = load_fashion_mnist_subset().data[:200] / np.float32(255.0)
    params = dict(n_components=23, n_iter=3, random_state=0)  # too many to calibrate: modes
    fitted = GaussianBernoulliRBM(**params).fit(X)
    stepped = GaussianBernoulliRBM(**params)
    for _ in range(3):
        stepped.partial_fit(X)
    assert stepped._training_state["modes"].shape[1] == 23
    np.testing.assert_array_equal(fitted.components_, stepped.components_)
    np.testing.assert_array_equal(fitted.sigma_, stepped.sigma_)
