"""More training does not hurt, measured where log Z is exact.

    python benchmarks/more_epochs.py          # 16 units, 25/50/100/200 epochs, 2 seeds (~15 min)
    python benchmarks/more_epochs.py --quick  # 2 and 4 epochs on 300 rows: a smoke test

The defaults with 16 hidden units (CD, the decay schedule, sigma's temperature
and the hidden biases calibrated each epoch) on the three data sets of
``density.py``, at ``learning_rate`` 1e-3 and 1e-2, seeds 0 and 1: held-out
nats per row with log Z exact (65,536 hidden states enumerated), so no AIS
estimate stands between the figures. The check: the fit of ``n_iter=100`` at
least that of ``n_iter=25``, within ``TOLERANCE`` nats per row (with the
decay schedule the longer fit is the shorter one continued at a falling
step). Writes
``benchmarks/results/more_epochs.txt``.
"""

import argparse
import time
import warnings
from pathlib import Path

from sklearn_grbm import GaussianBernoulliRBM

try:  # run as a module of the benchmarks package (the tests) or as a script
    from benchmarks._report import Report
    from benchmarks.density import datasets
except ImportError:  # pragma: no cover
    from _report import Report
    from density import datasets

RESULTS = Path(__file__).parent / "results"
#: "No worse" allows this many nats per row: one fit's wander between epochs
#: (a CD fit of 16 units on natural patches moves by ~10 nats from epoch to
#: epoch, and with the number of threads).
TOLERANCE = 1.0


def held_out(X_train, X_test, n_components, n_iter, learning_rate, seed):
    model = GaussianBernoulliRBM(
        n_components=n_components, n_iter=n_iter, learning_rate=learning_rate, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a FitQualityWarning is the table's to show
        model.fit(X_train)
    return float(model.score_samples(X_test).mean())


def check(scores, short, long):
    """'met' when the ``long``-epoch fit is at least the ``short`` one's within TOLERANCE."""
    gain = scores[long] - scores[short]
    return ("met" if gain >= -TOLERANCE else "NOT met"), gain


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 and 4 epochs on 300 rows")
    args = parser.parse_args(argv)
    out = Report()
    epochs = (2, 4) if args.quick else (25, 50, 100, 200)
    short, long = (2, 4) if args.quick else (25, 100)
    n_components = 16
    out(f"GRBM({n_components}), the defaults; held-out nats per row, exact log Z")
    out(f"{'data':26s} {'lr':>6s} seed " + " ".join(f"{e:>4d} ep" for e in epochs) + "  check")
    verdicts = []
    for name, (X_train, X_test, _, _) in datasets(args.quick).items():
        if args.quick:
            X_train, X_test = X_train[:300], X_test[:200]
        for learning_rate in (1e-3, 1e-2):
            for seed in (0,) if args.quick else (0, 1):
                start = time.perf_counter()
                scores = {
                    n: held_out(X_train, X_test, n_components, n, learning_rate, seed)
                    for n in epochs
                }
                verdict, gain = check(scores, short, long)
                verdicts.append(verdict)
                out(
                    f"{name:26s} {learning_rate:6.0e} {seed:4d} "
                    + " ".join(f"{scores[n]:7.2f}" for n in epochs)
                    + f"  {long} vs {short}: {gain:+.2f} {verdict}"
                    + f"  ({time.perf_counter() - start:.0f} s)"
                )
    out(f"(check: {long} epochs at least {short} epochs, within {TOLERANCE} nat per row)")
    out.save(RESULTS / ("more_epochs_quick.txt" if args.quick else "more_epochs.txt"))
    return verdicts


if __name__ == "__main__":
    main()
