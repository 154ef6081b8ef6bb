"""The estimator: scikit-learn's test_rbm.py ported to Gaussian visibles, and
the policies of SPEC.md (dtype, determinism, sigma floor, errors, devices)."""

import pickle
import re
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_grbm import DivergenceError, FitQualityWarning, GaussianBernoulliRBM

from . import reference as ref
from .helpers import FITTED, Xdigits, assert_same_model, small

# --------------------------------------------------- ported from sklearn test_rbm


def test_fit_improves_likelihood_and_keeps_X():
    X = Xdigits.copy()
    untrained = small(n_components=12, n_iter=0).fit(X)
    rbm = small(n_components=12, n_iter=20, batch_size=128, learning_rate=1e-2).fit(X)
    # The untrained model is the diagonal Gaussian of the (standardised) data.
    assert rbm.score_samples(X).mean() > untrained.score_samples(X).mean() + 8
    assert rbm.score(X) > untrained.score(X)
    assert_array_equal(X, Xdigits)


def test_partial_fit_matches_fit_statistically():
    X = Xdigits.copy()
    # 14 minibatches per epoch either way: fit splits X itself, partial_fit
    # gets 7 chunks of about 257 rows, each split into 2 minibatches. The
    # schedules count calls as epochs; over chunks "step" (n_iter all 140
    # calls) drops the step after two thirds of the passes, as fit does.
    # ("decay", the default for CD, would fall from call 18 of 140.)
    params = dict(
        n_components=12, batch_size=128, learning_rate=1e-2, learning_rate_schedule="step"
    )
    fitted = small(n_iter=20, **params).fit(X)
    partial = small(n_iter=140, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitQualityWarning)  # never past the horizon
        for _ in range(20):
            for chunk in np.array_split(X, 7):
                partial.partial_fit(chunk)
    assert partial.n_iter_ == 140
    assert_allclose(partial.history_["learning_rate"][93:95], [1e-2, 1e-3])
    assert len(partial.reconstruction_error_curve_) == 140
    untrained = small(n_components=12, n_iter=0).fit(X).score_samples(X).mean()
    gain_fit = fitted.score_samples(X).mean() - untrained
    gain_partial = partial.score_samples(X).mean() - untrained
    assert gain_fit > 8 and abs(gain_partial - gain_fit) < 0.2 * gain_fit
    assert_allclose(partial.score(X), fitted.score(X), rtol=0.1)
    assert_array_equal(X, Xdigits)


def test_partial_fit_past_the_schedule_says_so_once():
    # The stream a user would write without setting n_iter: the step fell to a
    # tenth at call 3 of n_iter=3 and stays there; call 4 warns, call 5 does not.
    rbm = small(n_components=12, n_iter=3, learning_rate_schedule="step")
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitQualityWarning)
        for chunk in np.array_split(Xdigits, 3):
            rbm.partial_fit(chunk)
    with pytest.warns(FitQualityWarning, match=r"n_iter=3 times.*since call 3"):
        rbm.partial_fit(Xdigits[:100])
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitQualityWarning)
        rbm.partial_fit(Xdigits[:100])
        # a constant step has no horizon to pass
        constant = small(n_components=12, n_iter=1, learning_rate_schedule="constant")
        for _ in range(3):
            constant.partial_fit(Xdigits[:100])
    assert_allclose(rbm.history_["learning_rate"], [1e-3, 1e-3, 1e-4, 1e-4, 1e-4])


def test_transform_is_the_hidden_mean():
    X = Xdigits[:100]
    rbm = small().fit(X)
    expected = ref.hidden_probs(X, rbm.components_, rbm.intercept_hidden_, rbm.sigma_)
    assert_allclose(rbm.transform(X), expected, rtol=1e-10)


def test_inverse_transform_and_reconstruct():
    X = Xdigits[:50]
    rbm = small().fit(X)
    H = rbm.transform(X)
    expected = ref.visible_mean(H, rbm.components_, rbm.intercept_visible_)
    assert_allclose(rbm.inverse_transform(H), expected, rtol=1e-10)
    assert_allclose(rbm.reconstruct(X), expected, rtol=1e-10)
    assert_allclose(rbm.score(X), -np.mean((expected - X) ** 2), rtol=1e-10)
    with pytest.raises(ValueError, match="n_components"):
        rbm.inverse_transform(H[:, :3])


def test_free_energy_and_score_samples_match_reference():
    X = Xdigits[:40]
    rbm = small(n_components=8).fit(X)
    params = (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_, rbm.sigma_)
    assert_allclose(rbm.free_energy(X), ref.free_energy(X, *params), rtol=1e-10)
    assert_allclose(rbm.score_samples(X), ref.log_likelihood(X, *params), rtol=1e-10)


