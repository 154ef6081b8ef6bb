"""Where CD-1 leaves sigma: the exact best common rescaling of the fitted sigmas.

    python benchmarks/sigma_temperature.py          # 16 units; patches, FashionMNIST, digits (~10 min)
    python benchmarks/sigma_temperature.py --quick  # 8 units, small sizes, a smoke test

Fits 16 hidden units (log Z exact, by enumerating the 65,536 hidden states)
with CD-1 alone (``calibrate_sigma=False``, one Gibbs step) for 25 and for 100 epochs on the
data sets of ``density.py``; then, holding W, b and c, finds the one shift
``delta`` of every column's ``log sigma`` (sigma times ``exp(delta)``, a
temperature) that maximises the exact log-likelihood of the training rows,
and prints the held-out nats per row before and after. W, b and c are held
in the data's units, so on pixels the shift also moves the hidden units'
thresholds relative to the column means (the user guide's "What that shift
corrects"). The last column is the defaults, which fit sigma's temperature
and the hidden biases by exact maximum likelihood after every epoch
(``calibrate_sigma=True``; on the digits they also take 16 Gibbs steps).
Writes ``benchmarks/results/sigma_temperature.txt``.
"""

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from sklearn_grbm import GaussianBernoulliRBM

try:  # run as a module of the benchmarks package (the tests) or as a script
    from benchmarks._report import Report
    from benchmarks.density import datasets
    from benchmarks.toy_densities import exact_log_likelihood
except ImportError:
    from _report import Report
    from density import datasets
    from toy_densities import exact_log_likelihood

RESULTS = Path(__file__).parent / "results"
#: CD-1 without the correction (the defaults give small digits models more steps).
CD1_ALONE = dict(sampler="cd", n_gibbs_steps=1, calibrate_sigma=False)


def best_common_shift(model, X_train, X_test, bound=0.2):
    """(delta, held-out log p at 0, held-out log p at delta), exact log Z."""
    W, b, c, log_sigma = (
        torch.tensor(a, dtype=torch.float64)
        for a in (
            model.components_,
            model.intercept_visible_,
            model.intercept_hidden_,
            np.log(model.sigma_),
        )
    )
    X, X_t = torch.tensor(X_train, dtype=torch.float64), torch.tensor(X_test, dtype=torch.float64)

    def score(rows, delta):
        with torch.no_grad():
            return float(exact_log_likelihood(rows, W, b, c, log_sigma + delta))

    delta = minimize_scalar(
        lambda d: -score(X, d), bounds=(-bound, bound), method="bounded", options={"xatol": 1e-3}
    ).x
    return float(delta), score(X_t, 0.0), score(X_t, delta)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 units, few epochs")
    args = parser.parse_args(argv)
    n_components, epochs = (8, (3, 6)) if args.quick else (16, (25, 100))
    out = Report()
    out(
        f"GRBM({n_components}), CD-1 alone; delta: the exact-ML common shift of log sigma "
        "(W, b, c held); held-out nats per row, exact log Z"
    )
    out(
        f"{'data':<26} {'epochs':>6} {'delta':>7} {'log p(x)':>9} {'after':>9} {'gain':>8}"
        f" {'defaults':>9}"
    )
    rows = []
    warnings.simplefilter("ignore")  # the fits' quality warnings are not the point here
    for name, (X_train, X_test, _, _) in datasets(args.quick).items():
        X_fit = X_train[:2000]
        for n_iter in epochs:
            fits = [
                GaussianBernoulliRBM(
                    n_components=n_components, n_iter=n_iter, random_state=0, **params
                ).fit(X_train)
                for params in (CD1_ALONE, {})
            ]
            delta, before, after = best_common_shift(fits[0], X_fit, X_test)
            defaults = float(fits[1].score_samples(X_test).mean())
            rows.append((name, n_iter, delta, before, after, defaults))
            out(
                f"{name:<26} {n_iter:>6} {delta:>7.3f} {before:>9.2f} {after:>9.2f} "
                f"{after - before:>8.2f} {defaults:>9.2f}"
            )
    out.save(RESULTS / ("sigma_temperature_quick.txt" if args.quick else "sigma_temperature.txt"))
    return rows


if __name__ == "__main__":
    main()
