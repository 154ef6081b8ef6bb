"""Training: the sampler table, one random stream, optimizers and the training record."""

import copy
import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_grbm import FitQualityWarning, GaussianBernoulliRBM

from . import reference as ref
from .helpers import Xdigits, assert_same_model, small


def test_tempered_chains_persist_and_reset_with_the_sampler():
    X = Xdigits[:200]
    rbm = small(sampler="pt", n_temperatures=4).fit(X)

    def chains():
        return rbm._training_state["chains"]

    assert chains().shape == (4, 20, 64)
    rbm.partial_fit(X)
    assert chains().shape == (4, 20, 64)
    rbm.set_params(sampler="pcd").partial_fit(X)
    assert chains().shape == (20, 64)
    rbm.set_params(sampler="pt", n_temperatures=3).partial_fit(X)
    assert chains().shape == (3, 20, 64)
    rbm.set_params(sampler="cd").partial_fit(X)
    assert chains() is None


def test_partial_fit_carries_optimizer_and_chains():
    X = Xdigits[:200]
    rbm = small(sampler="pcd")
    rbm.partial_fit(X)
    state = rbm._training_state
    step, chains = state["optimizer"]["step"], state["chains"].copy()
    assert step == 10 and chains.shape == (20, 64)
    rbm.partial_fit(X)
    assert rbm._training_state["optimizer"]["step"] == 20
    assert not np.array_equal(rbm._training_state["chains"], chains)
    # Refitting starts over.
    rbm.fit(X)
    assert rbm._training_state["optimizer"]["step"] == 50 and rbm.n_iter_ == 5


@pytest.mark.parametrize(
    "params",
    [
        dict(sampler="pcd"),
        dict(sampler="cd", n_gibbs_steps=3),
        dict(sampler="pcd", n_gibbs_steps=2),
        dict(sampler="pt", n_temperatures=5),
        dict(sampler="langevin", n_langevin_steps=5, langevin_step_size=0.3),
        dict(optimizer="sgd", learning_rate=1e-3),
        dict(learn_sigma=False, sigma=0.5),
    ],
)
def test_every_training_recipe_learns(params):
    untrained = small(n_components=12, n_iter=0).set_params(**params).fit(Xdigits)
    rbm = small(n_components=12, n_iter=10, batch_size=64, learning_rate=1e-2)
    rbm.set_params(**params).fit(Xdigits)
    # The untrained model is the diagonal Gaussian of the data: beat it.
    assert rbm.score_samples(Xdigits).mean() > untrained.score_samples(Xdigits).mean() + 1


def test_fixed_sigma_stays_fixed():
    rbm = small(standardize=False, learn_sigma=False, sigma=0.3).fit(Xdigits)
    assert_array_equal(rbm.sigma_, np.full(64, 0.3))
    # Standardised: sigma is fixed at 0.3 column standard deviations.
    scaled = small(learn_sigma=False, sigma=0.3).fit(Xdigits)
    # Constant columns (digits has three) take the others' root-mean-square spread.
    std = Xdigits.std(axis=0)
    scale = np.where(std > 0, std, np.sqrt(np.mean(std[std > 0] ** 2)))
    assert_allclose(scaled.sigma_, 0.3 * scale, rtol=1e-12)


def test_weight_decay_is_an_l2_penalty_on_W_only():
    # One SGD step on one minibatch, same seed: the decayed model differs by
    # exactly -lr * weight_decay * W_init in W, and nowhere else.
    X = Xdigits[:50]
    one_step = dict(
        batch_size=50, n_iter=1, optimizer="sgd", momentum=0.0, learning_rate=0.1, standardize=False
    )
    one_step["calibrate_sigma"] = False  # the calibration would move sigma and c after W
    W_init = small(n_iter=0, standardize=False).fit(X).components_
    free = small(**one_step).fit(X)
    decayed = small(weight_decay=0.5, **one_step).fit(X)
    assert_allclose(decayed.components_ - free.components_, -0.1 * 0.5 * W_init, atol=1e-12)
    for name in ("intercept_hidden_", "intercept_visible_", "sigma_"):
        assert_array_equal(getattr(decayed, name), getattr(free, name))


@pytest.mark.parametrize("weight_init", ["normal", "orthogonal"])
def test_fused_adam_trains_as_the_unfused_rule(monkeypatch, weight_init):
    # The orthogonal initialisation once reached Adam transposed in memory,
    # and the fused kernel then updated W with the wrong gradient entries.
    from sklearn_grbm import _optim

    X = Xdigits[:300] / 16.0
    params = dict(
        n_components=9,
        n_iter=3,
        batch_size=50,
        weight_init=weight_init,
        hidden_bias_init="anchored",
        weight_scale=0.3,
        random_state=0,
    )
    fused = GaussianBernoulliRBM(**params).fit(X)
    monkeypatch.setattr(_optim, "FUSED_ADAM_DEVICES", ())
    unfused = GaussianBernoulliRBM(**params).fit(X)
    assert fused.components_.flags["C_CONTIGUOUS"]
    assert_allclose(fused.components_, unfused.components_, rtol=1e-5, atol=1e-7)
    assert_allclose(fused.sigma_, unfused.sigma_, rtol=1e-5)


def test_sigma_learning_rate_is_the_step_of_log_sigma_alone():
    X = Xdigits[:400] / 16.0
    params = dict(
        n_components=8,
        n_iter=2,
        learning_rate=1e-2,
        batch_size=50,
        standardize=False,
        calibrate_sigma=False,  # the Adam steps alone
        random_state=0,
    )
    same = GaussianBernoulliRBM(sigma_learning_rate=1e-2, **params).fit(X)
    default = GaussianBernoulliRBM(**params).fit(X)
    assert_array_equal(same.components_, default.components_)
    assert_array_equal(same.sigma_, default.sigma_)
    slow = GaussianBernoulliRBM(sigma_learning_rate=1e-5, **params).fit(X)
    n_steps = 2 * 8
    # Adam moves each parameter by about its step size per update, at most a few.
    assert np.abs(np.log(slow.sigma_)).max() < 5 * n_steps * 1e-5
    assert np.abs(np.log(default.sigma_)).max() > 0.5 * n_steps * 1e-2
    assert np.abs(slow.components_ - default.components_).max() < 0.1  # W still learns


def _three_blobs(n=600):
    rng = np.random.RandomState(0)
    return rng.normal(size=(n, 2)) + np.where(rng.uniform(size=(n, 1)) < 0.5, -4.0, 4.0)


@pytest.mark.parametrize("learning_rate, sigma_step", [(5e-4, 5e-3), (2e-3, 1e-2), (3e-2, 1e-2)])
def test_auto_sigma_step_is_ten_learning_rates_up_to_a_hundredth_when_annealing(
    learning_rate, sigma_step
):
    # "auto": 10 x learning_rate for "ais" (the default on few columns), at
    # most 1e-2; the optimizer's one step otherwise (the test above, with CD).
    X = _three_blobs()
    params = dict(
        n_components=12, n_iter=2, learning_rate=learning_rate, batch_size=100, random_state=0
    )
    auto = GaussianBernoulliRBM(**params).fit(X)
    spelled = GaussianBernoulliRBM(sampler="ais", sigma_learning_rate=sigma_step, **params).fit(X)
    assert_array_equal(auto.components_, spelled.components_)
    assert_array_equal(auto.sigma_, spelled.sigma_)
    shared = GaussianBernoulliRBM(sampler="ais", sigma_learning_rate=None, **params).fit(X)
    assert not np.array_equal(auto.sigma_, shared.sigma_)