def test_gibbs_samples_have_the_conditional_mean():
    # E[v' | v] = b + E[h | v] W = reconstruct(v); Var[v'_i | v] >= sigma_i^2.
    rbm = small(n_components=4, n_iter=10).fit(Xdigits)
    x = np.repeat(Xdigits[:1], 20000, axis=0)
    v = rbm.gibbs(x)
    assert_allclose(
        v.mean(axis=0), rbm.reconstruct(Xdigits[:1])[0], atol=5 * rbm.sigma_.max() / np.sqrt(20000)
    )
    assert np.all(v.std(axis=0) > 0.97 * rbm.sigma_)


def test_gibbs_smoke():
    rbm = small(n_components=42, batch_size=40, n_iter=20).fit(Xdigits)
    first, second = rbm.gibbs(Xdigits), rbm.gibbs(Xdigits)
    assert np.isfinite(first).all()
    assert np.all((first != second).max(axis=1))
    assert_array_equal(rbm.gibbs(Xdigits, random_state=3), rbm.gibbs(Xdigits, random_state=3))


def test_sample_shapes_and_determinism():
    rbm = small(n_components=8).fit(Xdigits)
    samples = rbm.sample(25, n_steps=20, random_state=0)
    assert samples.shape == (25, 64) and samples.dtype == np.float64
    assert np.isfinite(samples).all()
    assert_array_equal(samples, rbm.sample(25, n_steps=20, random_state=0))
    assert not np.array_equal(rbm.sample(25, n_steps=20), rbm.sample(25, n_steps=20))
    with pytest.raises(ValueError, match="n_samples"):
        rbm.sample(0)


def test_samples_follow_the_model_density():
    # A 1-D model: the histogram of long-run Gibbs samples matches exp(score_samples).
    W, b, c, sigma = (
        np.array([[1.5], [-1.0]]),
        np.array([0.5]),
        np.array([-1.0, 0.5]),
        np.array([0.8]),
    )
    rbm = GaussianBernoulliRBM(n_components=2, n_iter=0).fit(np.zeros((2, 1)))
    rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_, rbm.sigma_ = W, b, c, sigma
    samples = rbm.sample(20000, n_steps=300, random_state=0)[:, 0]
    edges = np.linspace(-4, 6, 41)
    centres = 0.5 * (edges[1:] + edges[:-1])
    expected = np.exp(rbm.score_samples(centres[:, None])) * np.diff(edges)
    observed = np.histogram(samples, bins=edges)[0] / samples.size
    assert np.abs(observed - expected).max() < 0.01


def test_tempered_sampling_follows_a_multimodal_density():
    W, b, c, sigma = (
        np.array([[2.5], [-2.0]]),
        np.array([0.5]),
        np.array([-1.0, 0.5]),
        np.array([0.7]),
    )
    rbm = GaussianBernoulliRBM(n_components=2, n_iter=0, n_temperatures=8).fit(np.zeros((2, 1)))
    rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_, rbm.sigma_ = W, b, c, sigma
    samples = rbm.sample(10000, n_steps=50, method="pt", random_state=0)[:, 0]
    edges = np.linspace(-4, 7, 45)
    centres = 0.5 * (edges[1:] + edges[:-1])
    expected = np.exp(rbm.score_samples(centres[:, None])) * np.diff(edges)
    observed = np.histogram(samples, bins=edges)[0] / samples.size
    assert np.abs(observed - expected).max() < 0.012
    with pytest.raises(ValueError, match="method"):
        rbm.sample(2, method="metropolis")


def test_langevin_sampling_from_a_zero_weight_model():
    rbm = GaussianBernoulliRBM(
        n_components=3, n_iter=0, langevin_adjust=True, langevin_step_size=0.5
    )
    rbm.fit(np.zeros((2, 2)))
    rbm.components_ = np.zeros((3, 2))
    rbm.sigma_ = np.array([0.3, 2.0])
    rbm.intercept_visible_ = np.array([1.0, -1.0])
    samples = rbm.sample(20000, n_steps=20, method="langevin", random_state=0)
    assert_allclose(samples.std(axis=0), rbm.sigma_, rtol=0.03)
    assert_allclose(samples.mean(axis=0), rbm.intercept_visible_, atol=0.05)


