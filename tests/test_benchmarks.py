"""The benchmark scripts run (on tiny data; no timing is asserted)."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from benchmarks import run
from sklearn_grbm.datasets import load_patches


def test_every_benchmark_section_runs(capsys):
    cpu = torch.device("cpu")
    X, X_test = load_patches(600, random_state=0), load_patches(200, subset="test", random_state=1)
    lines = []
    times = run.head_to_head(X, X_test, cpu, 1, lines.append, repeats=2)
    assert any("interleaved rounds" in line for line in lines)
    assert set(times) == {"ours", "defaults", "notebook", "sklearn", "mse_ratio"}
    assert times["ours"] > 0 and times["defaults"] > 0
    assert run.floor(600, 784, 250, cpu, times["ours"], lines.append) > 0
    table = run.scaling(cpu, [300], [10], lines.append)
    assert set(table) == {(300, 10)}
    n_lines = len(lines)
    assert run.sigma_cost(X, cpu, 1, lines.append, repeats=2) > 0
    rounds = [line for line in lines[n_lines:] if "learned / fixed in each round" in line]
    assert len(rounds) == 1 and rounds[0].count(",") == 1  # one ratio per round
    results = run.inference(cpu, 3000, lines.append)
    assert set(results) == {"transform", "score_samples", "reconstruct"}
    assert any("floor" in line for line in lines)


def test_head_to_head_needs_a_round():
    X = load_patches(50, random_state=0)
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        run.head_to_head(X, X, torch.device("cpu"), 1, print, repeats=0)


def test_multiply_add_count_and_matmul_rate():
    assert run.cd1_multiply_adds(10, 20, 30) == 5 * 10 * 20 * 30
    assert run.matmul_rate(8, 16, 4, torch.device("cpu"), repeats=2) > 0


def test_peak_memory_sees_an_allocation():
    with run.PeakMemory(torch.device("cpu")) as memory:
        block = np.ones((4000, 4000))  # 128 MB
        block.sum()
    assert memory.bytes > 50e6


def test_natural_patches_whitening_and_a_tiny_run(tmp_path, monkeypatch):
    from benchmarks import natural_patches
    from sklearn_grbm import _likelihood

    X, X_test, _dewhiten = natural_patches.whitened_patches(4, 3000, 500)
    assert X.shape == (3000, 15) and X_test.shape == (500, 15)  # the DC direction is dropped
    np.testing.assert_allclose(np.cov(X, rowvar=False), np.eye(15), atol=1e-8)
    results = tmp_path / "results"  # not there yet, as in a fresh checkout
    monkeypatch.setattr(natural_patches, "RESULTS", results)
    monkeypatch.setattr(_likelihood, "AIS_MAX_DOUBLINGS", 0)  # a smoke test: one AIS run per model
    natural_patches.main(
        [
            "--patch-size",
            "4",
            "--n-train",
            "600",
            "--n-test",
            "200",
            "--epochs",
            "1",
            "--edge-epochs",
            "1",
            "--ica-patch-size",
            "5",
        ]
    )
    text = (results / "natural_patches.txt").read_text()
    assert "Gaussian (whitening)" in text and "anchored init" in text and "best:" in text
    assert "scale mixture (contrast only" in text and "ICA, Laplace sources" in text
    assert "Contrast taken out: 4x4 patches" in text
    assert "Do edges win? 5x5 patches (D = 24)" in text and "FastICA's filters" in text
    for figure in ("filters", "edges", "from_ica", "from_random"):
        assert (results / f"natural_patches_{figure}.png").stat().st_size > 0


def test_a_start_at_given_weights_begins_where_fit_would_but_for_the_weights():
    from benchmarks import natural_patches
    from sklearn_grbm import GaussianBernoulliRBM

    X = np.random.RandomState(0).normal(size=(300, 6))
    W = 3.0 * np.linalg.qr(np.random.RandomState(1).normal(size=(6, 6)))[0]
    started = natural_patches.fit_from_weights(W, X, 0, n_components=6, random_state=0)
    assert_allclose(started.components_, W)
    assert_allclose(started.intercept_hidden_, np.log(0.01) - 4.5)  # anchored: log 1% - |w|^2 / 2
    assert_allclose(started.intercept_visible_, 0.0)
    assert_allclose(started.sigma_, 1.0)
    reference = GaussianBernoulliRBM(
        n_components=6, n_iter=1, standardize=False, random_state=0
    ).fit(X)
    assert_allclose(started.sigma_floor_, reference.sigma_floor_)
    trained = natural_patches.fit_from_weights(W, X, 2, n_components=6, random_state=0)
    assert trained.n_iter_ == 2 and not np.allclose(trained.components_, W)
    assert natural_patches.alignment(W, W[::-1]) == pytest.approx(1.0)


def test_contrast_normalized_patches_keep_the_high_contrast_half_on_a_sphere():
    from benchmarks import natural_patches

    X, X_test, E = natural_patches.contrast_normalized_patches(4, 2000, 300)
    assert X.shape == (2000, 15) and X_test.shape == (300, 15) and E.shape == (16, 15)
    assert_allclose(np.linalg.norm(X, axis=1), np.sqrt(15))
    assert_allclose(np.linalg.norm(X_test, axis=1), np.sqrt(15))
    # The kept training patches are those above the median contrast of the
    # patches drawn: their pixel spread is far from zero.
    pixels = load_patches(int(2 * 2000 / 0.5) + 100, patch_size=4, random_state=0, dtype=np.float64)
    spread = (pixels - pixels.mean(axis=1, keepdims=True)).std(axis=1)
    assert (spread > np.median(spread)).sum() >= 2000


def test_scale_mixture_and_ica_log_likelihoods_match_scipy_densities():
    from scipy.stats import laplace, multivariate_normal
    from sklearn.decomposition import FastICA

    from benchmarks import natural_patches

    rng = np.random.RandomState(0)
    D = 3
    contrast = np.where(rng.rand(4000) < 0.3, 0.2, 2.0)
    X = rng.normal(size=(4000, D)) * contrast[:, None]
    X_test = rng.normal(size=(50, D))
    ll, scales, weights = natural_patches.scale_mixture_log_likelihood(X, X_test, n_scales=2)
    assert_allclose(sorted(scales), [0.2, 2.0], rtol=0.05)
    assert_allclose(sorted(weights), [0.3, 0.7], atol=0.03)
    expected = np.log(
        sum(
            w * multivariate_normal(np.zeros(D), s**2 * np.eye(D)).pdf(X_test)
            for s, w in zip(scales, weights)
        )
    )
    assert_allclose(ll, expected, rtol=1e-10)

    ica = FastICA(whiten=False, max_iter=400, random_state=0).fit(X)
    S = X @ ica.components_.T
    scales = np.abs(S).mean(axis=0)
    expected = laplace(scale=scales).logpdf(X_test @ ica.components_.T).sum(axis=1)
    expected += np.log(abs(np.linalg.det(ica.components_)))
    assert_allclose(natural_patches.ica_log_likelihood(X, X_test, ica), expected, rtol=1e-10)


def test_density_and_bounds_benchmarks_run(tmp_path, monkeypatch):
    from benchmarks import density, likelihood_bounds

    monkeypatch.setattr(density, "RESULTS", tmp_path)
    monkeypatch.setattr(likelihood_bounds, "RESULTS", tmp_path)
    tables, verdicts = density.main(["--quick"])
    assert set(tables) == {"digits (8x8)", "FashionMNIST images", "natural patches (28x28)"}
    for _, rows in tables.values():
        assert "diagonal Gaussian" in rows and any(name.startswith("PCA") for name in rows)
        grbms = [row for name, row in rows.items() if name.startswith("GRBM")]
        # AIS (20 units are not enumerated) with the reverse-annealing lower bound beside it
        assert len(grbms) == 6 and all(np.isfinite(row.lower) for row in grbms)
    assert len(verdicts) == 12 and (tmp_path / "density_quick.txt").exists()
    table = likelihood_bounds.main(["--quick"])
    assert all(np.isfinite(row[3]) and np.isfinite(row[4]) for row in table)


def test_density_checks_trust_the_lower_bound_and_compare_seed_means():
    from benchmarks.density import UNITS_FLOAT64, Row, checks

    def seeds(*values, lower=1.0, stderr=0.1, ess=50):
        fits = [Row(v, stderr, ess, lower, -100.0, 1.0) for v in values]
        return Row.of_seeds(fits)

    def verdicts(first, later=None, moved=None, in_float64=(5.0, 5.0)):
        rows = {
            "diagonal Gaussian": Row(0.0),
            "GRBM(5) defaults, 1 epochs": first,
            "GRBM(5) defaults, 2 epochs": later or seeds(6.0, 6.0, 6.0),
            "GRBM(5) defaults, 1 epochs, on 1000 X - 7": moved or seeds(5.0, 5.0, 5.0),
            UNITS_FLOAT64: Row(in_float64[0], values=in_float64),
        }
        return [verdict for _, verdict in checks("x", rows, 5, (1, 2), lambda line: None)]

    # AIS (value) above the Gaussian, lower bound below it: only AIS shows it
    assert verdicts(seeds(5.0, 5.0, 5.0, lower=-1.0))[0] == "by AIS only"
    assert verdicts(seeds(5.0, 5.0, 5.0, lower=2.0))[0] == "met"
    assert verdicts(seeds(-5.0, -5.0, -5.0, lower=-6.0))[:2] == ["NOT met", "met"]
    # one seed below the Gaussian fails the check, whatever the mean
    assert verdicts(seeds(9.0, 9.0, -0.5, lower=-1.0))[0] == "NOT met"
    # 2 epochs lost 3 nats, with the seeds agreeing: not met
    assert verdicts(seeds(9.0, 9.0, 9.0))[1] == "NOT met"
    # the same mean loss within seeds that spread by 20 nats is noise
    assert verdicts(seeds(-11.0, 9.0, 29.0))[1] == "met"
    # an ESS of 2 means log Z rests on two chains: the verdict says so
    assert verdicts(seeds(5.0, 5.0, 5.0, ess=2))[1] == "met, AIS unsure (ESS 2)"
    # units: 1.5 nats apart with consistent seeds is not met, within the seeds' spread it is
    assert verdicts(seeds(5.0, 5.0, 5.0), moved=seeds(6.5, 6.5, 6.5))[2] == "NOT met"
    assert verdicts(seeds(0.0, 5.0, 10.0), moved=seeds(1.5, 6.5, 11.5))[2] == "met"
    assert verdicts(seeds(5.0, 5.0, 5.0))[3] == "met"
    assert verdicts(seeds(5.0, 5.0, 5.0), in_float64=(5.0, 5.001))[3] == "NOT met"


def test_seed_rows_average_their_fits():
    from benchmarks.density import Row

    row = Row.of_seeds(
        [Row(1.0, 0.3, 40, -1.0, -5.0, 2.0, 0.0), Row(3.0, 0.4, 20, 1.0, -7.0, 4.0, 2.0)]
    )
    assert (row.value, row.ess, row.lower, row.free_energy, row.seconds, row.missed) == (
        2.0,
        20,
        0.0,
        -6.0,
        3.0,
        2.0,
    )
    assert row.values == (1.0, 3.0) and row.lowers == (-1.0, 1.0)
    np.testing.assert_allclose(row.seed_error, np.std([1.0, 3.0], ddof=1) / np.sqrt(2))
    np.testing.assert_allclose(row.stderr, np.sqrt((0.09 + 0.16) / 2 / 2))


def test_sigma_temperature_finds_the_exact_best_common_shift_of_sigma(tmp_path, monkeypatch):
    from benchmarks import sigma_temperature
    from benchmarks.density import datasets
    from sklearn_grbm import GaussianBernoulliRBM

    monkeypatch.setattr(sigma_temperature, "RESULTS", tmp_path)
    assert len(sigma_temperature.main(["--quick"])) == 6
    assert (tmp_path / "sigma_temperature_quick.txt").exists()

    X_train, X_test, _, _ = datasets(True)["natural patches (28x28)"]
    model = GaussianBernoulliRBM(n_components=8, n_iter=6, random_state=0).fit(X_train)
    delta0, _, _ = sigma_temperature.best_common_shift(model, X_train, X_test)
    sigma = model.sigma_ * np.exp(-0.1)  # too sharp by a known factor
    model.sigma_ = sigma
    delta, before, after = sigma_temperature.best_common_shift(model, X_train, X_test)
    assert_allclose(delta, delta0 + 0.1, atol=0.01)
    # The benchmark's own enumeration agrees with the estimator's exact log Z ...
    assert_allclose(before, model.score_samples(X_test).mean(), rtol=1e-5)

    def train_score(shift):
        model.sigma_ = (sigma * np.exp(shift)).astype(sigma.dtype)
        return model.score_samples(X_train).mean()

    # ... and its shift maximises the training log-likelihood over the common shift.
    assert train_score(delta) >= max(train_score(delta - 0.02), train_score(delta + 0.02))
    assert train_score(delta) > train_score(0.0)
    model.sigma_ = (sigma * np.exp(delta)).astype(sigma.dtype)
    assert_allclose(after, model.score_samples(X_test).mean(), rtol=1e-5)


def test_small_models_compares_the_defaults_with_the_glorot_start(tmp_path, monkeypatch):
    from benchmarks import small_models

    monkeypatch.setattr(small_models, "RESULTS", tmp_path)
    rows = small_models.main(["--quick"])
    assert len(rows) == 2 * 2 * 3  # data sets x sizes x configurations, one seed
    assert {row[2] for row in rows} == {"CD-1, Glorot start", "exact, Glorot start", "defaults"}
    assert all(np.isfinite(row[4]) and 0 < row[5] < 1 for row in rows)
    assert (tmp_path / "small_models_quick.txt").exists()


def test_hidden_units_compares_calibrated_and_uncalibrated_fits(tmp_path, monkeypatch):
    from benchmarks import hidden_units

    monkeypatch.setattr(hidden_units, "RESULTS", tmp_path)
    table, checks = hidden_units.main(["--quick"])
    names = ("defaults", "calibrate_sigma=False")
    assert set(table) == {(m, name) for m in (12, 20) for name in names}
    assert all(np.isfinite(value) for value in table.values())
    # 20 units calibrate (every other epoch and the last), so the two differ
    assert table[(20, "defaults")] != table[(20, "calibrate_sigma=False")]
    assert len(checks) == 2
    assert (tmp_path / "hidden_units_quick.txt").exists()


def test_mode_masses_of_a_gaussian_match_the_noncentral_chi_square():
    from scipy.stats import ncx2

    from benchmarks.toy_densities import CENTERS, mode_masses

    class Gaussian:  # all that mode_masses asks of a model
        mean, std = CENTERS[0] + [1.0, 1.5], 2.5

        def free_energy(self, X):
            return 0.5 * np.sum((X - self.mean) ** 2, axis=1) / self.std**2

    model = Gaussian()
    offsets = np.sum((CENTERS - model.mean) ** 2, axis=1) / model.std**2
    expected = ncx2.cdf(9.0 / model.std**2, df=2, nc=offsets)
    masses = mode_masses(model, radius=3.0)
    assert_allclose(masses[:3], expected, atol=2e-3)
    assert_allclose(sum(masses), 1.0, rtol=1e-12)


def test_the_trace_follows_one_fit_epoch_by_epoch():
    from benchmarks.toy_densities import run_trace

    lines = []
    nll = run_trace(0, 1e-2, lines.append, n_epochs=2, every=1, n_rows=300)
    assert len(nll) == 2 and all(np.isfinite(nll))
    assert len(lines) == 2 + 2 and lines[-1].split()[0] == "2"


def test_features_benchmark_counts_splits_against_raw_pixels(tmp_path, monkeypatch):
    from benchmarks import features

    lines = []
    summary = features.row("x", [0.9, 0.8, 0.95], [0.85, 0.85, 0.95], 1.0, lines.append)
    assert summary == {"mean": pytest.approx(0.8833333), "at_least_raw": 2, "n": 3}
    assert "2/3" in lines[0]
    monkeypatch.setattr(features, "RESULTS", tmp_path)
    tables = features.main(["--quick"])
    assert (tmp_path / "features_quick.txt").exists()
    digits, fashion = tables["digits"], tables["fashion"]
    assert set(digits) == {"raw pixels / 16", "raw counts 0..16", "standardised pixels", "defaults"}
    assert digits["raw pixels / 16"]["at_least_raw"] == 2  # the reference itself
    # the features carry the labels: far above chance (0.1) on both
    assert digits["defaults"]["mean"] > 0.9 and fashion["defaults"]["mean"] > 0.7


def test_features_benchmark_resplits_pool_and_split_the_images(monkeypatch):
    from benchmarks import features

    X, y, X_test, y_test = features.fashion_split()
    monkeypatch.setattr(
        features, "fashion_split", lambda: (X[:400], y[:400], X_test[:200], y_test[:200])
    )
    lines = []
    table = features.fashion_resplits((0, 1), {"2 epochs": {"n_iter": 2}}, lines.append, 150)
    assert lines[0].startswith("FashionMNIST images, random 450 / 150 splits of all 600")
    assert table["raw pixels"]["at_least_raw"] == table["raw pixels"]["n"] == 2
    assert table["standardised pixels"]["n"] == 2 and table["standardised pixels"]["mean"] > 0.5
    assert table["2 epochs"]["n"] == 2 and table["2 epochs"]["mean"] > 0.5


def test_more_epochs_benchmark_checks_within_its_tolerance(tmp_path, monkeypatch):
    from benchmarks import more_epochs

    tolerance = more_epochs.TOLERANCE
    assert more_epochs.check({25: 10.0, 100: 10.0 - tolerance / 2}, 25, 100)[0] == "met"
    assert more_epochs.check({25: 10.0, 100: 10.0 - 2 * tolerance}, 25, 100)[0] == "NOT met"
    monkeypatch.setattr(more_epochs, "RESULTS", tmp_path)
    verdicts = more_epochs.main(["--quick"])
    assert len(verdicts) == 6 and set(verdicts) <= {"met", "NOT met"}
    assert (tmp_path / "more_epochs_quick.txt").exists()


def test_large_data_benchmark_compares_the_mode_search_intervals(tmp_path, monkeypatch):
    from benchmarks import large_data
    from sklearn_grbm import _training

    monkeypatch.setattr(large_data, "RESULTS", tmp_path)
    table = large_data.main(["--quick"])
    assert _training.MODE_SEARCH_INTERVAL == 50  # restored
    assert (tmp_path / "large_data_quick.txt").exists()
    # 3,000 rows are 50 updates an epoch: every 50 updates is once an epoch, the same fit
    for seed in (0, 1):
        every, once = table["every 50 updates", seed], table["once an epoch", seed]
        assert every[:3] == once[:3] and np.isfinite(every[0])


def test_fit_warnings_benchmark_runs(tmp_path, monkeypatch):
    from benchmarks import fit_warnings

    monkeypatch.setattr(fit_warnings, "RESULTS", tmp_path)
    assert fit_warnings.main(["--quick"]) == []  # two epochs: nothing expected
    text = (tmp_path / "fit_warnings_quick.txt").read_text()
    # The spread-100 data without standardising warn even after two epochs.
    line = next(row for row in text.splitlines() if "spread 100 about 1000: standardize" in row)
    assert " yes " in line and "nats lower" in line


def test_other_data_benchmark_runs(tmp_path, monkeypatch):
    from benchmarks import other_data

    monkeypatch.setattr(other_data, "RESULTS", tmp_path)
    assert other_data.main(["--quick"]) == []
    rows = (tmp_path / "other_data_quick.txt").read_text().splitlines()
    iris = [row.split() for row in rows if row.startswith("iris")]
    assert len(iris) == 2  # as is and rescaled
    # Both columns are in the data's units: rescaling the four columns by
    # 1000 shifts the Gaussian by -4 log(1000), and the standardised fit
    # (the same model in other units) by as much (printed to 3 decimals).
    for column in (-4, -3):
        first, second = (float(row[column]) for row in iris)
        assert abs((first - second) - 4 * np.log(1000.0)) < 5e-3