@pytest.mark.parametrize(
    "data, params",
    [
        ("digits", dict(n_components=16, learning_rate_schedule="step")),  # CD, sigma calibrated
        ("blobs", dict(n_components=12)),  # "auto": annealing, and so "step"
    ],
    ids=["cd", "ais"],
)
def test_step_schedule_is_the_spelled_out_drop_of_every_step(data, params):
    # Six epochs: four at the learning rate, then two at a tenth of it (and of
    # sigma's own step), the same as partial_fit with the steps set by hand.
    X = Xdigits[:300] if data == "digits" else _three_blobs()
    params = dict(params, n_iter=6, learning_rate=2e-3, batch_size=50, random_state=0)
    scheduled = GaussianBernoulliRBM(**params).fit(X)
    by_hand = GaussianBernoulliRBM(**dict(params, learning_rate_schedule="constant"))
    # "auto": 10 x when annealing, at most 1e-2
    sigma_step = None if data == "digits" else min(10 * 2e-3, 1e-2)
    for epoch in range(6):
        if epoch == 4:
            low_sigma_step = None if sigma_step is None else sigma_step * 0.1
            by_hand.set_params(learning_rate=2e-3 * 0.1, sigma_learning_rate=low_sigma_step)
        by_hand.partial_fit(X)
    assert_same_model(scheduled, by_hand)
    assert scheduled.history_["learning_rate"] == [2e-3] * 4 + [2e-3 * 0.1] * 2
    assert scheduled.history_["learning_rate"] == by_hand.history_["learning_rate"]
    constant = GaussianBernoulliRBM(**dict(params, learning_rate_schedule="constant")).fit(X)
    assert not np.array_equal(scheduled.components_, constant.components_)


@pytest.mark.parametrize(
    "params, expected",
    [
        (dict(n_components=16), "decay"),  # CD, standardising
        (dict(n_components=16, sampler="pcd"), "constant"),  # persistent chains
        (dict(n_components=6), "constant"),  # exact sampling
        (dict(n_components=8, standardize=False), "constant"),  # the notebook's training
    ],
    ids=["cd", "pcd", "exact", "notebook"],
)
def test_auto_schedule_decays_for_cd_when_standardising_and_not_otherwise(params, expected):
    # 27 epochs of 2 updates, past the 25 where "decay" parts from "step".
    params = dict(params, n_iter=27, batch_size=150, random_state=0)
    auto = GaussianBernoulliRBM(**params).fit(Xdigits[:300])
    same = GaussianBernoulliRBM(learning_rate_schedule=expected, **params).fit(Xdigits[:300])
    assert_same_model(auto, same)
    for other in {"constant", "step", "decay"} - {expected}:
        different = GaussianBernoulliRBM(learning_rate_schedule=other, **params).fit(Xdigits[:300])
        assert not np.array_equal(auto.components_, different.components_), other
    factors = np.array(auto.history_["learning_rate"]) / auto.learning_rate
    if expected == "decay":  # "step" would keep the step for 18 epochs
        assert_allclose(factors, [1] * 17 + [0.1] * 8 + [2.5 / 26, 2.5 / 27])
    else:
        assert_allclose(factors, np.ones(27))


def test_a_longer_decay_fit_is_the_25_epoch_fit_continued():
    params = dict(n_components=16, learning_rate_schedule="decay", batch_size=100, random_state=0)
    longer = GaussianBernoulliRBM(n_iter=28, **params).fit(Xdigits[:300])
    continued = GaussianBernoulliRBM(n_iter=25, **params).fit(Xdigits[:300])
    advice = r"decay learning-rate schedule.*since call 18.*learning_rate_schedule='step'"
    with pytest.warns(FitQualityWarning, match=advice):
        for _ in range(3):
            continued.partial_fit(Xdigits[:300])
    assert_same_model(longer, continued)
    assert_allclose(longer.history_["learning_rate"][-3:], [2.5e-3 / e for e in (26, 27, 28)])


@pytest.mark.parametrize("standardize", [True, False])
def test_calibration_ends_each_epoch_at_the_best_temperature_and_hidden_biases(standardize):
    # W and b are those of CD-1 alone; sigma differs by one common factor and
    # c by a shift, the pair that maximises the exact likelihood of the
    # epoch's rows (all of them here: fewer than CALIBRATION_ROWS).
    X = Xdigits[:600] * 3.0 + 1.0
    # sigma=2.0: near the optimum in the data's units, so it is inside the bounds
    sigma = 1.0 if standardize else 2.0
    params = dict(n_components=6, n_iter=1, standardize=standardize, sigma=sigma, random_state=0)
    plain = GaussianBernoulliRBM(calibrate_sigma=False, **params).fit(X)
    calibrated = GaussianBernoulliRBM(**params).fit(X)
    for name in ("components_", "intercept_visible_"):
        assert_array_equal(getattr(calibrated, name), getattr(plain, name))
    log_ratio = np.log(calibrated.sigma_ / plain.sigma_)
    assert_allclose(log_ratio, log_ratio.mean(), atol=1e-10)
    assert abs(log_ratio.mean()) < 0.2 - 1e-6  # inside the bounds
    assert np.abs(calibrated.intercept_hidden_ - plain.intercept_hidden_).max() > 1e-3
    gain = calibrated.score_samples(X).mean() - plain.score_samples(X).mean()  # exact log Z
    assert gain > 0.05, gain

    def train_score(dc=0.0, shift=0.0):
        model = copy.deepcopy(calibrated)
        model.intercept_hidden_ = calibrated.intercept_hidden_ + dc
        model.sigma_ = calibrated.sigma_ * np.exp(shift)
        return model.score_samples(X).mean()

    def slope(j=None):  # central difference along c_j, or along the temperature
        if j is None:
            return (train_score(shift=1e-4) - train_score(shift=-1e-4)) / 2e-4
        step = np.eye(6)[j] * 1e-4
        return (train_score(dc=step) - train_score(dc=-step)) / 2e-4

    # a stationary point along every hidden bias (in either units) ...
    assert max(abs(slope(j)) for j in range(6)) < 1e-4
    if not standardize:  # ... and along the temperature with c held in these units
        assert abs(slope()) < 1e-4


def test_sigma_calibration_leaves_large_and_fixed_sigma_models_alone():
    X = Xdigits[:300]
    for params in (dict(n_components=24), dict(n_components=6, learn_sigma=False)):
        params.update(n_iter=2, random_state=0)
        on = GaussianBernoulliRBM(**params).fit(X)
        off = GaussianBernoulliRBM(calibrate_sigma=False, **params).fit(X)
        assert_array_equal(on.sigma_, off.sigma_)
        assert_array_equal(on.components_, off.components_)


