"""The seed notebook's experiment as one command: ``sklearn-grbm`` or
``python -m sklearn_grbm``.

Trains a GRBM at several hidden sizes, prints a table of test reconstruction
errors (mean-field, and the notebook's protocol), log-likelihoods and fit
times, names the best size and writes the figures to ``--out``.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ._rbm import GaussianBernoulliRBM
from .datasets import load_dataset
from .experiment import best_size, format_table, hidden_size_sweep, protocol_mse

FULL_PATCHES = (60000, 10000)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-grbm",
        description="Train Gaussian-Bernoulli RBMs at several hidden sizes and compare "
        "their test reconstruction errors (the seed notebook's experiment).",
    )
    parser.add_argument(
        "--dataset",
        default="patches",
        help="'patches' (28x28 natural image patches, embedded; default), 'digits', "
        "'fashion-mnist' (downloaded when online), or a .npy/.npz/.csv file",
    )
    parser.add_argument("--n-components", type=int, nargs="+", default=[10, 50, 100, 250], metavar="M")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per model (default 10; --full: 25)")
    parser.add_argument("--n-train", type=int, default=None, help="training rows (patches: 20000)")
    parser.add_argument("--n-test", type=int, default=None, help="test rows (patches: 5000)")
    parser.add_argument("--learn-sigma", action="store_true", help="learn sigma (default: fixed at 1, as the notebook)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cv", action="store_true", help="choose the size by 3-fold GridSearchCV on the training data")
    parser.add_argument("--out", default="results", help="directory for the figures and the table (default: results)")
    parser.add_argument("--full", action="store_true", help="the notebook's complete protocol: all data, 25 epochs")
    parser.add_argument("--data-home", default=None, help="cache directory for downloaded data")
    return parser


class ProgressBar:
    """A one-line progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.start = time.perf_counter()
        self.enabled = hasattr(stream, "isatty") and stream.isatty()

    def update(self, label):
        self.done += 1
        if not self.enabled:
            return
        filled = int(30 * self.done / self.total)
        elapsed = time.perf_counter() - self.start
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} epochs  {label}  {elapsed:.0f}s"
        )
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def main(argv=None):
    args = build_parser().parse_args(argv)
    epochs = 25 if args.full and args.epochs == 10 else args.epochs
    n_train, n_test = args.n_train, args.n_test
    if args.full and args.dataset == "patches":
        n_train, n_test = n_train or FULL_PATCHES[0], n_test or FULL_PATCHES[1]
    try:
        X_train, X_test, image_shape = load_dataset(
            args.dataset, n_train=n_train, n_test=n_test, random_state=args.seed, data_home=args.data_home
        )
    except (ConnectionError, FileNotFoundError, ValueError, ImportError) as exc:
        print(f"sklearn-grbm: error: {exc}", file=sys.stderr)
        return 2
    clip = (float(X_train.min()), float(X_train.max()))
    estimator = GaussianBernoulliRBM(
        n_iter=epochs,
        learn_sigma=args.learn_sigma,
        device=args.device,
        random_state=args.seed,
    )
    print(
        f"{args.dataset}: {X_train.shape[0]} train and {X_test.shape[0]} test rows of "
        f"{X_train.shape[1]} features; sigma {'learned' if args.learn_sigma else 'fixed at 1'}; "
        f"{epochs} epochs, CD-1, Adam 1e-3, batch 128"
    )
    start = time.perf_counter()
    try:
        if args.cv:
            rows, best = _cross_validated(estimator, X_train, X_test, args, clip)
        else:
            bar = ProgressBar(len(args.n_components) * epochs)
            rows = hidden_size_sweep(
                estimator,
                X_train,
                X_test,
                args.n_components,
                clip=clip,
                random_state=args.seed,
                progress=lambda i, epoch: bar.update(f"M={args.n_components[i]} epoch {epoch}"),
            )
            print(format_table(rows))
            best = best_size(rows)
    except ValueError as exc:
        print(f"sklearn-grbm: error: {exc}", file=sys.stderr)
        return 2
    print(f"best hidden size: {best} (device {rows[0]['model'].device_}, {time.perf_counter() - start:.0f}s)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.txt").write_text(format_table(rows) + f"\nbest hidden size: {best}\n")
    written = write_figures(rows, best, X_test, image_shape, clip, out, args.seed)
    print(f"wrote {out / 'results.txt'}" + "".join(f", {path.name}" for path in written))
    return 0


def _cross_validated(estimator, X_train, X_test, args, clip):
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(estimator, {"n_components": list(args.n_components)}, cv=3)
    search.fit(X_train)
    print(f"{'hidden':>6}  {'CV MSE':>9}  {'+/-':>7}")
    for size, mean, std in zip(
        args.n_components, search.cv_results_["mean_test_score"], search.cv_results_["std_test_score"]
    ):
        print(f"{size:>6}  {-mean:>9.4f}  {std:>7.4f}")
    best = search.best_params_["n_components"]
    model = search.best_estimator_
    row = {
        "n_components": best,
        "mse": -model.score(X_test),
        "protocol_mse": protocol_mse(model, X_test, clip=clip, random_state=args.seed),
        "log_likelihood": float(np.mean(model.score_samples(X_test))),
        "log_z_method": model.log_partition().method,
        "fit_seconds": search.refit_time_,
        "model": model,
    }
    print("the chosen size, refitted on all training data, on the test set:")
    print(format_table([row]))
    return [row], best


def write_figures(rows, best, X_test, image_shape, clip, out, seed):
    """Write the PNG figures; returns their paths (none without matplotlib)."""
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is an optional extra
        print("matplotlib is not installed: no figures (pip install 'sklearn-grbm[examples]')")
        return []
    matplotlib.use("Agg")  # files only: never open a window
    import matplotlib.pyplot as plt

    from . import plotting

    model = next(row["model"] for row in rows if row["n_components"] == best)
    figures = {
        "training_curves.png": plotting.plot_training_curves(
            {row["n_components"]: row["model"].reconstruction_error_curve_ for row in rows}
        )
    }
    if len(rows) > 1:
        figures["mse_vs_hidden_size.png"] = plotting.plot_mse_vs_size(rows)
    if image_shape is not None:
        sample = X_test[:32]
        figures["reconstructions.png"] = plotting.plot_reconstructions(
            sample, model.reconstruct(sample), image_shape, title=f"Reconstruction (M={best})"
        )
        figures["filters.png"] = plotting.plot_filters(model.components_, image_shape)
        figures["samples.png"] = plotting.plot_samples(
            model.sample(64, n_steps=1000, mean=True, random_state=seed),
            image_shape,
            value_range=clip,
            title="Samples from the model (mean of p(v|h), 1000 Gibbs steps)",
        )
    paths = []
    for name, figure in figures.items():
        figure.savefig(out / name, dpi=80)
        plt.close(figure)
        paths.append(out / name)
    return paths
