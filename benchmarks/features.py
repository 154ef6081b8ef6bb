"""The defaults' hidden units as features for ``LogisticRegression``, beside raw pixels.

    python benchmarks/features.py           # digits, 10 splits; FashionMNIST, 3 seeds, 5 splits (~6 min)
    python benchmarks/features.py --quick   # 2 splits, 1 seed: a smoke test

The issue's use: ``make_pipeline(GaussianBernoulliRBM(n_components=250),
LogisticRegression(max_iter=2000))`` against ``LogisticRegression`` on the
pixels themselves, test accuracy.

* digits: ``train_test_split(test_size=0.3, random_state=s)`` for s = 0..9,
  the GRBM seeded with s. Raw pixels twice: on ``X / 16`` (what the
  GRBM sees; the GRBM does not depend on the units, ``LogisticRegression``'s
  penalty does) and on the counts 0..16.
* FashionMNIST images: the embedded 3,443 training and 1,000 test images
  (pixels / 255), the GRBM seeded 0, 1, 2; then the first 1,000 training
  images alone; then five random splits of all 4,443 images into 3,443 and
  1,000 (``train_test_split(test_size=1000, random_state=s)``, the GRBM
  seeded with s), where the embedded split's tie turns out to be luck.

Beside the defaults (25 epochs), their untrained start (``n_iter=0``: the
initial weights, random projections through a sigmoid, as a reference for
what training adds) and the levers measured: 100 epochs, sigma's step at 5
``learning_rate``, and ``learning_rate=1e-2``. On digits each adds
accuracy; on the FashionMNIST images the same levers do not. On the random
splits the defaults stand beside a fixed sigma (``learn_sigma=False``: each
column's sigma its standard deviation) and a slower sigma (0.3
``learning_rate``): a learned sigma falls to about half the columns' spread,
which saturates p(h|x), and the less it falls, the better the features and
the worse the likelihood.

Two rows say what the comparison is: ``LogisticRegression`` on the
*standardised* pixels (``StandardScaler`` first), the unit-free baseline the
GRBM's defaults are comparable to (they train in standardised coordinates and
do not depend on the units), and the GRBM with ``standardize=False`` and a
learned sigma starting at the pixels' overall spread (0.35), which, like
``LogisticRegression`` on raw pixels, depends on the units: the columns of
small spread (the border) keep a sigma many times theirs and barely move
the hidden units. Writes ``benchmarks/results/features.txt``.
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.datasets import load_fashion_mnist_subset

try:  # run as a script or as a module
    from benchmarks._report import Report
except ImportError:  # pragma: no cover
    from _report import Report

RESULTS = Path(__file__).parent / "results"

#: Name -> the GRBM's parameters besides ``n_components`` and ``random_state``.
CONFIGURATIONS = {
    "defaults": {},
    "the start (n_iter=0)": {"n_iter": 0},
    "100 epochs": {"n_iter": 100},
    "sigma step 5 x learning_rate": {"sigma_learning_rate": 5e-3},
    "learning_rate=1e-2": {"learning_rate": 1e-2},
}


def classifier():
    return LogisticRegression(max_iter=2000)


def accuracy(X_train, y_train, X_test, y_test, seed=None, n_components=250, **params):
    """Test accuracy of LogisticRegression on the pixels (``seed=None``), on
    the standardised pixels (``seed="standardised"``) or on the features of a
    GRBM fitted with ``params``."""
    if seed is None:
        model = classifier()
    elif seed == "standardised":
        model = make_pipeline(StandardScaler(), classifier())
    else:
        rbm = GaussianBernoulliRBM(n_components=n_components, random_state=seed, **params)
        model = make_pipeline(rbm, classifier())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return float(model.fit(X_train, y_train).score(X_test, y_test))


def digits_splits(n_splits):
    X, y = load_digits(return_X_y=True)
    for seed in range(n_splits):
        yield seed, train_test_split(X, y, test_size=0.3, random_state=seed)


def fashion_split():
    X, y = load_fashion_mnist_subset(subset="train", return_X_y=True)
    X_test, y_test = load_fashion_mnist_subset(subset="test", return_X_y=True)
    return X, y, X_test, y_test


#: The random splits' configurations: how far sigma falls.
RESPLIT_CONFIGURATIONS = {
    "defaults": {},
    "the start (n_iter=0)": {"n_iter": 0},
    "learn_sigma=False": {"learn_sigma": False},
    "sigma step 0.3 x learning_rate": {"sigma_learning_rate": 3e-4},
    "standardize=False, sigma=0.35": {"standardize": False, "sigma": 0.35},
}


def fashion_resplits(seeds, configurations, out, test_size=1000):
    """Random splits of all the embedded images, ``test_size`` of them held
    out, the GRBM seeded as the split; each split's raw-pixel accuracy is its
    reference."""
    X, y, X_test, y_test = fashion_split()
    X, y = np.vstack([X, X_test]), np.concatenate([y, y_test])
    splits = [train_test_split(X, y, test_size=test_size, random_state=s) for s in seeds]
    out(
        f"FashionMNIST images, random {len(X) - test_size} / {test_size} splits "
        f"of all {len(X)}, seeds {list(seeds)}: test accuracy"
    )
    raw = [accuracy(Xtr, ytr, Xte, yte) for Xtr, Xte, ytr, yte in splits]
    table = {"raw pixels": row("raw pixels", raw, raw, 0.0, out)}
    standardised = [accuracy(Xtr, ytr, Xte, yte, "standardised") for Xtr, Xte, ytr, yte in splits]
    table["standardised pixels"] = row("standardised pixels", standardised, raw, 0.0, out)
    for name, params in configurations.items():
        start = time.perf_counter()
        scores = [
            accuracy(Xtr, ytr, Xte, yte, seed, **params)
            for seed, (Xtr, Xte, ytr, yte) in zip(seeds, splits)
        ]
        seconds = (time.perf_counter() - start) / len(seeds)
        table[name] = row(name, scores, raw, seconds, out)
    return table


def row(name, accuracies, reference, seconds, out):
    """Print one configuration's line: accuracies, mean, how many at least
    the reference's (split by split)."""
    accuracies, reference = np.asarray(accuracies), np.asarray(reference)
    met = int(np.sum(accuracies >= reference))
    out(
        f"{name:30s} {' '.join(f'{a:.4f}' for a in accuracies)}   mean {accuracies.mean():.4f}"
        f"   >= raw {met}/{len(accuracies)}   {seconds:5.1f} s/fit"
    )
    return {"mean": float(accuracies.mean()), "at_least_raw": met, "n": len(accuracies)}