def test_max_update_norm_caps_each_hidden_units_step():
    X = Xdigits[:256] / 16.0
    params = dict(
        n_components=6,
        learning_rate=0.3,
        batch_size=256,
        optimizer="sgd",
        momentum=0.0,
        standardize=False,
        random_state=0,
    )
    start = GaussianBernoulliRBM(n_iter=0, **params).fit(X).components_
    free = GaussianBernoulliRBM(n_iter=1, **params).fit(X).components_
    capped = GaussianBernoulliRBM(n_iter=1, max_update_norm=0.05, **params).fit(X).components_
    free_norms = np.linalg.norm(free - start, axis=1)
    assert (free_norms > 0.05).all()
    # One SGD step: the capped step is the free one scaled to norm 0.05.
    expected = start + (free - start) * (0.05 / free_norms)[:, None]
    assert_allclose(capped, expected, rtol=1e-6, atol=1e-9)


def test_training_curve_is_kept_and_decreases():
    rbm = small(n_iter=8, learning_rate=1e-2).fit(Xdigits)
    curve = rbm.reconstruction_error_curve_
    assert len(curve) == 8 and rbm.n_iter_ == 8
    assert curve[-1] < curve[0]


# ------------------------------------------------------------------ one random stream

SAMPLER_SETTINGS = {
    "cd": dict(sampler="cd", n_gibbs_steps=2),
    "pcd": dict(sampler="pcd"),
    "pt": dict(sampler="pt", n_temperatures=3),
    "langevin": dict(sampler="langevin", n_langevin_steps=3),
    "exact": dict(sampler="exact"),
    "ais": dict(sampler="ais", n_gibbs_steps=4),
}


def fitted_arrays(rbm):
    state = rbm._training_state
    arrays = [rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_, rbm.sigma_]
    arrays += [state["params"][name] for name in ("W", "b", "c", "log_sigma")]
    if state["chains"] is not None:
        arrays.append(state["chains"])
    return arrays


@pytest.mark.parametrize("name", sorted(SAMPLER_SETTINGS))
def test_fit_is_k_calls_of_partial_fit_bit_for_bit(name):
    from sklearn_grbm._training import SAMPLERS

    assert set(SAMPLER_SETTINGS) == set(SAMPLERS)  # every sampler of the table is covered
    X = Xdigits[:300]
    params = dict(n_components=7, batch_size=64, n_iter=3, random_state=5, **SAMPLER_SETTINGS[name])
    fitted = GaussianBernoulliRBM(**params).fit(X)
    stepped = GaussianBernoulliRBM(**params)
    for _ in range(3):
        stepped.partial_fit(X)
    for a, b in zip(fitted_arrays(fitted), fitted_arrays(stepped)):
        assert_array_equal(a, b)
    assert fitted.history_["reconstruction_error"] == stepped.history_["reconstruction_error"]
    assert fitted.n_iter_ == stepped.n_iter_ == 3


@pytest.mark.parametrize("name", sorted(SAMPLER_SETTINGS))
def test_a_pickle_round_trip_between_partial_fits_changes_nothing(name):
    X = Xdigits[:300]
    params = dict(n_components=7, batch_size=64, random_state=np.random.RandomState(3))
    params.update(SAMPLER_SETTINGS[name])
    straight = GaussianBernoulliRBM(**params).partial_fit(X)
    revived = pickle.loads(pickle.dumps(straight))
    straight.partial_fit(X)
    revived.partial_fit(X)
    for a, b in zip(fitted_arrays(straight), fitted_arrays(revived)):
        assert_array_equal(a, b)


def test_the_sampler_table_and_sample_share_their_kernels():
    from sklearn_grbm._training import KERNELS, SAMPLERS, get_sampler

    assert {sampler.kernel for sampler in SAMPLERS.values()} == set(KERNELS)
    assert get_sampler("pcd").persistent and not get_sampler("cd").persistent
    with pytest.raises(ValueError, match="unknown sampler 'gibbs'"):
        get_sampler("gibbs")
    rbm = small(n_components=5, n_iter=1).fit(Xdigits[:100])
    for method in KERNELS:
        assert rbm.sample(3, n_steps=2, method=method, random_state=0).shape == (3, 64)


def test_history_records_error_sigma_and_the_free_energy_gap(capsys):
    rbm = small(n_iter=4, validation_fraction=0.25, verbose=1).fit(Xdigits)
    history = rbm.history_
    assert set(history) == {
        "reconstruction_error",
        "free_energy_gap",
        "sigma_min",
        "sigma_median",
        "sigma_max",
        "learning_rate",
        "seconds",
    }
    assert all(len(values) == 4 for values in history.values())
    assert history["reconstruction_error"] is rbm.reconstruction_error_curve_
    # The gap is mean F(held-out rows) - mean F(as many training rows), by hand:
    order = np.random.RandomState(rbm._training_state["seed"]).permutation(len(Xdigits))
    held_out, train = Xdigits[np.sort(order[:449])], Xdigits[np.sort(order[449:])]
    gap = rbm.free_energy(held_out).mean() - rbm.free_energy(train[:449]).mean()
    assert_allclose(history["free_energy_gap"][-1], gap, rtol=1e-6)
    sigma_scaled = rbm.sigma_ / rbm._training_state["scaling"][1]
    assert_allclose(history["sigma_min"][-1], sigma_scaled.min(), rtol=1e-6)
    assert_allclose(history["sigma_max"][-1], sigma_scaled.max(), rtol=1e-6)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and all("free energy gap = " in line for line in lines)
    # CD when standardising steps down for the last third: epoch 4 of 4
    rates = ["0.001,"] * 3 + ["0.0001,"]
    assert all(line.endswith("s") for line in lines)
    assert all(f"learning rate = {rate}" in line for line, rate in zip(lines, rates))


def test_most_sigmas_at_the_floor_warn(monkeypatch):
    from sklearn_grbm import FitQualityWarning, _monitor

    floor = np.full(4, 0.1)
    at_floor = np.log([0.1, 0.1, 0.1, 0.5])
    with pytest.warns(FitQualityWarning, match="75% of the visible standard deviations"):
        _monitor.warn_if_degenerate(at_floor, np.log(floor), floor)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitQualityWarning)
        _monitor.warn_if_degenerate(np.log([0.1, 0.1, 0.5, 0.5]), np.log(floor), floor)
        small().fit(Xdigits)  # a healthy fit says nothing
        small(n_iter=2, learn_sigma=False).fit(Xdigits)
    # Every fit checks its learned sigmas against its own floors.
    monkeypatch.setattr(_monitor, "DEGENERATE_FLOOR_FRACTION", -1.0)
    with pytest.warns(FitQualityWarning, match="0% of the visible"):
        small(n_iter=1).fit(Xdigits)


