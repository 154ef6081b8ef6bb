"""Held-out log-likelihood of the defaults beside what a scikit-learn user would pick instead.

    python benchmarks/density.py           # digits, FashionMNIST images, natural patches (~10 min)
    python benchmarks/density.py --quick   # small sizes, a smoke test

For each data set, in nats per held-out row on dequantised pixels (uniform
noise of one grey level added, then scaled to [0, 1]), with the AIS standard
error and effective sample size (100 chains, 20,000 temperatures) where log Z
is estimated, and beside it the conservative lower bound of
``log_likelihood_bounds`` (reverse annealing from each test row, 500
temperatures): where AIS is unsure (an ESS of a few chains) the lower bound
is what can be trusted. "AIS missed" says by how many nats the AIS estimate
of log Z fell below the exact weight of the hidden modes ``log_partition``
finds after it, which the row then uses (still an upper bound on log p(x)):

* ``GaussianBernoulliRBM`` with the defaults (only ``n_components``) after 25
  and after 100 epochs; the defaults fitted on ``1000 X - 7`` with the units
  undone (``+ D log 1000``: the same model, so the same number); the seed
  notebook's model (``standardize=False, learn_sigma=False, sigma=1``); the
  defaults without the hidden modes in CD's negatives (``mode_negatives=False``,
  the defaults before 2026-12-04 on the images); PCD;
* the diagonal Gaussian (the GRBM with W = 0), ``PCA(k).score``,
  ``FactorAnalysis(k).score`` and ``GaussianMixture(K, covariance_type="diag")``.

Checks printed at the end: the defaults never below the Gaussian (by the
lower bound where there is one), 100 epochs no worse than 25 (within 1 nat or
3 standard errors, by AIS; the lower bounds are printed beside), units do not
matter.
Writes ``benchmarks/results/density.txt``.
"""

import argparse
import time
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.mixture import GaussianMixture

from sklearn_grbm import AISWarning, GaussianBernoulliRBM
from sklearn_grbm.datasets import load_fashion_mnist_subset, load_patches

try:  # run as a script or as a module
    from benchmarks._report import Report
except ImportError:  # pragma: no cover
    from _report import Report

RESULTS = Path(__file__).parent / "results"


def dequantise(counts, levels, rng):
    """Integer pixel values 0..levels-1 -> continuous values in [0, 1]."""
    return ((counts + rng.uniform(size=counts.shape)) / levels).astype(np.float32)


def datasets(quick, seed=0):
    """Name -> (X_train, X_test, n_components, baseline sizes)."""
    rng = np.random.RandomState(seed)
    digits = dequantise(load_digits().data, 17, rng)
    order = rng.permutation(len(digits))
    fashion = load_fashion_mnist_subset(dtype=np.uint8)
    fashion_X = dequantise(fashion.data.astype(np.float64), 256, rng)
    n_patches = (1500, 500) if quick else (10000, 2000)
    patches = [
        load_patches(n, subset=subset, random_state=seed + i)
        for i, (n, subset) in enumerate(zip(n_patches, ("train", "test")))
    ]
    patches = [dequantise(np.round(p * 255), 256, rng) for p in patches]
    cut = 300 if quick else None
    return {
        "digits (8x8)": (digits[order[:1400]], digits[order[1400:]], 256, (30, 10)),
        "FashionMNIST images": (fashion_X[:3443][:cut], fashion_X[3443:], 250, (150, 50)),
        "natural patches (28x28)": (patches[0], patches[1], 250, (150, 20)),
    }


def gaussian_score(X_train, X_test):
    mean, var = X_train.mean(axis=0), X_train.var(axis=0)
    return float(
        np.mean(-0.5 * np.sum((X_test - mean) ** 2 / var + np.log(2 * np.pi * var), axis=1))
    )


#: AIS temperatures where log Z is not enumerated (100 chains); the table
#: shows each estimate's standard error and effective sample size. At 2,000
#: the FashionMNIST estimates (ESS 1 or 2) moved by 40 to 80 nats with the
#: seed and sat 80 nats above those of 20,000, so 20,000 it is (about 35 s
#: per image model on one CPU thread).
AIS_BETAS = 20000
#: Below this ESS the AIS estimate of log Z rests on one or two chains: the
#: "more epochs" check says so beside its verdict.
TRUSTED_ESS = 10
#: Temperatures of the reverse annealing (one chain per test row) that gives
#: the conservative lower bound.
BOUND_BETAS = 500


