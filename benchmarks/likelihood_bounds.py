"""How wide the bracket of log p(x) is, against the number of temperatures.

    python benchmarks/likelihood_bounds.py           # about 10 minutes on 2 CPU cores
    python benchmarks/likelihood_bounds.py --quick   # small models, a smoke test

For GRBMs trained with the defaults (25 epochs) on digits and on the embedded
FashionMNIST images (16 to 500 hidden units), ``log_likelihood_bounds`` on
held-out rows at 250 to 4,000 inverse temperatures: the mean lower bound
(RAISE), the mean upper bound (forward AIS), their gap and the seconds each
took; where log Z is exact, the exact mean as well. Writes
``benchmarks/results/likelihood_bounds.txt``.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from sklearn_grbm import AISWarning, GaussianBernoulliRBM
from sklearn_grbm.datasets import load_fashion_mnist_subset

try:  # run as a script or as a module
    from benchmarks._report import Report
except ImportError:  # pragma: no cover
    from _report import Report

RESULTS = Path(__file__).parent / "results"


def data(quick):
    rng = np.random.RandomState(0)
    digits = ((load_digits().data + rng.uniform(size=(1797, 64))) / 17.0).astype(np.float32)
    order = rng.permutation(len(digits))
    fashion = load_fashion_mnist_subset(dtype=np.uint8).data.astype(np.float64)
    fashion = ((fashion + rng.uniform(size=fashion.shape)) / 256.0).astype(np.float32)
    n_test = 50 if quick else 200
    return {
        "digits": (digits[order[:1400]], digits[order[1400:]][:n_test], (16, 100, 500)),
        "FashionMNIST": (fashion[:3443], fashion[3443:][:n_test], (16, 100, 250, 500)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", nargs="+", default=["digits", "FashionMNIST"])
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--betas", type=int, nargs="+", default=[250, 1000, 4000])
    args = parser.parse_args(argv)
    temperatures = (50, 200) if args.quick else tuple(args.betas)
    out = Report()
    out("Bracket of held-out log p(x) (nats per row), defaults trained 25 epochs")
    out(
        f"{'data':<14}{'units':>6}{'betas':>7}{'lower':>11}{'upper':>11}{'gap':>8}"
        f"{'exact':>11}{'seconds':>9}"
    )
    table = []
    for name, (X_train, X_test, sizes) in data(args.quick).items():
        if name not in args.data:
            continue
        sizes = args.sizes or sizes
        for size in sizes[:1] if args.quick else sizes:
            epochs = 2 if args.quick else 25
            model = GaussianBernoulliRBM(n_components=size, n_iter=epochs, random_state=0)
            model.fit(X_train if not args.quick else X_train[:300])
            exact = "-"
            if size <= 16:  # 2^16 hidden states: log Z enumerated (no AIS run needed)
                exact = f"{model.score_samples(X_test).mean():11.2f}"
            for n_betas in temperatures:
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", AISWarning)  # the bracket shows it
                    bounds = model.log_likelihood_bounds(X_test, n_betas=n_betas, random_state=0)
                seconds = time.perf_counter() - start
                lower, upper = float(bounds.lower.mean()), float(bounds.upper.mean())
                table.append((name, size, n_betas, lower, upper, seconds))
                out(
                    f"{name:<14}{size:>6}{n_betas:>7}{lower:>11.2f}{upper:>11.2f}"
                    f"{upper - lower:>8.2f}{exact:>11}{seconds:>9.1f}"
                )
    suffix = "_quick" if args.quick else "_" + "_".join(args.data)
    out.save(RESULTS / f"likelihood_bounds{suffix}.txt")
    return table


if __name__ == "__main__":
    main()