def test_the_reference_gaussian_is_a_w0_grbm_at_the_column_means():
    import torch
    from scipy.stats import norm

    from sklearn_grbm import _monitor
    from sklearn_grbm._training import training_rows

    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4)) * [0.001, 1.0, 3.0, 10.0] + [5.0, 0.0, -2.0, 100.0]
    sigma = np.array([0.01, 1.0, 2.0, 20.0])
    expected = norm.logpdf(X, X.mean(axis=0), sigma).sum(axis=1)
    t = torch.as_tensor
    rows = _monitor.gaussian_log_likelihood(t(X), t(X.mean(axis=0)), t(np.log(sigma)))
    assert_allclose(rows, expected, rtol=1e-12)
    closed_form = _monitor.mean_gaussian_log_likelihood(t(X.var(axis=0)), t(np.log(sigma)))
    assert_allclose(closed_form, expected.mean(), rtol=1e-12)
    # It is the GRBM with W = 0 at b = the means (SPEC's formulas, any c),
    # the best of those with this sigma.
    W, c = np.zeros((3, 4)), np.array([0.3, -1.0, 2.0])
    assert_allclose(ref.log_likelihood(X, W, X.mean(axis=0), c, sigma), expected)
    assert ref.log_likelihood(X, W, X.mean(axis=0) + 0.01, c, sigma).mean() < expected.mean()
    # The moments, in chunks of rows in training coordinates, and of every
    # second row when capped.
    scaling = (np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 1.0, 2.0, 10.0]))
    device_rows = training_rows(X, torch.device("cpu"), torch.float64, scaling)
    # float64 training rows lie on a grid of a millionth of a standard deviation
    scaled = np.round((X - scaling[0]) / scaling[1] * 2.0**20) / 2.0**20
    cpu = torch.device("cpu")
    mean, variance = _monitor.column_moments(device_rows, 300, cpu, cpu)
    assert_allclose(mean, scaled.mean(axis=0), rtol=1e-12)
    assert_allclose(variance, scaled.var(axis=0), rtol=1e-9)
    mean, variance = _monitor.column_moments(device_rows, 150, cpu, cpu)
    assert_allclose(variance, scaled[::2].var(axis=0), rtol=1e-9)
    # Its sigma: fixed as it is, or each column's own spread, floored at the
    # sigma floor and at a tenth of the start (column 0 here).
    start, floor = t(np.log(sigma)), t(np.log([1e-4, 0.1, 5.0, 0.1]))
    fixed = _monitor.reference_log_sigma(t(X.var(axis=0)), start, floor, learn_sigma=False)
    assert_allclose(fixed, np.log(sigma))
    learned = _monitor.reference_log_sigma(t(X.var(axis=0)), start, floor, learn_sigma=True)
    spread = X.std(axis=0)
    assert_allclose(np.exp(learned.numpy()), [0.001, spread[1], 5.0, spread[3]], rtol=1e-12)


def test_model_log_likelihood_is_exact_or_errs_high(monkeypatch):
    import torch

    from sklearn_grbm import _monitor
    from sklearn_grbm._functional import RBMParams
    from sklearn_grbm._random import make_generator

    W, b, c, sigma = ref.random_model(6, 5, seed=3, scale=0.6)
    X = np.random.RandomState(1).normal(size=(200, 5)) + b
    expected = ref.log_likelihood(X, W, b, c, sigma).mean()
    params = RBMParams(*(torch.as_tensor(a) for a in (W, b, c, np.log(sigma))))
    rows = torch.as_tensor(X)
    exact = _monitor.model_log_likelihood(params, rows, 1e9, make_generator("cpu", 0))
    assert_allclose(exact, ref.log_likelihood(X, W, b, c, sigma), rtol=1e-10)
    # On a budget too small to enumerate, AIS: log Z less three standard
    # errors, so never much below the truth, and near it on a small model.
    monkeypatch.setattr(_monitor, "BELOW_GAUSSIAN_GRID_WORK", 0.0)
    for seed in range(5):
        ais = _monitor.model_log_likelihood(params, rows, 100.0, make_generator("cpu", seed))
        assert expected - 0.05 < ais.mean() < expected + 1.0
    # Data of two columns: a grid over v, exact whatever the hidden units.
    monkeypatch.undo()
    W, b, c, sigma = ref.random_model(12, 2, seed=4, scale=1.5)
    X = np.random.RandomState(2).normal(size=(100, 2)) + b
    params = RBMParams(*(torch.as_tensor(a) for a in (W, b, c, np.log(sigma))))
    grid = _monitor.model_log_likelihood(
        params, torch.as_tensor(X), 100.0, make_generator("cpu", 0)
    )
    assert_allclose(grid, ref.log_likelihood(X, W, b, c, sigma), rtol=0, atol=1e-7)


def test_a_fit_below_the_gaussian_warns(monkeypatch):
    from sklearn_grbm import _monitor

    # The units: mean 1000 and std 100 without standardising, where
    # the defaults once scored a million nats below the Gaussian.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(500, 5)) * 100.0 + 1000.0
    with pytest.warns(FitQualityWarning, match="worse than a diagonal Gaussian") as record:
        GaussianBernoulliRBM(16, standardize=False, n_iter=3, random_state=0).fit(X)
    assert record[0].filename == __file__  # it points at the caller's fit
    gap = float(str(record[0].message).split(" nats lower")[0].split()[-1])
    assert gap > 1e3
    # At std 0.01, sigma starts at 1 without standardising and after 25
    # epochs of 64 units (too many to calibrate sigma exactly) it is still
    # 0.8: about -3.6 nats against +15.7 for the Gaussian (+6.9 with its sigma at
    # least a tenth of the start).
    small_units = rng.normal(size=(1000, 5)) * 0.01
    with pytest.warns(FitQualityWarning, match="worse than a diagonal Gaussian"):
        GaussianBernoulliRBM(64, standardize=False, random_state=0).fit(small_units)
    # The same data standardised: healthy fits, which say nothing; on digits
    # likewise, learned or fixed sigma.
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitQualityWarning)
        GaussianBernoulliRBM(16, n_iter=3, random_state=0).fit(X)
        GaussianBernoulliRBM(64, random_state=0).fit(small_units)
        small().fit(Xdigits)
        small(n_iter=2, standardize=False, learn_sigma=False).fit(Xdigits)
    # fit checks, against the tolerance of the module.
    tolerance = _monitor.below_gaussian_tolerance
    assert tolerance(5) < tolerance(784) < 10.0
    monkeypatch.setattr(_monitor, "below_gaussian_tolerance", lambda n: -np.inf)
    with pytest.warns(FitQualityWarning, match="worse than a diagonal Gaussian") as record:
        one_epoch = small(n_iter=1).fit(Xdigits)
    # Its figures are in the data's units, though the check runs in the
    # standardised ones (sum(log scale) = -122 nats apart on digits): the
    # model's, averaged over 1,024 of the rows, is score_samples' mean.
    model = float(str(record[0].message).split("about ")[1].split()[0])
    assert abs(model - one_epoch.score_samples(Xdigits).mean()) < 1.0
    # partial_fit does not: the first calls of a stream are expected to trail.
    with warnings.catch_warnings():
        warnings.simplefilter("error", FitQualityWarning)
        small(n_iter=2).partial_fit(Xdigits)


def test_a_fit_below_the_gaussian_warns_on_few_columns_and_many_units():
    from scipy.stats import norm
    from sklearn.datasets import make_blobs

    # Five well separated blobs in 10-D, 256 units, lr 1e-2: CD's chains,
    # started at the data, never cross between the blobs and the fit weights
    # them wrongly, 40 nats below the Gaussian by AIS (1,000 temperatures
    # agree with 30,000 to 0.1 nats in the data's units). The check's AIS on
    # such a model is 34 nats low at 122 temperatures and said nothing.
    X = make_blobs(1400, n_features=10, centers=5, random_state=0)[0]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always", FitQualityWarning)
        rbm = GaussianBernoulliRBM(256, learning_rate=1e-2, random_state=0).fit(X)
    mean, std = X.mean(axis=0), X.std(axis=0)
    gaussian = norm.logpdf(X, mean, std).sum(axis=1).mean()
    rbm.log_partition("ais", n_chains=100, n_betas=1000, random_state=0)
    model = rbm.score_samples(X).mean()
    # If a better default recipe lifts this fit, this test needs another bad one.
    assert model < gaussian - 5.0
    messages = [str(w.message) for w in record if issubclass(w.category, FitQualityWarning)]
    assert any("worse than a diagonal Gaussian" in m for m in messages), messages


