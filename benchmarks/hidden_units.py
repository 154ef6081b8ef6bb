"""The defaults from 16 to 23 hidden units, where the calibration thins out and stops.

    python benchmarks/hidden_units.py          # FashionMNIST images, 2 seeds (~12 min on 2 cores)
    python benchmarks/hidden_units.py --quick  # 300 images, 12 and 20 units, a smoke test

``calibrate_sigma`` fits sigma's temperature and the hidden biases by exact
maximum likelihood after every epoch up to 19 hidden units, after every k-th
epoch and the last from 20 to 22 (k = 2, 4, 9: one enumeration of the 2^M
hidden states costs k times the per-epoch budget), and not at all from 23
on, where CD-1 gets the hidden-mode negatives instead. On the FashionMNIST
images of ``density.py`` (3,443 to train, 1,000 held out, dequantised), for
each size: the defaults and ``calibrate_sigma=False`` after 25 epochs, and
the defaults after 100 at 20 units; held-out nats per row with log Z exact
(all 2^M hidden states), the mean of the seeds (each printed), and the
fit's seconds. Checks: where the defaults calibrate they score above
``calibrate_sigma=False``, and 20 to 22 units score at least what 19 do,
within 5 nats (before the thinned calibration, 20 units scored 48 below 19).
Writes ``benchmarks/results/hidden_units.txt``.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm._likelihood import calibration_interval

try:  # run as a module of the benchmarks package (the tests) or as a script
    from benchmarks._report import Report
    from benchmarks.density import datasets
except ImportError:
    from _report import Report
    from density import datasets

RESULTS = Path(__file__).parent / "results"
#: How far below 19 units' defaults 20 to 22 units may score, in nats per row.
TOLERANCE = 5.0


def held_out(params, X_train, X_test, seeds):
    """(held-out nats per row of each seed, mean seconds per fit), exact log Z."""
    scores, seconds = [], []
    for seed in seeds:
        start = time.perf_counter()
        model = GaussianBernoulliRBM(random_state=seed, **params).fit(X_train)
        seconds.append(time.perf_counter() - start)
        model.log_partition("exact")
        scores.append(float(model.score_samples(X_test).mean()))
    return scores, float(np.mean(seconds))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 images, 12 and 20 units")
    args = parser.parse_args(argv)
    sizes, seeds, epochs = (
        ((12, 20), (0,), 3) if args.quick else ((16, 19, 20, 21, 22, 23), (0, 1), 25)
    )
    X_train, X_test, _, _ = datasets(args.quick)["FashionMNIST images"]
    out = Report()
    out(
        f"FashionMNIST images: {len(X_train)} train and {len(X_test)} test rows; held-out nats "
        f"per row, exact log Z; mean of seeds {list(seeds)} (each in brackets); seconds per fit"
    )
    out(f"   {'units':>5} {'every':>6}   {'model':<32}{'log p(x)':>10}   {'seeds':<20}{'fit':>8}")
    warnings.simplefilter("ignore")  # the fits' quality warnings are not the point here
    table = {}
    variants = [("defaults", {}), ("calibrate_sigma=False", dict(calibrate_sigma=False))]
    for n_components in sizes:
        interval = calibration_interval(n_components)
        every = "-" if interval is None else str(interval)
        runs = list(variants)
        if n_components == 20 and not args.quick:
            runs.append(("defaults, 100 epochs", dict(n_iter=100)))
        for name, options in runs:
            params = {"n_components": n_components, "n_iter": epochs, **options}
            scores, seconds = held_out(params, X_train, X_test, seeds)
            table[(n_components, name)] = float(np.mean(scores))
            each = "[" + ", ".join(f"{s:.2f}" for s in scores) + "]"
            out(
                f"   {n_components:>5} {every:>6}   {name:<32}{np.mean(scores):>10.2f}   "
                f"{each:<20}{seconds:>7.1f}s"
            )
    out("   (every: the epochs between calibrations; -: none)")
    out("Checks:")
    checks = []
    for n_components in sizes:
        if calibration_interval(n_components) is None:
            continue
        gain = table[(n_components, "defaults")] - table[(n_components, "calibrate_sigma=False")]
        checks.append(
            (f"{n_components} units: calibrated above uncalibrated ({gain:+.2f})", gain > 0)
        )
    if 19 in sizes:
        for n_components in (20, 21, 22):
            margin = table[(n_components, "defaults")] - table[(19, "defaults")]
            checks.append(
                (
                    f"{n_components} units no more than {TOLERANCE:g} below 19 ({margin:+.2f})",
                    margin >= -TOLERANCE,
                )
            )
    if (20, "defaults, 100 epochs") in table:
        margin = table[(20, "defaults, 100 epochs")] - table[(20, "defaults")]
        checks.append(
            (f"20 units: 100 epochs no worse than 25 ({margin:+.2f}, tolerance 1)", margin >= -1)
        )
    for text, met in checks:
        out(f"   [{'met' if met else 'NOT met'}] {text}")
    out.save(RESULTS / ("hidden_units_quick.txt" if args.quick else "hidden_units.txt"))
    return table, checks


if __name__ == "__main__":
    main()
