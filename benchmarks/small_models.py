"""Small models: what the defaults' exact sampling and spread start buy.

    python benchmarks/small_models.py            # about 3 minutes on 2 CPU cores
    python benchmarks/small_models.py --quick    # one seed, 300 training rows

Models of at most 10 hidden units (when standardising) train by default with
``sampler="exact"`` (the negative phase drawn from the model itself, its
2^M hidden states enumerated) from a spread start (``weight_init=
"orthogonal"``, rows of norm 2, ``hidden_bias_init="anchored"``). Beside them,
on the digits and the FashionMNIST images of ``density.py`` (held-out nats
per row, dequantised pixels, log Z exact): CD-1 from Glorot's start (the
defaults before), and exact sampling from Glorot's start; and the protocol
reconstruction MSE (h sampled, no clipping). Writes
``benchmarks/results/small_models.txt``.
"""

import argparse
import math
import warnings
from pathlib import Path

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.experiment import protocol_mse

try:  # run as a module of the benchmarks package (the tests) or as a script
    from benchmarks._report import Report
    from benchmarks.density import datasets, gaussian_score
except ImportError:  # pragma: no cover
    from _report import Report
    from density import datasets, gaussian_score

RESULTS = Path(__file__).parent / "results"


def configurations(n_components, n_features):
    glorot = dict(
        weight_init="normal",
        hidden_bias_init="zeros",
        weight_scale=1.0 / math.sqrt(n_features + n_components),
    )
    return {
        "CD-1, Glorot start": dict(glorot, sampler="cd", n_gibbs_steps=1),
        "exact, Glorot start": dict(glorot, sampler="exact"),
        "defaults": {},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 300 training rows")
    args = parser.parse_args(argv)
    seeds = (0,) if args.quick else (0, 1)
    out = Report()
    out("Small GRBMs, 25 epochs: held-out nats per row (exact log Z) / protocol MSE")
    out(
        f"{'data':<22} {'M':>3} {'configuration':<22}"
        + "".join(f"{'seed ' + str(s):>18}" for s in seeds)
    )
    rows = []
    warnings.simplefilter("ignore")  # quality warnings of the small fits are not the point
    for name, (X_train, X_test, _, _) in list(datasets(args.quick).items())[:2]:
        out(f"{name:<22} diagonal Gaussian: {gaussian_score(X_train, X_test):.2f}")
        for n_components in (4, 10):
            for label, params in configurations(n_components, X_train.shape[1]).items():
                cells = []
                for seed in seeds:
                    rbm = GaussianBernoulliRBM(
                        n_components=n_components, random_state=seed, **params
                    )
                    rbm.fit(X_train)
                    score = float(rbm.score_samples(X_test).mean())
                    mse = protocol_mse(rbm, X_test, clip=None, random_state=seed)
                    rows.append((name, n_components, label, seed, score, mse))
                    cells.append(f"{score:9.2f} / {mse:.4f}")
                out(
                    f"{name:<22} {n_components:>3} {label:<22}" + "".join(f"{c:>18}" for c in cells)
                )
    out.save(RESULTS / ("small_models_quick.txt" if args.quick else "small_models.txt"))
    return rows


if __name__ == "__main__":
    main()