def test_the_check_finds_the_modes_a_short_ais_misses():
    from scipy.stats import norm
    from sklearn.datasets import make_blobs

    # The same blobs with anchored hidden biases: a model whose mass has
    # piled up on hidden states far from the data, 41 nats below the
    # Gaussian by AIS at 1,000 and at 10,000 temperatures (-70.2 against
    # -29.0). The check's AIS (1,220 temperatures, 32 chains, less three
    # standard errors) put it above and said nothing; the hidden states
    # reached by ascent from the data's weigh within 1.2 nats of that log Z.
    X = make_blobs(1400, n_features=10, centers=5, random_state=0)[0]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always", FitQualityWarning)
        rbm = GaussianBernoulliRBM(
            256, learning_rate=1e-2, hidden_bias_init="anchored", random_state=1
        ).fit(X)
    gaussian = norm.logpdf(X, X.mean(axis=0), X.std(axis=0)).sum(axis=1).mean()
    rbm.log_partition("ais", n_chains=100, n_betas=1000, random_state=0)
    assert rbm.score_samples(X).mean() < gaussian - 20.0
    messages = [str(w.message) for w in record if issubclass(w.category, FitQualityWarning)]
    assert any("worse than a diagonal Gaussian" in m for m in messages), messages
    warning = next(m for m in messages if "diagonal" in m)
    gap = float(warning.split(" nats lower")[0].split()[-1])
    assert gap > 20.0


# ------------------------------------------------------------------ what "auto" trains with


def test_exact_sampler_draws_from_the_model_itself():
    import torch

    from sklearn_grbm._functional import RBMParams
    from sklearn_grbm._training import KernelOptions, exact_kernel

    W, b, c, sigma = ref.random_model(3, 2, seed=0, scale=1.5)
    params = RBMParams(*(torch.tensor(a) for a in (W, b, c, np.log(sigma))))
    n = 200_000
    generator = torch.Generator().manual_seed(0)
    options = KernelOptions(10, 10, 0.1, False)
    draws = exact_kernel(torch.zeros(n, 2, dtype=torch.float64), params, 1, generator, options)
    # The model's moments, from its marginal over the enumerated hidden states.
    H = ref.all_hidden_states(3)
    log_weights = H @ c + np.sum(((b + H @ W) ** 2 - b**2) / (2 * sigma**2), axis=1)
    p_h = np.exp(log_weights - log_weights.max())
    p_h /= p_h.sum()
    means = b + H @ W
    mean = p_h @ means
    covariance = np.diag(sigma**2) + (means - mean).T @ (p_h[:, None] * (means - mean))
    v = draws.v.numpy()
    standard_error = np.sqrt(np.diag(covariance) / n)
    assert np.all(np.abs(v.mean(axis=0) - mean) < 4 * standard_error)
    assert_allclose(np.cov(v.T), covariance, rtol=0.02, atol=0.02 * covariance.max())
    # p(h = 1 | v) at the draws averages to the model's marginal of h
    assert_allclose(draws.p.numpy().mean(axis=0), p_h @ H, atol=4 * 0.5 / np.sqrt(n))
    assert_allclose(draws.v_scaled.numpy(), v / sigma**2)


def test_annealed_draws_weigh_separated_modes_as_the_model_does():
    import torch

    from sklearn_grbm._functional import RBMParams
    from sklearn_grbm._training import KernelOptions, annealed_kernel, gibbs_kernel

    # Three one-unit modes 8 sigma from the all-off one (and from each other),
    # weighted 2 : 1 : 0.5 : 1 (all off); pairs of units cost e^-32.
    W = np.array([[4.0, 0.0], [-2.0, 3.5], [-2.0, -3.5]])
    b, sigma = np.zeros(2), np.full(2, 0.5)
    c = -np.sum(W**2 / (2 * sigma**2), axis=1) + np.log([2.0, 1.0, 0.5])
    params = RBMParams(*(torch.tensor(a) for a in (W, b, c, np.log(sigma))))
    H = ref.all_hidden_states(3)
    log_weights = H @ c + np.sum(((b + H @ W) ** 2 - b**2) / (2 * sigma**2), axis=1)
    p_h = np.exp(log_weights - log_weights.max())
    p_h /= p_h.sum()
    means = b + H @ W

    def mode_masses(v, weights):
        nearest = np.argmin(((v[:, None, :] - means[None]) ** 2).sum(axis=-1), axis=1)
        return np.bincount(nearest, weights=weights, minlength=len(means))

    n, options = 20_000, KernelOptions(10, 10, 0.1, False)
    generator = torch.Generator().manual_seed(0)
    start = torch.zeros(n, 2, dtype=torch.float64)
    draws = annealed_kernel(start, params, 50, generator, options)
    weights = draws.weights.numpy()
    assert weights.min() >= 0 and abs(weights.sum() - 1) < 1e-12
    assert 1 / np.sum(weights**2) > n / 10  # the weights have not degenerated
    assert_allclose(mode_masses(draws.v.numpy(), weights), p_h, atol=0.03)
    assert_allclose(draws.v_scaled.numpy(), draws.v.numpy() / sigma**2)
    assert_allclose(weights @ draws.p.numpy(), p_h @ H, atol=0.03)
    # Gibbs chains started in the first mode, as CD's start at data there, stay.
    in_first = torch.tensor(np.tile(W[0], (n, 1)))
    stuck = gibbs_kernel(in_first, params, 50, generator, options)
    first = np.flatnonzero((H == [1, 0, 0]).all(axis=1))[0]
    assert mode_masses(stuck.v.numpy(), np.full(n, 1 / n))[first] > 0.99


def test_annealed_samples_are_resampled_by_their_weights():
    rng = np.random.RandomState(0)
    centres = np.array([[-4.0, 0.0], [4.0, 1.0]])
    data = centres[(rng.uniform(size=4000) < 0.3).astype(int)] + 0.5 * rng.normal(size=(4000, 2))
    rbm = GaussianBernoulliRBM(n_components=6, n_iter=5, random_state=0).fit(data)
    n = 20_000
    annealed = rbm.sample(n, n_steps=50, method="ais", random_state=1)
    exact = rbm.sample(n, method="exact", random_state=2)
    assert annealed.shape == (n, 2)
    assert len(np.unique(annealed[:, 0])) < n  # resampled: heavy draws repeat
    assert abs(np.mean(annealed[:, 0] > 0) - np.mean(exact[:, 0] > 0)) < 0.03
    assert_allclose(annealed.mean(axis=0), exact.mean(axis=0), atol=0.15)
    assert_allclose(annealed.std(axis=0), exact.std(axis=0), rtol=0.05)