def test_score_samples_finite_for_large_inputs():
    rbm = small().fit(Xdigits[:100])
    huge = np.arange(64, dtype=np.float64)[None] * 100
    assert np.isfinite(rbm.score_samples(huge)).all()
    assert np.isfinite(rbm.free_energy(huge)).all()
    assert np.isfinite(rbm.transform(huge)).all()


def test_verbose_line_format(capsys):
    small(n_iter=2, verbose=1).fit(Xdigits[:100])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for i, line in enumerate(lines, start=1):
        assert re.fullmatch(
            rf"\[GaussianBernoulliRBM\] Iteration {i}, reconstruction error = \d+\.\d{{4}}, "
            rf"sigma in \[[\d.e-]+, [\d.e-]+\], learning rate = 0\.001, time = \d+\.\d{{2}}s",
            line,
        )


def test_verbose_progress_within_epochs(capsys):
    small(n_iter=1, verbose=2).fit(Xdigits[:400])
    out = capsys.readouterr().out
    assert "Iteration 1: " in out and "minibatches" in out


@pytest.mark.parametrize(
    "dtype_in, dtype_out", [(np.float32, np.float32), (np.float64, np.float64), (int, np.float64)]
)
def test_transformer_dtypes_casting(dtype_in, dtype_out):
    X = (Xdigits[:100] * 16).astype(dtype_in)
    rbm = small()
    Xt = rbm.fit_transform(X)
    assert Xt.dtype == dtype_out
    for name in FITTED:
        assert getattr(rbm, name).dtype == dtype_out, name
    for out in (
        rbm.reconstruct(X),
        rbm.score_samples(X),
        rbm.free_energy(X),
        rbm.sample(2, n_steps=2),
    ):
        assert out.dtype == dtype_out


def test_float32_and_float64_fits_agree():
    X = Xdigits[:200]
    rbm_64 = small().fit(X.astype(np.float64))
    rbm_32 = small().fit(X.astype(np.float32))
    assert_allclose(rbm_32.transform(X.astype(np.float32)), rbm_64.transform(X), atol=1e-4)
    assert_allclose(rbm_32.components_, rbm_64.components_, atol=1e-4)
    assert_allclose(rbm_32.sigma_, rbm_64.sigma_, rtol=1e-4)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_feature_names_out(method):
    rbm = GaussianBernoulliRBM(n_components=10, n_iter=1)
    getattr(rbm, method)(Xdigits)
    assert_array_equal(rbm.get_feature_names_out(), [f"gaussianbernoullirbm{i}" for i in range(10)])


# ------------------------------------------------------------------ samplers, optimizers


def test_defaults_are_the_notebooks():
    params = GaussianBernoulliRBM().get_params()
    assert params == dict(
        n_components=256,
        learning_rate=1e-3,
        batch_size="auto",
        n_iter=25,
        n_gibbs_steps="auto",
        sampler="auto",
        n_temperatures=10,
        n_langevin_steps=10,
        langevin_step_size=0.1,
        langevin_adjust=False,
        weight_scale="auto",
        weight_init="auto",
        hidden_bias_init="auto",
        standardize=True,
        learn_sigma=True,
        sigma=1.0,
        sigma_learning_rate="auto",
        max_update_norm=None,
        calibrate_sigma=True,
        mode_negatives="auto",
        learning_rate_schedule="auto",
        optimizer="adam",
        momentum=0.9,
        weight_decay=0.0,
        validation_fraction=0.0,
        device="auto",
        out_of_core="auto",
        verbose=0,
        random_state=None,
    )


# ------------------------------------------------------------------ determinism


def test_refits_are_bit_identical_on_cpu():
    a = small(sampler="pcd").fit(Xdigits)
    b = small(sampler="pcd").fit(Xdigits)
    assert_same_model(a, b)
    assert a.reconstruction_error_curve_ == b.reconstruction_error_curve_
    a.fit(Xdigits)
    assert_same_model(a, b)
    c = small(sampler="pcd", random_state=43).fit(Xdigits)
    assert not np.array_equal(a.components_, c.components_)


def test_global_torch_seed_is_neither_used_nor_changed():
    torch.manual_seed(1)
    state = torch.get_rng_state()
    a = small().fit(Xdigits[:200])
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(2)
    b = small().fit(Xdigits[:200])
    assert_same_model(a, b)


def test_random_state_instance_advances():
    rng = np.random.RandomState(0)
    a = small(random_state=rng).fit(Xdigits[:200])
    b = small(random_state=rng).fit(Xdigits[:200])
    assert not np.array_equal(a.components_, b.components_)


