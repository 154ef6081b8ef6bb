"""
Quick start: the seed notebook's hidden-size sweep on natural image patches
==========================================================================

The seed notebook trains a Gaussian-Bernoulli RBM on FashionMNIST with CD-1
and Adam at 10, 50, 100 and 250 hidden units and picks the size with the
lowest test reconstruction error. This script runs the same sweep, shortened,
on 28 x 28 grey patches of scikit-learn's sample photographs (embedded, no
download), twice:

* the notebook's model (sigma fixed at 1), where the reconstruction error is
  the measure, and
* the package's default (sigma learned), where the log-likelihood is.

Run it with ``python examples/quickstart.py`` (about two minutes on a 2-core
CPU); ``--epochs`` and ``--n-train`` make it longer or shorter.
"""

import argparse
import time

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.datasets import load_patches
from sklearn_grbm.experiment import best_size, format_table, hidden_size_sweep


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-test", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100, 250])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    X_train = load_patches(args.n_train, random_state=args.seed)
    X_test = load_patches(args.n_test, subset="test", random_state=args.seed + 1)
    print(
        f"natural image patches: {X_train.shape[0]} train, {X_test.shape[0]} test, "
        f"{X_train.shape[1]} features; {args.epochs} epochs per model\n"
    )
    settings = [
        ("the notebook's model: sigma fixed at 1", dict(learn_sigma=False, sigma=1.0)),
        ("the default: sigma learned", dict()),
    ]
    for title, params in settings:
        estimator = GaussianBernoulliRBM(
            n_iter=args.epochs, device=args.device, random_state=args.seed, **params
        )
        print(title)
        rows = hidden_size_sweep(estimator, X_train, X_test, args.sizes, random_state=args.seed)
        print(format_table(rows))
        print(
            f"best hidden size by protocol MSE: {best_size(rows)}; by test log-likelihood: "
            f"{max(rows, key=lambda r: r['log_likelihood'])['n_components']}"
            f" (device {rows[0]['model'].device_})\n"
        )
    print(
        "test MSE: mean-field reconstruction b + W^T p(h|x); protocol MSE: the notebook's "
        "(h sampled, clipped to [0, 1]);\ntest log p(x): nats per patch, log Z exact or by "
        "AIS as marked."
    )
    print(f"total time {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()
