"""The seed paper's experiment on natural image patches, at a size a laptop runs.

    python benchmarks/natural_patches.py [--patch-size 8] [--epochs 20]

Grey patches of scikit-learn's two sample photographs (test patches from
parts of the photographs no training patch touches); each patch's mean
removed, PCA-whitened with the training covariance, the null direction (the
removed mean) dropped. GRBMs with as many hidden units as dimensions, trained
by CD-1, PCD and parallel tempering, with sigma fixed at 1 (the whitened
data's scale) and learned, from the default initialisation and from the
anchored one (``hidden_bias_init="anchored"``, weights of norm about 4, normal
or in opposite orthogonal pairs with ``weight_init="orthogonal"``), are
compared by held-out log-likelihood per dimension (log Z by AIS) against the
Gaussian that whitening implies. Writes
the table and a figure of the best model's filters, mapped back to pixels,
to ``benchmarks/results/``.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.datasets import load_patches

try:  # run as a script or as a module
    from benchmarks._report import Report
except ImportError:  # pragma: no cover
    from _report import Report

RESULTS = Path(__file__).parent / "results"


def whitened_patches(patch_size, n_train, n_test, random_state=0):
    """Train and test patches, DC removed, whitened; and the map back to pixels."""
    train = load_patches(n_train, patch_size=patch_size, random_state=random_state, dtype=np.float64)
    test = load_patches(n_test, patch_size=patch_size, subset="test", random_state=random_state + 1, dtype=np.float64)
    train -= train.mean(axis=1, keepdims=True)
    test -= test.mean(axis=1, keepdims=True)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(train, rowvar=False))
    keep = eigenvalues > eigenvalues.max() * 1e-10  # drops the DC direction
    E, d = eigenvectors[:, keep], eigenvalues[keep]
    whiten = E / np.sqrt(d)  # pixels -> whitened, (P^2, D)
    dewhiten = (E * np.sqrt(d)).T  # whitened -> pixels, (D, P^2)
    return train @ whiten, test @ whiten, dewhiten


def gaussian_log_likelihood(X):
    """log N(x; 0, I) per row: the density that whitening implies."""
    return -0.5 * X.shape[1] * np.log(2 * np.pi) - 0.5 * np.sum(X**2, axis=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patch-size", type=int, default=8)
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-test", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    args = parser.parse_args(argv)

    X, X_test, dewhiten = whitened_patches(args.patch_size, args.n_train, args.n_test)
    D = X.shape[1]
    out = Report()
    out(
        f"{args.patch_size}x{args.patch_size} patches, DC removed and whitened: D = {D}; "
        f"{len(X)} train, {len(X_test)} test; {D} hidden units, {args.epochs} epochs, Adam {args.learning_rate:g}"
    )
    baseline = gaussian_log_likelihood(X_test).mean() / D
    out(f"{'model':<44}{'log p(x) / dim':>15}{'AIS s.e.':>10}{'fit':>8}")
    out(f"{'Gaussian (whitening)':<44}{baseline:>15.4f}{'-':>10}{'-':>8}")
    best = None
    anchored = dict(weight_scale=4.0 / np.sqrt(D), hidden_bias_init="anchored")
    inits = (
        ("default init", {}),
        ("anchored init", anchored),
        ("orthogonal anchored", dict(anchored, weight_init="orthogonal")),
    )
    for init_name, init in inits:
        for sampler in ("cd", "pcd", "pt"):
            for learn_sigma in (False, True):
                model = GaussianBernoulliRBM(
                    n_components=D,
                    n_iter=args.epochs,
                    learning_rate=args.learning_rate,
                    sampler=sampler,
                    n_temperatures=10,
                    learn_sigma=learn_sigma,
                    random_state=0,
                    **init,
                )
                start = time.perf_counter()
                model.fit(X)
                seconds = time.perf_counter() - start
                log_z = model.log_partition("ais", random_state=0)
                per_dim = model.score_samples(X_test).mean() / D
                name = f"{sampler.upper()}, {init_name}, sigma {'learned' if learn_sigma else 'fixed'}"
                out(f"{name:<44}{per_dim:>15.4f}{log_z.stderr / D:>10.4f}{seconds:>7.0f}s")
                if best is None or per_dim > best[0]:
                    best = (per_dim, name, model)
    out(f"best: {best[1]}, {best[0] - baseline:+.4f} nats per dimension over the Gaussian")

    out.save(RESULTS / "natural_patches.txt")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from sklearn_grbm.plotting import plot_filters

        filters = best[2].components_ @ dewhiten  # back to pixel space
        fig = plot_filters(filters, (args.patch_size, args.patch_size), n_filters=64,
                           title=f"Best model: {best[1]}\n(filters in pixel space)")
        fig.savefig(RESULTS / "natural_patches_filters.png", dpi=80)
        plt.close(fig)
    except ImportError:  # pragma: no cover - matplotlib is an optional extra
        pass


if __name__ == "__main__":
    main()