def test_exact_sampler_refuses_too_many_hidden_states():
    with pytest.raises(ValueError, match="exact sampling enumerates 2\\^n_components"):
        GaussianBernoulliRBM(n_components=13, sampler="exact").fit(Xdigits[:50])
    rbm = GaussianBernoulliRBM(n_components=13, n_iter=1).fit(Xdigits[:50])
    with pytest.raises(ValueError, match="n_components=13 is above 12"):
        rbm.sample(2, method="exact")


@pytest.mark.parametrize(
    "n_components, n_features, standardize, sampler, steps",
    [
        (4, 2, True, "exact", 100),  # the 2-D ICA problem (CD, if asked for, gets 100)
        (10, 784, True, "exact", 2),  # (2 steps, were CD asked for)
        (64, 2, True, "ais", 100),  # three Gaussians: 16384 / 128 = 128 steps, capped
        (81, 2, True, "ais", 100),  # 81 * 2 * 100 <= 16384
        (82, 2, True, "cd", 99),
        (16, 10, True, "cd", 100),  # 10-D blobs: annealing only on one or two columns
        (50, 3, True, "cd", 100),
        (8, 1, True, "exact", 100),
        (100, 1, True, "ais", 100),
        (16, 64, True, "cd", 16),  # digits
        (64, 64, True, "cd", 4),
        (20, 784, True, "cd", 1),
        (250, 784, True, "cd", 1),  # images: CD-1
        (4, 2, False, "cd", 1),  # without standardising: the notebook's CD-1
        (250, 784, False, "cd", 1),
    ],
)
def test_auto_sampler_and_steps_follow_the_models_size(
    n_components, n_features, standardize, sampler, steps
):
    from sklearn_grbm._training import resolve_gibbs_steps, resolve_sampler

    sizes = (n_components, n_features, standardize)
    assert resolve_sampler("auto", *sizes) == sampler
    assert resolve_gibbs_steps("auto", "cd", *sizes) == steps
    # annealing takes CD's budget of steps whether or not the data are standardised
    budget = min(100, max(1, 16384 // (n_components * n_features)))
    for flag in (True, False):
        assert resolve_gibbs_steps("auto", "ais", n_components, n_features, flag) == budget
    assert resolve_sampler("pcd", *sizes) == "pcd"
    assert resolve_gibbs_steps(3, "cd", *sizes) == 3
    for other in ("pcd", "pt", "langevin", "exact"):  # long chains for CD and AIS only
        assert resolve_gibbs_steps("auto", other, *sizes) == 1


def test_the_defaults_fit_separated_modes_in_ten_columns_at_a_tenfold_step():
    from scipy.stats import norm
    from sklearn.datasets import make_blobs

    # Five well separated 10-D blobs, 16 units, lr 1e-2: the defaults (CD-100
    # here) end 13 nats a row above the Gaussian (the mixture's own density is
    # about 14 above it); annealing, once the default on these columns, ends
    # 47 below (32 on the next seed): its importance weights degenerate.
    X = make_blobs(1400, n_features=10, centers=5, random_state=0)[0]
    train, test = X[:700], X[700:]
    gaussian = norm.logpdf(test, train.mean(axis=0), train.std(axis=0)).sum(axis=1).mean()
    rbm = GaussianBernoulliRBM(16, learning_rate=1e-2, random_state=0).fit(train)
    assert rbm.score_samples(test).mean() > gaussian + 8.0


@pytest.mark.parametrize(
    "n_components, explicit", [(6, dict(sampler="exact")), (24, dict(n_gibbs_steps=10))]
)
def test_the_defaults_train_with_what_auto_resolves_to(n_components, explicit):
    # 24 units on the 64 digit pixels: 16384 // 1536 = 10 Gibbs steps of CD
    params = dict(n_components=n_components, n_iter=2, batch_size=50, random_state=0)
    default = GaussianBernoulliRBM(**params).fit(Xdigits[:300])
    spelled_out = GaussianBernoulliRBM(**params, **explicit).fit(Xdigits[:300])
    assert_array_equal(default.components_, spelled_out.components_)
    assert_array_equal(default.sigma_, spelled_out.sigma_)
    one_step = GaussianBernoulliRBM(**params, sampler="cd", n_gibbs_steps=1).fit(Xdigits[:300])
    assert not np.array_equal(default.components_, one_step.components_)


@pytest.mark.parametrize(
    "n_samples, standardize, expected",
    [
        (10, True, 16),  # at least 16 rows
        (800, True, 16),  # 50 minibatches of 16
        (1257, True, 26),  # the digits of a 70 % split: ceil(1257 / 50)
        (3443, True, 69),  # the embedded FashionMNIST images
        (6400, True, 128),
        (60000, True, 128),  # at most 128: large data keep the notebook's minibatch
        (1257, False, 128),  # without standardising: the notebook's 128
    ],
)
def test_auto_batch_size_is_50_minibatches_an_epoch_within_16_to_128_rows(
    n_samples, standardize, expected
):
    from sklearn_grbm._training import resolve_batch_size

    assert resolve_batch_size("auto", n_samples, standardize) == expected
    assert resolve_batch_size(7, n_samples, standardize) == 7


@pytest.mark.parametrize(
    "n_samples, expected", [(300, 8), (1000, 10), (2000, 20), (5000, 50), (20000, 128)]
)
def test_auto_batch_size_is_100_minibatches_an_epoch_of_8_to_128_rows_when_annealing(
    n_samples, expected
):
    from sklearn_grbm._training import TrainingConfig, resolve_batch_size

    assert resolve_batch_size("auto", n_samples, True, "ais") == expected
    assert resolve_batch_size("auto", n_samples, False, "ais") == 128
    # 64 units on 2 columns anneal by default; 256 units on 2 columns use CD.
    params = GaussianBernoulliRBM(n_components=64).get_params()
    assert TrainingConfig.from_params(params, n_samples, 2).batch_size == expected
    params = GaussianBernoulliRBM(n_components=256).get_params()
    expected_cd = resolve_batch_size("auto", n_samples, True)
    assert TrainingConfig.from_params(params, n_samples, 2).batch_size == expected_cd


@pytest.mark.parametrize("batch_size, n_chains", [(10, 128), (128, 128), (200, 200)])
def test_annealed_training_draws_128_chains_however_few_the_rows(monkeypatch, batch_size, n_chains):
    # The importance weights normalise over the chains: a minibatch of 10 rows
    # still weighs the negative phase over 128 annealed chains, a larger one
    # over one chain per row.
    from sklearn_grbm import _training

    seen = []
    kernel = _training.KERNELS["ais"]

    def spy(chains, params, *args, **kwargs):
        negative = kernel(chains, params, *args, **kwargs)
        seen.append((chains.shape[0], negative.v.shape[0], float(negative.weights.sum())))
        return negative

    monkeypatch.setitem(_training.KERNELS, "ais", spy)
    X = np.random.default_rng(0).normal(size=(400, 2))
    GaussianBernoulliRBM(
        n_components=4, sampler="ais", n_gibbs_steps=5, batch_size=batch_size, n_iter=1
    ).fit(X)
    # 400 rows split evenly: 40 minibatches of 10, 4 of 100 or 2 of 200.
    assert len(seen) == -(-400 // batch_size)
    assert all(chains == drawn == n_chains for chains, drawn, _ in seen), seen[:3]
    np.testing.assert_allclose([total for *_, total in seen], 1.0, rtol=1e-6)


@pytest.mark.parametrize("validation_fraction", [0.0, 0.2])
def test_the_defaults_train_with_the_batch_size_auto_resolves_to(validation_fraction):
    # 1,000 rows (800 after holding out a fifth): 20 and 16 rows a minibatch
    params = dict(n_components=8, n_iter=2, random_state=0, validation_fraction=validation_fraction)
    X = Xdigits[:1000]
    expected = 20 if validation_fraction == 0.0 else 16
    default = GaussianBernoulliRBM(**params).fit(X)
    assert_same_model(default, GaussianBernoulliRBM(**params, batch_size=expected).fit(X))
    other = GaussianBernoulliRBM(**params, batch_size=expected + 5).fit(X)
    assert not np.array_equal(default.components_, other.components_)
    notebook = dict(standardize=False, learn_sigma=False)
    assert_same_model(
        GaussianBernoulliRBM(**params, **notebook).fit(X),
        GaussianBernoulliRBM(**params, **notebook, batch_size=128).fit(X),
    )


# ------------------------------------------------------------------ hidden modes in the negatives


def _numpy_params(rng, n_components, n_features):
    W = rng.normal(scale=0.4, size=(n_components, n_features))
    b = rng.normal(size=n_features)
    c = rng.normal(scale=0.5, size=n_components)
    sigma = np.exp(rng.normal(scale=0.2, size=n_features))
    return W, b, c, sigma


@pytest.mark.parametrize("chains_weighted", [False, True])
def test_mode_negatives_weigh_each_heavy_mode_by_its_share_of_the_mass(chains_weighted):
    import torch

    from sklearn_grbm._functional import RBMParams
    from sklearn_grbm._training import MODE_REFERENCE_ROWS, Negative, with_mode_negatives

    rng = np.random.RandomState(0)
    M, D, n = 6, 9, 20
    W, b, c, sigma = _numpy_params(rng, M, D)
    params = RBMParams(*(torch.tensor(a) for a in (W, b, c, np.log(sigma))))
    p_pos = rng.uniform(size=(n, M))
    modes = ref.all_hidden_states(M)[rng.choice(2**M, 12, replace=False)]
    chains = rng.normal(size=(n, D))
    # annealed chains carry importance weights of their own; CD's count equally
    chain_weights = rng.dirichlet(np.ones(n)) if chains_weighted else np.full(n, 1.0 / n)
    negative = Negative(
        *(torch.tensor(a) for a in (chains, chains, chains / sigma**2)),
        torch.tensor(rng.uniform(size=(n, M))),
        None,
        torch.tensor(chain_weights) if chains_weighted else None,
    )
    out = with_mode_negatives(
        negative, torch.tensor(modes), torch.tensor(p_pos), params, torch.Generator().manual_seed(0)
    )

    def log_weight(H):  # SPEC.md: log of the integral over v of exp(-E(v, h)), less a constant
        shifted = b + H @ W
        return H @ c + np.sum((shifted**2 - b**2) / (2 * sigma**2), axis=1)

    data = log_weight((p_pos[:MODE_REFERENCE_ROWS] > 0.5).astype(float))
    log_data = np.logaddexp.reduce(data)
    heavy = log_weight(modes) > log_data - np.log(MODE_REFERENCE_ROWS)
    assert 0 < heavy.sum() < len(modes)  # the case mixes both
    log_total = np.logaddexp(log_data, np.logaddexp.reduce(log_weight(modes)[heavy]))
    expected = np.concatenate(
        [
            chain_weights * np.exp(log_data - log_total),
            np.where(heavy, np.exp(log_weight(modes) - log_total), 0.0),
        ]
    )
    assert_allclose(out.weights.numpy(), expected, rtol=1e-10, atol=1e-300)
    assert_allclose(out.weights.sum().item(), 1.0, rtol=1e-12)
    # the chains' rows unchanged, then one draw of v per mode, with p(h | v) at it
    v = out.v.numpy()
    assert_array_equal(v[:n], chains)
    assert v.shape == (n + len(modes), D)
    assert_allclose(out.v_scaled.numpy()[n:], v[n:] / sigma**2)
    assert_allclose(out.p.numpy()[n:], ref.hidden_probs(v[n:], W, c, sigma), rtol=1e-10)


def test_mode_draws_follow_p_v_given_h():
    import torch

    from sklearn_grbm._functional import RBMParams
    from sklearn_grbm._training import Negative, with_mode_negatives

    rng = np.random.RandomState(1)
    M, D = 5, 4
    W, b, c, sigma = _numpy_params(rng, M, D)
    params = RBMParams(*(torch.tensor(a) for a in (W, b, c, np.log(sigma))))
    mode = np.array([[1.0, 0.0, 1.0, 1.0, 0.0]])
    modes = torch.tensor(np.repeat(mode, 4000, axis=0))
    empty = torch.zeros((1, D), dtype=torch.float64)
    negative = Negative(empty, empty, empty, torch.zeros((1, M), dtype=torch.float64), None)
    out = with_mode_negatives(
        negative,
        modes,
        torch.ones((1, M), dtype=torch.float64),
        params,
        torch.Generator().manual_seed(0),
    )
    draws = out.v.numpy()[1:]
    assert_allclose(draws.mean(axis=0), ref.visible_mean(mode, W, b)[0], atol=4 * sigma.max() / 60)
    assert_allclose(draws.std(axis=0), sigma, rtol=0.05)


@pytest.mark.parametrize(
    "value, sampler, n_features, standardize, expected",
    [
        ("auto", "cd", 784, True, True),  # images
        ("auto", "cd", 128, True, True),
        ("auto", "cd", 64, True, False),  # the digits: the modes are where AIS goes too
        ("auto", "cd", 784, False, False),  # the seed notebook's training
        ("auto", "pcd", 784, True, False),
        ("auto", "exact", 784, True, False),
        (True, "pcd", 10, False, True),
        (False, "cd", 784, True, False),
    ],
)
def test_auto_mode_negatives_are_on_for_cd_on_standardised_wide_data(
    value, sampler, n_features, standardize, expected
):
    from sklearn_grbm._training import resolve_mode_negatives

    assert resolve_mode_negatives(value, sampler, n_features, standardize) is expected
    # Where each epoch fits the hidden biases exactly, "auto" leaves the modes out.
    calibrated = resolve_mode_negatives(value, sampler, n_features, standardize, calibrated=True)
    assert calibrated is (expected and value is True)


def test_auto_mode_negatives_are_off_where_the_hidden_biases_are_calibrated():
    # 784 columns, CD: on, unless calibrate_sigma fits the hidden biases after
    # each epoch (learned sigma, up to 19 units) or every few (up to 22).
    from sklearn_grbm.datasets import load_fashion_mnist_subset

    X = load_fashion_mnist_subset().data[:200] / np.float32(255.0)
    cases = [
        (dict(n_components=16), False),
        (dict(n_components=16, calibrate_sigma=False), True),
        (dict(n_components=16, learn_sigma=False), True),
        (dict(n_components=20), False),  # calibrated every other epoch
        (dict(n_components=23), True),  # 2^23 states: not calibrated
    ]
    for options, on in cases:
        params = dict(n_iter=2, random_state=0, **options)
        default = GaussianBernoulliRBM(**params).fit(X)
        assert_same_model(default, GaussianBernoulliRBM(**params, mode_negatives=on).fit(X))
        other = GaussianBernoulliRBM(**params, mode_negatives=not on).fit(X)
        assert not np.array_equal(default.components_, other.components_), options


def test_calibration_ends_every_kth_epoch_and_the_last_of_the_fit():
    from sklearn_grbm._training import TrainingConfig

    def calibrated_epochs(n_components, n_iter, epochs, **options):
        params = dict(GaussianBernoulliRBM(n_components=n_components, n_iter=n_iter).get_params())
        params.update(options)
        config = TrainingConfig.from_params(params, 500, 784)
        return [e for e in range(epochs) if config.at_epoch(e).calibrate_sigma]

    assert calibrated_epochs(16, 5, 5) == [0, 1, 2, 3, 4]
    assert calibrated_epochs(20, 5, 5) == [1, 3, 4]  # every other, and the last
    assert calibrated_epochs(21, 10, 12) == [3, 7, 9, 11]  # partial_fit past n_iter too
    assert calibrated_epochs(22, 25, 25) == [8, 17, 24]
    assert calibrated_epochs(23, 5, 5) == []
    assert calibrated_epochs(20, 5, 5, learn_sigma=False) == []
    assert calibrated_epochs(20, 5, 5, calibrate_sigma=False) == []


def test_a_calibrated_epoch_moves_only_sigma_and_the_hidden_biases():
    # 20 units, one epoch: the fit's last, so it calibrates: against the same
    # epoch uncalibrated (and without the modes, as the calibrated fit), W
    # and b are the same, sigma and c moved, and the training rows' exact
    # likelihood rose.
    X = Xdigits[:200]
    params = dict(n_components=20, n_iter=1, random_state=0, mode_negatives=False)
    on = GaussianBernoulliRBM(**params).fit(X)
    off = GaussianBernoulliRBM(**params, calibrate_sigma=False).fit(X)
    assert_array_equal(on.components_, off.components_)
    assert_array_equal(on.intercept_visible_, off.intercept_visible_)
    assert not np.array_equal(on.intercept_hidden_, off.intercept_hidden_)
    assert not np.array_equal(on.sigma_, off.sigma_)
    assert np.ptp(np.log(on.sigma_ / off.sigma_)) < 1e-9  # one common factor
    for model in (on, off):
        model.log_partition("exact")
    assert on.score_samples(X).mean() > off.score_samples(X).mean() + 0.1


def test_mode_negatives_change_training_only_where_on():
    params = dict(n_components=24, n_iter=2, random_state=0)  # not small: CD
    X = Xdigits[:300]
    default = GaussianBernoulliRBM(**params).fit(X)  # 64 columns: off
    assert_same_model(default, GaussianBernoulliRBM(**params, mode_negatives=False).fit(X))
    on = GaussianBernoulliRBM(**params, mode_negatives=True).fit(X)
    assert not np.array_equal(default.components_, on.components_)
    wide = np.hstack([X, X[:, ::-1] + 0.1 * np.random.RandomState(0).normal(size=X.shape)])
    wide_default = GaussianBernoulliRBM(**params).fit(wide)  # 128 columns: on
    assert_same_model(wide_default, GaussianBernoulliRBM(**params, mode_negatives=True).fit(wide))
    with pytest.raises(ValueError, match="mode_negatives"):
        GaussianBernoulliRBM(mode_negatives="yes").fit(X)


@pytest.mark.filterwarnings("ignore::sklearn_grbm.FitQualityWarning")
@pytest.mark.parametrize("n_batches, n_searches", [(1, 1), (50, 1), (51, 2), (120, 3)])
def test_the_hidden_modes_are_searched_every_50_updates(monkeypatch, n_batches, n_searches):
    # Once at the epoch's start and again every MODE_SEARCH_INTERVAL
    # updates, from the heaviest modes so far: on 60,000 patches (469
    # updates an epoch) modes grown between two searches held most of the
    # mass (held-out -6 and 84 nats after 25 epochs; 358 and 358 searching
    # every 50).
    from sklearn_grbm import _training

    calls = []
    search = _training.search_modes

    def spy(params, carried, generator):
        calls.append(None if carried is None else carried.shape)
        return search(params, carried, generator)

    monkeypatch.setattr(_training, "search_modes", spy)
    X = np.hstack([Xdigits, Xdigits[:, ::-1]])[: 4 * n_batches]  # 128 columns: modes on
    GaussianBernoulliRBM(
        n_components=12, n_iter=1, batch_size=4, random_state=0, sampler="cd", calibrate_sigma=False
    ).fit(X)
    assert _training.MODE_SEARCH_INTERVAL == 50
    assert len(calls) == n_searches
    assert calls[0] is None  # the first epoch has nothing carried
    assert all(shape[0] <= _training.MODE_CARRIED for shape in calls[1:])


@pytest.mark.filterwarnings("ignore::sklearn_grbm.FitQualityWarning")
def test_an_epoch_of_at_most_50_updates_searches_the_modes_once(monkeypatch):
    # The same fit whatever the interval beyond the epoch's 50 updates (the
    # defaults on up to 6,400 rows); 60 updates an epoch search twice.
    from sklearn_grbm import _training

    X = np.hstack([Xdigits, Xdigits[:, ::-1]])
    params = dict(
        n_components=12, n_iter=2, batch_size=4, random_state=0, sampler="cd", calibrate_sigma=False
    )
    fits = {}
    for interval in (50, 10**9):
        monkeypatch.setattr(_training, "MODE_SEARCH_INTERVAL", interval)
        fits[interval] = [GaussianBernoulliRBM(**params).fit(X[: 4 * n]) for n in (50, 60)]
    assert_same_model(fits[50][0], fits[10**9][0])
    assert not np.array_equal(fits[50][1].components_, fits[10**9][1].components_)


def test_mode_negatives_lift_the_image_likelihood_above_what_cd_alone_can_reach():
    # 2,500 FashionMNIST images, 200 units, 20 epochs. CD alone leaves most
    # of the mass on a few heavy hidden states: held-out 238 nats at most
    # (AIS, then the modes it missed, 188 nats of log Z); with the modes in
    # the negatives the conservative lower bound alone is 300.
    from sklearn_grbm.datasets import load_fashion_mnist_subset

    rng = np.random.RandomState(0)
    counts = load_fashion_mnist_subset(dtype=np.uint8).data
    X = ((counts + rng.uniform(size=counts.shape)) / 256).astype(np.float32)
    train, test = X[:2500], X[-300:]
    params = dict(n_components=200, n_iter=20, random_state=0)

    def fitted(mode_negatives):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FitQualityWarning)
            rbm = GaussianBernoulliRBM(**params, mode_negatives=mode_negatives).fit(train)
        rbm.log_partition("ais", n_chains=50, n_betas=1000, random_state=0)
        return rbm

    cd_alone = fitted(False)
    upper = cd_alone.score_samples(test).mean()  # AIS errs low, so this errs high
    lower = fitted("auto").log_likelihood_bounds(test, n_betas=200, random_state=0).lower.mean()
    assert lower > upper + 30.0, (lower, upper)