def digits_table(n_splits, configurations, out):
    splits = list(digits_splits(n_splits))
    out(f"digits, {n_splits} splits (test_size=0.3), 250 units: test accuracy")
    raw = [accuracy(Xtr / 16.0, ytr, Xte / 16.0, yte) for _, (Xtr, Xte, ytr, yte) in splits]
    counts = [accuracy(Xtr, ytr, Xte, yte) for _, (Xtr, Xte, ytr, yte) in splits]
    table = {"raw pixels / 16": row("raw pixels / 16", raw, raw, 0.0, out)}
    table["raw counts 0..16"] = row("raw counts 0..16", counts, raw, 0.0, out)
    standardised = [
        accuracy(Xtr, ytr, Xte, yte, "standardised") for _, (Xtr, Xte, ytr, yte) in splits
    ]
    table["standardised pixels"] = row("standardised pixels", standardised, raw, 0.0, out)
    for name, params in configurations.items():
        start = time.perf_counter()
        scores = [
            accuracy(Xtr / 16.0, ytr, Xte / 16.0, yte, seed, **params)
            for seed, (Xtr, Xte, ytr, yte) in splits
        ]
        seconds = (time.perf_counter() - start) / len(splits)
        table[name] = row(name, scores, raw, seconds, out)
    return table


def fashion_table(seeds, configurations, out, cut=None):
    X, y, X_test, y_test = fashion_split()
    X, y = X[:cut], y[:cut]
    out(f"FashionMNIST images, {len(X)} training rows, seeds {list(seeds)}: test accuracy")
    raw = accuracy(X, y, X_test, y_test)
    table = {"raw pixels": row("raw pixels", [raw], [raw], 0.0, out)}
    for name, params in configurations.items():
        start = time.perf_counter()
        scores = [accuracy(X, y, X_test, y_test, seed, **params) for seed in seeds]
        seconds = (time.perf_counter() - start) / len(seeds)
        table[name] = row(name, scores, [raw] * len(seeds), seconds, out)
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 splits, 1 seed, 1,000 images")
    args = parser.parse_args(argv)
    out = Report()
    configurations = {"defaults": {}} if args.quick else CONFIGURATIONS
    tables = {
        "digits": digits_table(2 if args.quick else 10, configurations, out),
    }
    out()
    seeds, cut = ((0,), 1000) if args.quick else ((0, 1, 2), None)
    tables["fashion"] = fashion_table(seeds, configurations, out, cut)
    if not args.quick:
        out()
        tables["fashion, 1,000 rows"] = fashion_table(seeds, configurations, out, 1000)
        out()
        tables["fashion, random splits"] = fashion_resplits(
            (10, 11, 12, 13, 14), RESPLIT_CONFIGURATIONS, out
        )
    out(
        "(>= raw: splits or seeds where the accuracy is at least raw pixels' "
        "(digits: / 16), split by split)"
    )
    out.save(RESULTS / ("features_quick.txt" if args.quick else "features.txt"))
    return tables


if __name__ == "__main__":
    main()
