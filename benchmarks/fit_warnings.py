"""Which fits say they are poor: the check of every fit against the diagonal Gaussian.

    python benchmarks/fit_warnings.py          # ~12 min on 2 cores
    python benchmarks/fit_warnings.py --quick  # tiny data and epochs, a smoke test

Each row fits one model and reports whether ``fit`` emitted the
:class:`~sklearn_grbm.FitQualityWarning` "worse than a diagonal Gaussian"
(the user guide's "Watching training"), with the figures it gave, and the
held-out log p(x) of ``score_samples`` beside the held-out score of the
diagonal Gaussian fitted to the training rows (``density.py``'s). The rows: the defaults (only
``n_components``, and ``n_iter`` or ``learning_rate`` where named) on the
data of ``density.py`` and the toy densities; PCD; the seed notebook's
model (``standardize=False, learn_sigma=False, sigma=1``); 5-D Gaussian data
of spread 100 about 1,000 and of spread 0.01, with and without
standardising. The checks printed at the end: no fit of the defaults warns,
and the fits the issue found poor and silent (the units without
standardising, the notebook's fixed sigma on the FashionMNIST images) warn.
Writes ``benchmarks/results/fit_warnings.txt``.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from sklearn_grbm import AISWarning, FitQualityWarning, GaussianBernoulliRBM

try:  # run as a module of the benchmarks package (the tests) or as a script
    from benchmarks._report import Report
    from benchmarks.density import datasets, gaussian_score
    from benchmarks.toy_densities import ica_problem, three_gaussians
except ImportError:  # pragma: no cover
    from _report import Report
    from density import datasets, gaussian_score
    from toy_densities import ica_problem, three_gaussians

RESULTS = Path(__file__).parent / "results"
NOTEBOOK = dict(standardize=False, learn_sigma=False, sigma=1.0)


def cases(quick):
    """(name, X_train, X_test, params, expected): expected is "quiet" for the
    defaults, "warns" for the fits the issue found poor, None otherwise."""
    n_toy = 600 if quick else 20000
    epochs = dict(n_iter=2) if quick else {}
    wide = 8 if quick else 64  # hidden units of the toy models (exact log Z when quick)
    rng = np.random.RandomState(0)
    out = []
    for name, (X_train, X_test, n_components, _) in datasets(quick).items():
        size = 16 if quick else n_components
        out.append(
            (f"{name}: defaults", X_train, X_test, dict(n_components=size, **epochs), "quiet")
        )
        if not quick:
            longer = dict(n_components=size, n_iter=100)
            out.append((f"{name}: defaults, 100 epochs", X_train, X_test, longer, "quiet"))
            fast = dict(n_components=size, learning_rate=1e-2)
            out.append((f"{name}: defaults, lr 1e-2", X_train, X_test, fast, "quiet"))
        out.append(
            (
                f"{name}: PCD",
                X_train,
                X_test,
                dict(n_components=size, sampler="pcd", **epochs),
                None,
            )
        )
        expect = "warns" if name.startswith("FashionMNIST") else None
        out.append(
            (
                f"{name}: notebook",
                X_train,
                X_test,
                dict(n_components=size, **NOTEBOOK, **epochs),
                expect,
            )
        )
    X, X_test = three_gaussians(n_toy, 10), three_gaussians(n_toy, 100)
    toy_epochs = epochs or dict(n_iter=30)
    for rate in (1e-3, 1e-2):
        params = dict(n_components=wide, learning_rate=rate, **toy_epochs)
        out.append((f"three Gaussians: defaults, lr {rate:g}", X, X_test, params, "quiet"))
        out.append(
            (f"three Gaussians: PCD, lr {rate:g}", X, X_test, dict(params, sampler="pcd"), None)
        )
    X, X_test, _, _ = ica_problem(n_toy, 0)
    for rate in (1e-3, 1e-2):
        params = dict(n_components=4, learning_rate=rate, **epochs)
        out.append((f"2-D ICA: defaults, lr {rate:g}", X, X_test, params, "quiet"))
    n_rows = 300 if quick else 2000
    for spread, centre in ((100.0, 1000.0), (0.01, 0.0)):
        X_train, X_test = (rng.normal(size=(n, 5)) * spread + centre for n in (n_rows, n_rows // 2))
        units = f"5-D, spread {spread:g} about {centre:g}"
        params = dict(n_components=wide, **epochs)
        out.append((f"{units}: defaults", X_train, X_test, params, "quiet"))
        raw = dict(params, standardize=False)
        out.append((f"{units}: standardize=False", X_train, X_test, raw, "warns"))
    if quick:  # two epochs are too few for the defaults to clear the Gaussian
        out = [(*case[:4], None) for case in out]
    return out


def run_case(X_train, X_test, params):
    """(warning message or None, held-out log p(x), seconds)."""
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitQualityWarning)
        model = GaussianBernoulliRBM(random_state=0, **params).fit(X_train)
    seconds = time.perf_counter() - start
    below = [str(w.message) for w in caught if "worse than a diagonal Gaussian" in str(w.message)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AISWarning)
        held_out = float(np.mean(model.score_samples(X_test)))
    return (below[0] if below else None), held_out, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny data and epochs")
    args = parser.parse_args(argv)
    out = Report()
    out(
        f"{'fit':55s} {'warns':>5s} {'held-out':>12s} {'Gaussian':>12s} {'s':>6s}  the warning's figures"
    )
    verdicts = []
    for name, X_train, X_test, params, expected in cases(args.quick):
        message, held_out, seconds = run_case(X_train, X_test, params)
        gaussian = gaussian_score(X_train, X_test)
        figures = message.split(": about ")[1].split(". Training")[0] if message else ""
        warns = message is not None
        out(
            f"{name:55s} {'yes' if warns else 'no':>5s} {held_out:12.3f} {gaussian:12.3f} {seconds:6.1f}  {figures}"
        )
        if expected is not None:
            met = warns == (expected == "warns")
            verdicts.append("met" if met else "NOT met")
            out(f"    [{verdicts[-1]}] expected: {expected}")
    out(f"Checks: {verdicts.count('met')} met, {verdicts.count('NOT met')} NOT met")
    out.save(RESULTS / ("fit_warnings_quick.txt" if args.quick else "fit_warnings.txt"))
    return verdicts


if __name__ == "__main__":
    main()