# ------------------------------------------------------------------ sigma floor


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "X, message",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0]]), "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0]]), "infinity"),
        (np.array([1.0, 2.0, 3.0]), "2D array"),
        (np.empty((0, 3)), "0 sample"),
        (np.array([["a", "b"], ["c", "d"]]), "string"),
    ],
)
def test_bad_training_data_raises_clear_errors(X, message):
    with pytest.raises((ValueError, TypeError), match=message):
        GaussianBernoulliRBM().fit(X)


def test_wrong_width_after_fit():
    rbm = small().fit(Xdigits[:100])
    for method in (
        "transform",
        "score_samples",
        "reconstruct",
        "free_energy",
        "score",
        "partial_fit",
    ):
        with pytest.raises(ValueError, match="features"):
            getattr(rbm, method)(Xdigits[:5, :10])


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(n_components=0), "n_components"),
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(batch_size=0), "batch_size"),
        (dict(n_gibbs_steps=0), "n_gibbs_steps"),
        (dict(sampler="gibbs"), "sampler"),
        (dict(optimizer="rmsprop"), "optimizer"),
        (dict(learning_rate_schedule="cosine"), "learning_rate_schedule"),
        (dict(sigma=0.0), "sigma"),
        (dict(momentum=1.5), "momentum"),
        (dict(weight_decay=-1.0), "weight_decay"),
        (dict(learn_sigma="yes"), "learn_sigma"),
        (dict(device=3), "device"),
        (dict(device="tpu-9000"), "device"),
    ],
)
def test_bad_parameters_raise_clear_errors(params, message):
    with pytest.raises(ValueError, match=message):
        GaussianBernoulliRBM(**params).fit(Xdigits[:20])


def test_methods_before_fit_raise_not_fitted():
    rbm = GaussianBernoulliRBM()
    for call in (
        lambda: rbm.transform(Xdigits),
        lambda: rbm.score_samples(Xdigits),
        lambda: rbm.sample(2),
    ):
        with pytest.raises(NotFittedError):
            call()


# ------------------------------------------------------------------ divergence, rollback


@pytest.mark.parametrize("sampler", ["auto", "cd", "ais"])  # 8 units: "auto" samples exactly
def test_divergence_raises_and_leaves_unfitted_model_unfitted(sampler):
    X = Xdigits * 1e4
    rbm = GaussianBernoulliRBM(
        n_components=8, learning_rate=1e6, optimizer="sgd", momentum=0.0, n_iter=3, sampler=sampler
    )
    with pytest.raises(DivergenceError, match="learning_rate") as excinfo:
        rbm.fit(X)
    assert isinstance(excinfo.value, FloatingPointError) and isinstance(excinfo.value, ValueError)
    assert not hasattr(rbm, "components_") and not hasattr(rbm, "n_features_in_")
    with pytest.raises(NotFittedError):
        rbm.transform(X)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_failed_fit_leaves_the_previous_model_intact(method):
    rbm = small().fit(Xdigits)
    before = pickle.loads(pickle.dumps(rbm))
    rbm.set_params(learning_rate=1e6, optimizer="sgd", momentum=0.0)
    with pytest.raises(DivergenceError):
        getattr(rbm, method)(Xdigits * 1e4)
    assert_same_model(rbm, before)
    assert rbm.n_iter_ == before.n_iter_
    assert rbm._training_state["optimizer"]["step"] == before._training_state["optimizer"]["step"]
    with pytest.raises(ValueError):
        getattr(rbm, method)(np.ones((5, 3)))
    assert rbm.n_features_in_ == 64
    assert_same_model(rbm, before)


# ------------------------------------------------------------------ devices, pickling


def test_fitted_state_is_numpy_only():
    rbm = small(sampler="pcd").fit(Xdigits[:100])

    def walk(value):
        assert not isinstance(value, (torch.Tensor, torch.Generator, torch.device)), type(value)
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(rbm.__dict__)


def test_pickle_round_trip_and_continued_training():
    rbm = small(sampler="pcd").fit(Xdigits)
    loaded = pickle.loads(pickle.dumps(rbm))
    for method in ("transform", "reconstruct", "score_samples", "free_energy"):
        assert_array_equal(getattr(loaded, method)(Xdigits), getattr(rbm, method)(Xdigits))
    rbm.partial_fit(Xdigits)
    loaded.partial_fit(Xdigits)
    assert_same_model(rbm, loaded)


def test_clone_has_no_fitted_state():
    rbm = small().fit(Xdigits[:50])
    fresh = clone(rbm)
    assert not hasattr(fresh, "components_")
    assert fresh.get_params() == rbm.get_params()