class Row(NamedTuple):
    """One model's line: mean held-out log p(x), the AIS standard error and
    ESS (zero and NaN where log Z is exact), the mean lower bound (NaN where
    exact), the mean held-out free energy, the fit seconds, and the nats by
    which AIS fell below the weight of the hidden modes found after it
    (``LogPartition.missed``: log p(x) then uses that weight and is still an
    upper bound)."""

    value: float
    stderr: float = 0.0
    ess: float = float("nan")
    lower: float = float("nan")
    free_energy: float = float("nan")
    seconds: float | None = None
    missed: float = 0.0


def grbm_row(X_train, X_test, *, betas=(AIS_BETAS, BOUND_BETAS), shift_units=False, **params):
    """The :class:`Row` of a GRBM fitted with ``params`` (on ``1000 X - 7``,
    units undone, with ``shift_units``)."""
    scale, shift = (1000.0, -7.0) if shift_units else (1.0, 0.0)
    start = time.perf_counter()
    model = GaussianBernoulliRBM(random_state=0, **params).fit(scale * X_train + shift)
    seconds = time.perf_counter() - start
    X_eval = scale * X_test + shift
    units = X_test.shape[1] * np.log(scale)  # undone
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AISWarning)  # the table shows it
        lower = float("nan")
        if model.n_components <= 16:  # enumerated: 2^16 hidden states
            log_z = model.log_partition()
        else:
            log_z = model.log_partition("ais", n_chains=100, n_betas=betas[0])
            bounds = model.log_likelihood_bounds(X_eval, n_betas=betas[1], random_state=0)
            lower = float(bounds.lower.mean() + units)
        value = model.score_samples(X_eval).mean() + units
    # The energy is unchanged by the map between units, so the free energy
    # compares two fits without any estimate of log Z.
    free_energy = float(model.free_energy(X_eval).mean())
    return Row(float(value), log_z.stderr, log_z.ess, lower, free_energy, seconds, log_z.missed)


