"""Where training starts: initial weights, biases and sigma, and the sigma floor."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import norm
from sklearn.datasets import load_diabetes, load_digits, load_iris, load_wine
from sklearn.model_selection import train_test_split

from sklearn_grbm import GaussianBernoulliRBM

from . import reference
from .helpers import Xdigits


def test_initialisation_is_the_notebooks():
    rbm = GaussianBernoulliRBM(n_components=300, n_iter=0, standardize=False, random_state=0).fit(
        Xdigits
    )
    assert_allclose(rbm.components_.std(), 0.01, rtol=0.02)
    assert_array_equal(rbm.intercept_hidden_, 0)
    assert_array_equal(rbm.intercept_visible_, 0)
    assert_array_equal(rbm.sigma_, 1.0)


def test_anchored_hidden_biases_put_each_component_at_one_percent():
    # In the mixture-of-Gaussians view, the component with only hidden unit j
    # on has log weight c_j + sum_i ((b_i + W_ji)^2 - b_i^2) / (2 sigma_i^2)
    # relative to the all-off anchor; the anchored init makes it log(0.01).
    rbm = GaussianBernoulliRBM(
        n_components=7,
        n_iter=0,
        weight_scale=0.5,
        hidden_bias_init="anchored",
        sigma=0.8,
        standardize=False,
        random_state=0,
    ).fit(Xdigits)
    W, b, c, sigma = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_, rbm.sigma_
    log_weights = c + np.sum(((b + W) ** 2 - b**2) / (2 * sigma**2), axis=1)
    assert_allclose(log_weights, np.log(0.01), rtol=1e-10)
    assert_allclose(W.std(), 0.5, rtol=0.05)


def test_orthogonal_init_spreads_opposite_pairs_of_orthonormal_directions():
    n_features, scale = 4, 0.3
    rbm = GaussianBernoulliRBM(
        n_components=11,
        n_iter=0,
        weight_init="orthogonal",
        weight_scale=scale,
        standardize=False,
        random_state=0,
    ).fit(Xdigits[:, :n_features] + np.arange(n_features))
    W = rbm.components_ / (scale * np.sqrt(n_features))
    assert_allclose(np.linalg.norm(W, axis=1), 1.0, rtol=1e-12)
    assert_allclose(W[0::2][:5], -W[1::2][:5], rtol=1e-12)  # pairs +q, -q
    first_basis, second_basis = W[0:8:2], W[8:11:2]
    assert_allclose(first_basis @ first_basis.T, np.eye(4), atol=1e-12)
    assert_allclose(second_basis @ second_basis.T, np.eye(2), atol=1e-12)
    assert not np.allclose(np.abs(first_basis[:2]), np.abs(second_basis))  # a fresh basis
    other = GaussianBernoulliRBM(
        n_components=11, n_iter=0, weight_init="orthogonal", weight_scale=scale, random_state=1
    ).fit(Xdigits[:, :n_features])
    assert not np.allclose(other.components_, rbm.components_)


@pytest.mark.parametrize("n_components", [4, 10, 11])
def test_auto_start_spreads_small_models_only(n_components):
    # Small models (<= 10 units, standardising) start as the data's Gaussian
    # plus one-unit components in +-pairs of orthonormal directions, 2 standard
    # deviations out, each at 1% of the all-off component's weight.
    X = Xdigits * 3.0 + 1.0
    params = dict(n_components=n_components, n_iter=0, random_state=0)
    rbm = GaussianBernoulliRBM(**params).fit(X)
    W, b, c, sigma = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_, rbm.sigma_
    W_standardised = rbm._training_state["params"]["W"]  # in training coordinates
    assert_allclose(W_standardised * rbm._training_state["scaling"][1], W, rtol=1e-12)
    if n_components > 10:  # Glorot's normal weights, zero biases, in training coordinates
        assert_allclose(W_standardised.std(), 1 / np.sqrt(64 + n_components), rtol=0.1)
        assert_allclose(rbm._training_state["params"]["c"], 0.0)
        return
    assert_allclose(np.linalg.norm(W_standardised, axis=1), 2.0, rtol=1e-6)
    assert_allclose(W_standardised[0::2], -W_standardised[1::2], rtol=1e-6)
    assert_allclose(
        W_standardised[0::2] @ W_standardised[0::2].T, 4 * np.eye(n_components // 2), atol=1e-6
    )
    log_weights = c + np.sum(((b + W) ** 2 - b**2) / (2 * sigma**2), axis=1)
    assert_allclose(log_weights, np.log(0.01), rtol=1e-6)
    # without standardising, the notebook's start whatever the size
    plain = GaussianBernoulliRBM(standardize=False, **params).fit(X)
    assert_array_equal(plain.intercept_hidden_, 0)
    assert_allclose(plain.components_.std(), 0.01, rtol=0.3)


def test_sigma_cannot_collapse_on_constant_or_quantised_columns():
    X = load_digits().data  # integers 0..16, several columns always 0
    constant = X.std(axis=0) == 0
    assert constant.any()
    rbm = GaussianBernoulliRBM(n_components=32, n_iter=30, learning_rate=1e-2, random_state=0)
    rbm.fit(X)
    # Standardised: 1% of each column's spread; constant columns take the
    # others' root-mean-square spread.
    std = X.std(axis=0)
    scale = np.where(constant, np.sqrt(np.mean(std[~constant] ** 2)), std)
    assert_allclose(rbm.sigma_floor_, 0.01 * scale, rtol=1e-12)
    assert np.all(rbm.sigma_ >= rbm.sigma_floor_ * (1 - 1e-6))
    for out in (rbm.score_samples(X), rbm.transform(X), rbm.reconstruct(X)):
        assert np.isfinite(out).all()
    # In the data's units: one floor, 1% of the root-mean-square spread.
    raw = GaussianBernoulliRBM(
        n_components=32, n_iter=30, learning_rate=1e-2, standardize=False, random_state=0
    ).fit(X)
    expected_floor = 0.01 * np.sqrt(np.mean(X.var(axis=0)))
    assert_allclose(raw.sigma_floor_, np.full(64, expected_floor))
    assert np.all(raw.sigma_ >= expected_floor * (1 - 1e-12))
    assert np.allclose(raw.sigma_[constant], expected_floor)


def test_all_constant_data_trains_without_nan():
    X = np.full((50, 3), 7.0)
    for standardize in (True, False):
        rbm = GaussianBernoulliRBM(
            n_components=2, n_iter=20, learning_rate=0.05, standardize=standardize, random_state=0
        ).fit(X)
        assert np.all(rbm.sigma_floor_ > 0) and np.all(rbm.sigma_ >= rbm.sigma_floor_ * (1 - 1e-6))
        assert np.isfinite(rbm.score_samples(X)).all()


def test_standardised_start_has_the_data_gaussians_spread_and_centred_biases():
    X = Xdigits * 3.0 + 10.0
    rbm = GaussianBernoulliRBM(n_components=300, n_iter=0, random_state=0).fit(X)
    std = X.std(axis=0)
    constant = std == 0
    scale = np.where(constant, np.sqrt(np.mean(std[~constant] ** 2)), std)
    # b centres the start's mixture of means b + W^T h on the data's mean (c = 0)
    centred = X.mean(axis=0) - 0.5 * rbm.components_.sum(axis=0)
    assert_allclose(rbm.intercept_visible_, centred, atol=1e-6)
    # sigma^2 + sum_j W_ji^2 / 4 (the spread of those means) is each column's variance
    spread = 0.25 * np.sum(rbm.components_**2, axis=0)
    assert_allclose(rbm.sigma_**2 + spread, scale**2, rtol=1e-9)
    assert np.all(rbm.sigma_ < 0.95 * scale)
    # Fixed sigma stays where it is asked to be.
    fixed = GaussianBernoulliRBM(n_components=300, n_iter=0, learn_sigma=False, random_state=0)
    assert_allclose(fixed.fit(X).sigma_, scale, rtol=1e-12)
    # weight_scale="auto": W ~ Normal(0, 1 / (D + M)) in standardised units (Glorot's),
    # so column i of components_ is scaled by its spread.
    expected = 1 / np.sqrt(X.shape[1] + 300)
    assert_allclose((rbm.components_ / scale).std(), expected, rtol=0.02)
    assert_allclose((rbm.components_ / scale).std(axis=0), expected, rtol=0.25)


def test_weight_init_array_starts_from_the_given_weights():
    W = np.random.RandomState(0).normal(size=(5, 64))
    rbm = GaussianBernoulliRBM(n_components=5, n_iter=0, weight_init=W).fit(Xdigits)
    assert_allclose(rbm.components_, W, rtol=1e-12)
    with pytest.raises(ValueError, match="weight_init has shape"):
        GaussianBernoulliRBM(n_components=4, n_iter=0, weight_init=W).fit(Xdigits)


def test_standardised_start_is_centred_on_the_data_and_close_to_its_gaussian():
    # The start's exact mean and variance over all 2^14 hidden states (NumPy
    # float64) are the data's: with c = 0 and b = -W^T 1 / 2, p(h) = p(1 - h),
    # so the start is symmetric about the data's mean, and sigma^2 is the
    # column's variance less the spread of the means b + W^T h. Its
    # log-likelihood is then near the diagonal Gaussian's; with b at the data's
    # mean, or sigma at the column's spread (fixed sigma: the same W), it is not.
    X = load_wine().data
    mean, std = X.mean(axis=0), X.std(axis=0)
    gaussian = np.mean(np.sum(-0.5 * ((X - mean) / std) ** 2 - np.log(std * np.sqrt(2 * np.pi)), 1))

    def start(**params):
        rbm = GaussianBernoulliRBM(n_components=14, n_iter=0, random_state=0, **params).fit(X)
        return rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_, rbm.sigma_

    def moments(W, b, c, sigma):
        H = reference.all_hidden_states(W.shape[0])
        logits = H @ c + np.sum(((b + H @ W) ** 2 - b**2) / (2 * sigma**2), axis=1)
        weights = np.exp(logits - logsumexp(logits))
        means = b + H @ W
        model_mean = weights @ means
        return model_mean, sigma**2 + weights @ (means - model_mean) ** 2

    W, b, c, sigma = start()
    unmatched = start(learn_sigma=False)
    assert_allclose(unmatched[0], W, rtol=1e-12)
    model_mean, model_variance = moments(W, b, c, sigma)
    assert np.abs(model_mean - mean).max() / std.max() < 1e-8
    uncentred = moments(W, mean, c, sigma)[0]
    assert (np.abs(uncentred - mean) / std).max() > 0.3
    # The hidden units' coupling adds a little variance; sigma at the spread, 13% on average.
    matched = model_variance / std**2
    too_wide = moments(*unmatched)[1] / std**2
    assert np.abs(matched - 1).max() < 0.07 and np.abs(matched.mean() - 1) < 0.03
    assert too_wide.mean() > 1.1 and np.all(too_wide > matched)

    def log_likelihood(W, b, c, sigma):
        return np.mean(reference.log_likelihood(X, W, b, c, sigma))

    assert gaussian - 0.15 < log_likelihood(W, b, c, sigma) <= gaussian
    assert log_likelihood(*unmatched) < log_likelihood(W, b, c, sigma)
    assert log_likelihood(W, mean, c, sigma) < gaussian - 0.5
    # Annealing draws its negative phase from the model: it starts at the column means.
    ais = GaussianBernoulliRBM(n_components=14, n_iter=0, sampler="ais", random_state=0).fit(X)
    assert_allclose(ais.intercept_visible_, mean, rtol=1e-12)


def test_annealed_fits_start_a_learned_sigma_at_half_the_columns_spread():
    # Off the Gaussian's saddle (W's gradient vanishes where sigma is the
    # data's spread and W is small); a fixed sigma stays where it is set.
    X = Xdigits[:, 20:22] * 3.0 + 1.0
    std = X.std(axis=0)
    ais = GaussianBernoulliRBM(n_components=32, n_iter=0, random_state=0).fit(X)
    assert_allclose(ais.sigma_, 0.5 * std, rtol=1e-9)
    wide = GaussianBernoulliRBM(n_components=32, n_iter=0, sigma=2.0, random_state=0).fit(X)
    assert_allclose(wide.sigma_, std, rtol=1e-9)
    fixed = GaussianBernoulliRBM(n_components=32, n_iter=0, learn_sigma=False, random_state=0)
    assert_allclose(fixed.fit(X).sigma_, std, rtol=1e-9)
    cd = GaussianBernoulliRBM(n_components=32, n_iter=0, sampler="cd", random_state=0).fit(X)
    assert np.all(cd.sigma_ > 0.6 * std)


@pytest.mark.parametrize("loader", [load_wine, load_iris, load_diabetes])
def test_defaults_on_small_tabular_data_start_and_stay_above_the_gaussian(loader):
    # ~100-300 rows: the start must not be below the Gaussian (sigma at the
    # column's spread was: wine -0.10 nats, iris -0.04), and training must
    # move it: at 128 rows a minibatch these data are one to three updates an
    # epoch and end near the start (iris +0.12, +0.10); batch_size="auto"
    # gives them 7 to 20 (iris +0.40, +0.42; wine +1.3, diabetes +1.1).
    X = loader().data
    for seed in (0, 1):
        X_train, X_test = train_test_split(X, test_size=0.3, random_state=seed)
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        gaussian = np.mean(np.sum(norm.logpdf(X_test, mean, std), axis=1))
        rbm = GaussianBernoulliRBM(n_components=64, random_state=seed).fit(X_train)
        assert rbm.score_samples(X_test).mean() > gaussian + 0.25
