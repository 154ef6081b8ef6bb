"""The defaults on 60,000 natural patches: how often the hidden modes are searched.

    python benchmarks/large_data.py           # 60,000 patches, seeds 0 and 1 (~10 min on 2 cores)
    python benchmarks/large_data.py --quick   # 3,000 patches, 50 units, 2 epochs: a smoke test

On data of up to 6,400 rows the defaults' epochs are 50 updates
(``batch_size="auto"``) and the ascent to the hidden modes runs once an
epoch. On 60,000 rows an epoch is 469 updates, and modes that grow between
two searches take no part in CD's negatives until the next. This trains the
defaults (250 units, 25 epochs) on 60,000 dequantised patches, searching
every ``MODE_SEARCH_INTERVAL`` (50) updates and, for comparison, once an
epoch (the interval set beyond the epoch's updates), and prints the held-out
log-likelihood (AIS, 100 chains, 20,000 temperatures, on 2,000 test patches
dequantised as in ``benchmarks/density.py``), the nats of log Z AIS missed on
the hidden modes, the notebook-protocol MSE and the fit's seconds. Writes
``benchmarks/results/large_data.txt``.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from sklearn_grbm import AISWarning, GaussianBernoulliRBM, _training
from sklearn_grbm.datasets import load_patches
from sklearn_grbm.experiment import protocol_mse

try:  # run as a script or as a module
    from benchmarks._report import Report
    from benchmarks.density import AIS_BETAS, dequantise, gaussian_score
except ImportError:  # pragma: no cover
    from _report import Report
    from density import AIS_BETAS, dequantise, gaussian_score

RESULTS = Path(__file__).parent / "results"


def patches(n_train, n_test):
    rng = np.random.RandomState(0)
    train = load_patches(n_train, random_state=0)
    test = load_patches(n_test, subset="test", random_state=1)
    return [dequantise(np.round(p * 255), 256, rng) for p in (train, test)]


def fit_row(X, X_test, seed, interval, n_iter, n_betas, n_components=250):
    """Held-out log p(x), AIS's missed nats, protocol MSE and fit seconds of
    the defaults searching the modes every ``interval`` updates."""
    default = _training.MODE_SEARCH_INTERVAL
    _training.MODE_SEARCH_INTERVAL = interval
    try:
        start = time.perf_counter()
        model = GaussianBernoulliRBM(
            n_components=n_components, n_iter=n_iter, random_state=seed
        ).fit(X)
        seconds = time.perf_counter() - start
    finally:
        _training.MODE_SEARCH_INTERVAL = default
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AISWarning)
        log_z = model.log_partition("ais", n_chains=100, n_betas=n_betas)
        value = float(model.score_samples(X_test).mean())  # warns of the modes AIS missed
    return value, log_z.missed, protocol_mse(model, X_test, random_state=seed), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 patches, 50 units, 2 epochs")
    args = parser.parse_args(argv)
    n_train, n_iter, n_betas = (3000, 2, 200) if args.quick else (60000, 25, AIS_BETAS)
    n_components = 50 if args.quick else 250
    X, X_test = patches(n_train, 2000)
    out = Report()
    batch_size = _training.resolve_batch_size("auto", n_train, standardize=True)
    n_updates = -(-n_train // batch_size)
    out(
        f"natural patches: {n_train} train ({n_updates} updates an epoch) and {len(X_test)} "
        f"test rows of 784; the defaults, {n_components} units, {n_iter} epochs"
    )
    out(f"   diagonal Gaussian: {gaussian_score(X, X_test):.2f} nats")
    out(
        f"   {'modes searched':<28}{'seed':>5}{'log p(x)':>10}{'AIS missed':>12}{'MSE':>9}{'fit':>8}"
    )
    intervals = {
        f"every {_training.MODE_SEARCH_INTERVAL} updates": _training.MODE_SEARCH_INTERVAL,
        "once an epoch": n_updates,
    }
    table = {}
    for label, interval in intervals.items():
        for seed in (0, 1):
            row = fit_row(X, X_test, seed, interval, n_iter, n_betas, n_components)
            table[label, seed] = row
            value, missed, mse, seconds = row
            out(f"   {label:<28}{seed:>5}{value:>10.2f}{missed:>12.2f}{mse:>9.4f}{seconds:>7.0f}s")
    out.save(RESULTS / ("large_data_quick.txt" if args.quick else "large_data.txt"))
    return table


if __name__ == "__main__":
    main()