def run(name, X_train, X_test, n_components, sizes, epochs, out, betas=(AIS_BETAS, BOUND_BETAS)):
    k, K = sizes
    D = X_train.shape[1]
    out(f"{name}: {len(X_train)} train and {len(X_test)} test rows of {D} features")
    out(
        f"   {'model':<52}{'log p(x)':>11}{'s.e.':>7}{'ESS':>6}{'lower':>11}{'fit':>8}"
        f"{'AIS missed':>12}"
    )
    rows = {}

    def show(label, row):
        rows[label] = row
        grbm = row.seconds is not None
        se = f"{row.stderr:7.2f}" if grbm else f"{'':7}"
        ess = f"{row.ess:6.0f}" if np.isfinite(row.ess) else f"{'':6}"
        low = f"{row.lower:11.2f}" if np.isfinite(row.lower) else f"{'':11}"
        fit = f"{row.seconds:7.1f}s" if grbm else f"{'':8}"
        missed = f"{row.missed:12.2f}" if row.missed > 0 else ""
        out(f"   {label:<52}{row.value:>11.2f}{se}{ess}{low}{fit}{missed}")

    short, long = epochs
    defaults = dict(n_components=n_components, betas=betas)
    show(
        f"GRBM({n_components}) defaults, {short} epochs",
        grbm_row(X_train, X_test, n_iter=short, **defaults),
    )
    show(
        f"GRBM({n_components}) defaults, {long} epochs",
        grbm_row(X_train, X_test, n_iter=long, **defaults),
    )
    show(
        f"GRBM({n_components}) defaults, {short} epochs, on 1000 X - 7",
        grbm_row(X_train, X_test, n_iter=short, shift_units=True, **defaults),
    )
    show(
        f"GRBM({n_components}) no mode negatives, {short} epochs",
        grbm_row(X_train, X_test, n_iter=short, mode_negatives=False, **defaults),
    )
    show(
        f"GRBM({n_components}) PCD, {short} epochs",
        grbm_row(X_train, X_test, n_iter=short, sampler="pcd", **defaults),
    )
    show(
        f"GRBM({n_components}) notebook's model, {short} epochs",
        grbm_row(X_train, X_test, n_iter=short, standardize=False, learn_sigma=False, **defaults),
    )
    show("diagonal Gaussian", Row(gaussian_score(X_train, X_test)))
    X64, T64 = X_train.astype(np.float64), X_test.astype(np.float64)
    show(f"PCA({k})", Row(PCA(k, random_state=0).fit(X64).score(T64)))
    analysis = FactorAnalysis(k // 3, random_state=0)
    show(f"FactorAnalysis({k // 3})", Row(analysis.fit(X64).score(T64)))
    for components in (K, 2 * K):
        mixture = GaussianMixture(
            components, covariance_type="diag", reg_covar=1e-4, random_state=0
        )
        show(f"GaussianMixture({components}, diag)", Row(mixture.fit(X64).score(T64)))
    out("")
    return rows


def checks(name, rows, n_components, epochs, out):
    """The issue's three checks. Above the Gaussian: "met" by the lower bound
    (or the exact value), "by AIS only" where only the AIS estimate, which
    can overestimate, is above it. More epochs: by the AIS (or exact) values,
    within 1 nat or 3 standard errors, marked "AIS unsure" where an ESS is
    below TRUSTED_ESS (the lower bounds are printed beside). Units: by the
    mean free energy, which the map between units leaves unchanged (no log Z
    involved), within 1 nat or 0.5%."""
    short, long = epochs
    gauss = rows["diagonal Gaussian"].value
    first = rows[f"GRBM({n_components}) defaults, {short} epochs"]
    later = rows[f"GRBM({n_components}) defaults, {long} epochs"]
    moved = rows[f"GRBM({n_components}) defaults, {short} epochs, on 1000 X - 7"]
    tolerance = max(1.0, 3 * np.hypot(first.stderr, later.stderr))
    # In float64 the two fits agree to 1e-13 nats; in float32 (these rows) the
    # rounding of 1000 X - 7 flips a few Bernoulli samples and the trajectories
    # part, by a few tenths of a percent of the free energy.
    units_tolerance = max(1.0, 5e-3 * abs(first.free_energy))

    def above(row):
        trusted = row.lower if np.isfinite(row.lower) else row.value
        return "met" if trusted > gauss else "by AIS only" if row.value > gauss else "NOT met"

    def unsure(*compared):
        ess = min(row.ess for row in compared)
        return f", AIS unsure (ESS {ess:.0f})" if ess < TRUSTED_ESS else ""

    worst_first = ("NOT met", "by AIS only", "met")
    results = [
        (
            f"{name}: defaults above the Gaussian",
            min(above(first), above(later), key=worst_first.index),
        ),
        (
            f"{name}: {long} epochs no worse than {short}",
            ("met" if later.value >= first.value - tolerance else "NOT met") + unsure(first, later),
        ),
        (
            f"{name}: the units do not matter (mean free energy {first.free_energy:.2f}"
            f" against {moved.free_energy:.2f})",
            "met" if abs(moved.free_energy - first.free_energy) <= units_tolerance else "NOT met",
        ),
    ]
    for label, verdict in results:
        out(f"   [{verdict}] {label}")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few epochs")
    args = parser.parse_args(argv)
    epochs = (3, 6) if args.quick else (25, 100)
    betas = (50, 20) if args.quick else (AIS_BETAS, BOUND_BETAS)
    out = Report()
    out(
        "Held-out log-likelihood, nats per row (dequantised pixels); log Z by AIS where marked s.e."
    )
    out("")
    tables = {}
    for name, (X_train, X_test, n_components, sizes) in datasets(args.quick).items():
        n_components = 20 if args.quick else n_components  # AIS and the bounds, quickly
        tables[name] = (
            n_components,
            run(name, X_train, X_test, n_components, sizes, epochs, out, betas),
        )
    out("Checks:")
    verdicts = [
        verdict
        for name, (n_components, rows) in tables.items()
        for verdict in checks(name, rows, n_components, epochs, out)
    ]
    out.save(RESULTS / ("density_quick.txt" if args.quick else "density.txt"))
    return tables, verdicts


if __name__ == "__main__":
    main()
