"""The seed notebook's experiment as one command: ``sklearn-grbm`` or
``python -m sklearn_grbm``.

Trains a GRBM at several hidden sizes, prints a table of test reconstruction
errors (mean-field, and the notebook's protocol), log-likelihoods and fit
times, names the best size and writes the figures to ``--out``.
"""

import argparse
import importlib.util
import sys
import time
from pathlib import Path

from ._device import resolve_device
from ._rbm import GaussianBernoulliRBM
from ._training import resolve_batch_size
from .datasets import load_dataset
from .experiment import best_size, evaluate, format_table, hidden_size_sweep

FULL_PATCHES = (60000, 10000)

#: AIS temperatures of the main job's log-likelihoods (100 chains; the
#: estimator's default would double them while unsure, which here costs
#: minutes): the table shows the standard error and flags unsure estimates.
MAIN_JOB_AIS_BETAS = 1000

#: The seed notebook's model and training: sigma fixed at 1 in the data's units.
NOTEBOOK_MODEL = dict(standardize=False, learn_sigma=False, sigma=1.0)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-grbm",
        description="Train Gaussian-Bernoulli RBMs at several hidden sizes and compare "
        "their test reconstruction errors and log-likelihoods (the seed notebook's "
        "experiment), beside the notebook's own training loop on the same split.",
    )
    parser.add_argument(
        "--dataset",
        default="fashion-mnist-subset",
        help="'fashion-mnist-subset' (4,443 real FashionMNIST images, embedded; default), "
        "'patches' (28x28 natural image patches, embedded), 'digits', 'fashion-mnist' "
        "(the full set, downloaded when online), or a .npy/.npz/.csv file",
    )
    parser.add_argument(
        "--n-components", type=int, nargs="+", default=[10, 50, 100, 250], metavar="M"
    )
    parser.add_argument("--epochs", type=int, default=None, help="epochs per model (default 25)")
    parser.add_argument("--n-train", type=int, default=None, help="training rows")
    parser.add_argument("--n-test", type=int, default=None, help="test rows")
    parser.add_argument(
        "--notebook-model",
        action="store_true",
        help="train the notebook's model (sigma fixed at 1 in pixel units, no "
        "standardising) instead of the estimator's defaults",
    )
    parser.add_argument(
        "--no-notebook-loop",
        action="store_true",
        help="skip the seed notebook's own loop (run from a checkout, it trains beside ours)",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cv",
        action="store_true",
        help="choose the size by 3-fold GridSearchCV on the training data",
    )
    parser.add_argument(
        "--out",
        default="results",
        help="directory for the figures and the table (default: results)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="patches and fashion-mnist: all the data (patches: 60,000 x 784)",
    )
    parser.add_argument("--data-home", default=None, help="cache directory for downloaded data")
    return parser


def notebook_baseline(X_train, X_test, *, epochs, device, seed):
    """``baseline(n_components)`` running the seed notebook's own loop on the
    same split, or None where its code is not at hand (it lives in the
    project's ``tests/``, beside an editable install's package)."""
    path = Path(__file__).resolve().parents[1] / "tests" / "notebook_loop.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("sklearn_grbm_notebook_loop", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch_device = str(resolve_device(device))

    def baseline(n_components):
        start = time.perf_counter()
        _, mse = module.run_notebook(
            X_train, X_test, n_components, epochs=epochs, device=torch_device, seed=seed
        )
        return mse, time.perf_counter() - start

    return baseline


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
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} epochs  "
            f"{label}  {elapsed:.0f}s"
        )
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def main(argv=None):
    args = build_parser().parse_args(argv)
    epochs = 25 if args.epochs is None else args.epochs
    n_train, n_test = args.n_train, args.n_test
    if args.full and args.dataset == "patches":
        n_train, n_test = n_train or FULL_PATCHES[0], n_test or FULL_PATCHES[1]
    try:
        X_train, X_test, image_shape = load_dataset(
            args.dataset,
            n_train=n_train,
            n_test=n_test,
            random_state=args.seed,
            data_home=args.data_home,
        )
    except (ConnectionError, FileNotFoundError, ValueError, ImportError) as exc:
        print(f"sklearn-grbm: error: {exc}", file=sys.stderr)
        return 2
    clip = (float(X_train.min()), float(X_train.max()))
    options = NOTEBOOK_MODEL if args.notebook_model else {}
    estimator = GaussianBernoulliRBM(
        n_iter=epochs, device=args.device, random_state=args.seed, **options
    )
    model_name = (
        "the notebook's model (sigma fixed at 1)"
        if args.notebook_model
        else "the defaults (standardised, sigma learned, exact sampling up to 10 units)"
    )
    batch = resolve_batch_size(estimator.batch_size, X_train.shape[0], estimator.standardize)
    print(
        f"{args.dataset}: {X_train.shape[0]} train and {X_test.shape[0]} test rows of "
        f"{X_train.shape[1]} features; {model_name}; {epochs} epochs, Adam 1e-3, batch {batch}"
    )
    start = time.perf_counter()
    try:
        if args.cv:
            rows, best = _cross_validated(estimator, X_train, X_test, args, clip)
        else:
            baseline = None
            if not args.no_notebook_loop:
                baseline = notebook_baseline(
                    X_train, X_test, epochs=epochs, device=args.device, seed=args.seed
                )
                if baseline is None:
                    print("(the notebook's loop lives in a checkout's tests/: not run here)")
            bar = ProgressBar(len(args.n_components) * epochs)
            rows = hidden_size_sweep(
                estimator,
                X_train,
                X_test,
                args.n_components,
                clip=clip,
                random_state=args.seed,
                progress=lambda i, epoch: bar.update(f"M={args.n_components[i]} epoch {epoch}"),
                baseline=baseline,
                n_betas=MAIN_JOB_AIS_BETAS,
            )
            print(format_table(rows))
            best = best_size(rows)
    except ValueError as exc:
        print(f"sklearn-grbm: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"best hidden size: {best} (device {rows[0]['model'].device_}, "
        f"{time.perf_counter() - start:.0f}s)"
    )
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
        args.n_components,
        search.cv_results_["mean_test_score"],
        search.cv_results_["std_test_score"],
    ):
        print(f"{size:>6}  {-mean:>9.4f}  {std:>7.4f}")
    best = search.best_params_["n_components"]
    model = search.best_estimator_
    row = evaluate(model, X_test, clip=clip, random_state=args.seed)
    row["fit_seconds"] = search.refit_time_
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
