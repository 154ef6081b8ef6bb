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
Gaussian that whitening implies.

A second section scores the same test patches under a model of contrast
alone (an isotropic Gaussian scale mixture) and one of directions alone (ICA
with Laplace sources), beside the best GRBM: on these photographs most of the
likelihood is in contrast, which a GRBM (one sigma for all its components)
cannot model. A third trains the best recipe on patches with their contrast
taken out (the high-contrast half, whitened, each scaled to norm sqrt(D)),
where its filters become localised, oriented edges.

A last section asks whether the likelihood favours edge filters at all on
these photographs, contrast left in: on larger patches (14 x 14 by default, the paper's size) it
trains one GRBM from random orthogonal weights and one whose weights start at
FastICA's filters (edges), and reports both held-out likelihoods and how close
each model's filters stay to FastICA's (mean over units of the largest |cos|).

Writes the tables and figures of the best model's filters (mapped back to
pixels), of the contrast-normalised model's and of both last-section models (ZCA-whitened space, where filters
are shown as pixels) to ``benchmarks/results/``.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.datasets import load_patches

try:  # run as a script or as a module
    from benchmarks._report import Report
except ImportError:  # pragma: no cover
    from _report import Report

RESULTS = Path(__file__).parent / "results"


def principal_basis(train):
    """The principal directions ``E`` (P^2, D) of mean-removed patches and
    their variances ``d``, the null direction of the removed mean dropped."""
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(train, rowvar=False))
    keep = eigenvalues > eigenvalues.max() * 1e-10
    return eigenvectors[:, keep], eigenvalues[keep]


def fit_ica(X):
    """FastICA's unmixing of already whitened rows (its filters: edges)."""
    from sklearn.decomposition import FastICA

    return FastICA(whiten=False, max_iter=400, random_state=0).fit(X)


def whitened_patches(patch_size, n_train, n_test, random_state=0, return_basis=False):
    """Train and test patches, DC removed, whitened; and the map back to pixels.

    With ``return_basis``, also the (P^2, D) orthonormal principal directions
    ``E``: ``w @ E.T`` shows a weight vector in ZCA-whitened pixel space.
    """
    train = load_patches(
        n_train, patch_size=patch_size, random_state=random_state, dtype=np.float64
    )
    test = load_patches(
        n_test,
        patch_size=patch_size,
        subset="test",
        random_state=random_state + 1,
        dtype=np.float64,
    )
    train -= train.mean(axis=1, keepdims=True)
    test -= test.mean(axis=1, keepdims=True)
    E, d = principal_basis(train)
    whiten = E / np.sqrt(d)  # pixels -> whitened, (P^2, D)
    dewhiten = (E * np.sqrt(d)).T  # whitened -> pixels, (D, P^2)
    if return_basis:
        return train @ whiten, test @ whiten, dewhiten, E
    return train @ whiten, test @ whiten, dewhiten


def contrast_normalized_patches(patch_size, n_train, n_test, keep=0.5, random_state=0):
    """Whitened patches with their contrast taken out, and the whitening basis.

    Patches are cut and their means removed as in :func:`whitened_patches`;
    only those whose pixel standard deviation is above the training patches'
    ``1 - keep`` quantile are kept (flat sky and blur are dropped), the rest
    are whitened with the training covariance and each is scaled to norm
    sqrt(D), so only the direction of a patch is left to model.
    """

    def cut(n, subset, seed, threshold=None):
        X = load_patches(
            int(2 * n / keep) + 100,
            patch_size=patch_size,
            subset=subset,
            random_state=seed,
            dtype=np.float64,
        )
        X -= X.mean(axis=1, keepdims=True)
        spread = X.std(axis=1)
        if threshold is None:
            threshold = np.quantile(spread, 1.0 - keep)
        X = X[spread > threshold][:n]
        if len(X) < n:  # pragma: no cover - only for extreme keep
            raise ValueError(f"only {len(X)} patches above the contrast threshold")
        return X, threshold

    train, threshold = cut(n_train, "train", random_state)
    test, _ = cut(n_test, "test", random_state + 1, threshold)
    E, d = principal_basis(train)
    X, X_test = train @ (E / np.sqrt(d)), test @ (E / np.sqrt(d))
    D = X.shape[1]
    X *= np.sqrt(D) / np.linalg.norm(X, axis=1, keepdims=True)
    X_test *= np.sqrt(D) / np.linalg.norm(X_test, axis=1, keepdims=True)
    return X, X_test, E


def scale_mixture_log_likelihood(X, X_test, n_scales=3, n_iter=200):
    """log p(x) per test row under an isotropic Gaussian scale mixture fitted
    to X by EM: sum_k pi_k N(x; 0, s_k^2 I). It models a patch's contrast and
    nothing of its direction. Returns the log-likelihoods, scales and weights."""
    D = X.shape[1]
    r2 = np.sum(X**2, axis=1)
    variances = np.quantile(r2 / D, np.linspace(0.1, 0.9, n_scales))
    weights = np.full(n_scales, 1.0 / n_scales)

    def log_joint(r2):
        return (
            np.log(weights)
            - 0.5 * D * np.log(2 * np.pi * variances)
            - 0.5 * r2[:, None] / variances
        )

    for _ in range(n_iter):
        joint = log_joint(r2)
        resp = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
        weights = resp.mean(axis=0)
        variances = (resp * r2[:, None]).sum(axis=0) / (D * resp.sum(axis=0))
    return logsumexp(log_joint(np.sum(X_test**2, axis=1)), axis=1), np.sqrt(variances), weights


def ica_log_likelihood(X, X_test, ica):
    """log p(x) per test row under ICA with Laplace sources: FastICA's
    (orthogonal) unmixing on whitened data, each source's scale fitted on X.
    It models directions (edges) and nothing of contrast."""
    S, S_test = X @ ica.components_.T, X_test @ ica.components_.T
    scales = np.abs(S).mean(axis=0)
    log_det = np.linalg.slogdet(ica.components_)[1]
    return (-np.log(2 * scales) - np.abs(S_test) / scales).sum(axis=1) + log_det


def gaussian_log_likelihood(X):
    """log N(x; 0, I) per row: the density that whitening implies."""
    return -0.5 * X.shape[1] * np.log(2 * np.pi) - 0.5 * np.sum(X**2, axis=1)


def unit_directions(W):
    return W / np.linalg.norm(W, axis=1, keepdims=True)


def alignment(W, reference):
    """Mean over the rows of W of the largest |cos| with any row of reference."""
    return float(np.abs(unit_directions(W) @ unit_directions(reference).T).max(axis=1).mean())


def fit_from_weights(W, X, epochs, **params):
    """A GRBM trained for ``epochs`` from weights ``W`` (anchored hidden biases)."""
    return GaussianBernoulliRBM(
        standardize=False,  # whitened data: already in standard units
        weight_init=W,
        hidden_bias_init="anchored",
        n_iter=epochs,
        **params,
    ).fit(X)


def ica_start_check(args, out):
    """Random orthogonal start against a start at FastICA's (edge) filters."""
    P = args.ica_patch_size
    X, X_test, _, E = whitened_patches(P, args.n_train, args.n_test, return_basis=True)
    D = X.shape[1]
    ica = fit_ica(X)
    norm = 4.0  # the anchored initialisation's weight norm
    params = dict(
        n_components=D, learn_sigma=True, learning_rate=args.learning_rate, random_state=0
    )
    out("")
    out(
        f"Do edges win? {P}x{P} patches (D = {D}), {D} hidden units, CD-1, learned sigma, "
        f"{args.epochs} epochs, Adam {args.learning_rate:g}"
    )
    out(f"{'start':<44}{'log p(x) / dim':>15}{'AIS s.e.':>10}{'|cos| to ICA':>14}")
    out(
        f"{'Gaussian (whitening)':<44}{gaussian_log_likelihood(X_test).mean() / D:>15.4f}{'-':>10}{'-':>14}"
    )
    starts = {
        "random orthogonal pairs (anchored)": lambda: GaussianBernoulliRBM(
            standardize=False,  # whitened data: already in standard units
            n_iter=args.epochs,
            weight_init="orthogonal",
            weight_scale=norm / np.sqrt(D),
            hidden_bias_init="anchored",
            **params,
        ).fit(X),
        "FastICA's filters (anchored)": lambda: fit_from_weights(
            norm * unit_directions(ica.components_), X, args.epochs, **params
        ),
    }
    for name, train in starts.items():
        model = train()
        log_z = model.log_partition("ais", random_state=0)
        per_dim = model.score_samples(X_test).mean() / D
        out(
            f"{name:<44}{per_dim:>15.4f}{log_z.stderr / D:>10.4f}{alignment(model.components_, ica.components_):>14.3f}"
        )
        save_filters(
            model.components_ @ E.T,
            P,
            f"natural_patches_from_{'ica' if 'ICA' in name else 'random'}.png",
            f"Started from {name}, after {args.epochs} epochs\n(ZCA-whitened space)",
        )


def likelihood_sources(X, X_test, best, out):
    """The best GRBM beside a model of contrast alone and one of directions alone."""
    D = X.shape[1]
    per_dim = {"Gaussian (whitening)": gaussian_log_likelihood(X_test).mean() / D}
    mixture, scales, weights = scale_mixture_log_likelihood(X, X_test)
    per_dim["scale mixture (contrast only, 3 scales)"] = mixture.mean() / D
    ica = fit_ica(X)
    per_dim["ICA, Laplace sources (directions only)"] = (
        ica_log_likelihood(X, X_test, ica).mean() / D
    )
    per_dim[f"best GRBM ({best[1]})"] = best[0]
    out("")
    out(
        "Where the likelihood is: the same test patches under a model of contrast alone and one of directions alone"
    )
    out(f"{'model':<60}{'log p(x) / dim':>15}")
    for name, value in per_dim.items():
        out(f"{name:<60}{value:>15.4f}")
    shares = ", ".join(f"{w:.0%} at {s:.2f}" for s, w in sorted(zip(scales, weights)))
    out(f"scale mixture: patch contrast (standard deviation per whitened dimension) {shares}")
    out(
        f"best GRBM: sigma {best[2].sigma_.mean():.2f} on average, one for every component of its mixture"
    )


def contrast_normalized_edges(args, out):
    """A GRBM on patches whose contrast is taken out: do its filters become edges?"""
    P = args.patch_size
    X, X_test, E = contrast_normalized_patches(P, args.n_train, args.n_test)
    D = X.shape[1]
    ica = fit_ica(X)
    model = GaussianBernoulliRBM(
        standardize=False,  # whitened data: already in standard units
        n_components=D,
        n_iter=args.edge_epochs,
        learning_rate=args.learning_rate,
        sampler="pcd",
        weight_init="orthogonal",
        weight_scale=4.0 / np.sqrt(D),
        hidden_bias_init="anchored",
        learn_sigma=True,
        random_state=0,
    ).fit(X)
    log_z = model.log_partition("ais", random_state=0)
    chance = alignment(np.random.RandomState(0).normal(size=(D, D)), ica.components_)
    out("")
    out(
        f"Contrast taken out: {P}x{P} patches above the median contrast, whitened, each scaled to norm sqrt(D); "
        f"PCD, orthogonal anchored, learned sigma, {args.edge_epochs} epochs"
    )
    out(f"{'model':<44}{'log p(x) / dim':>15}{'AIS s.e.':>10}{'|cos| to ICA':>14}")
    out(
        f"{'Gaussian (whitening)':<44}{gaussian_log_likelihood(X_test).mean() / D:>15.4f}{'-':>10}{'-':>14}"
    )
    out(f"{'random directions':<44}{'-':>15}{'-':>10}{chance:>14.3f}")
    out(
        f"{'GRBM':<44}{model.score_samples(X_test).mean() / D:>15.4f}{log_z.stderr / D:>10.4f}"
        f"{alignment(model.components_, ica.components_):>14.3f}"
    )
    save_filters(
        model.components_ @ E.T,
        P,
        "natural_patches_edges.png",
        f"Contrast taken out: PCD, {args.edge_epochs} epochs\n(ZCA-whitened space)",
    )


def save_filters(filters, patch_size, filename, title):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from sklearn_grbm.plotting import plot_filters
    except ImportError:  # pragma: no cover - matplotlib is an optional extra
        return
    fig = plot_filters(filters, (patch_size, patch_size), n_filters=64, title=title)
    RESULTS.mkdir(parents=True, exist_ok=True)  # results/ is not in a fresh checkout
    fig.savefig(RESULTS / filename, dpi=80)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patch-size", type=int, default=8)
    parser.add_argument("--n-train", type=int, default=20000)
    parser.add_argument("--n-test", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--edge-epochs", type=int, default=80, help="epochs on contrast-normalized patches; 0 skips"
    )
    parser.add_argument("--ica-patch-size", type=int, default=14, help="0 skips the edge check")
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
                    standardize=False,  # whitened data: already in standard units
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
                name = (
                    f"{sampler.upper()}, {init_name}, sigma {'learned' if learn_sigma else 'fixed'}"
                )
                out(f"{name:<44}{per_dim:>15.4f}{log_z.stderr / D:>10.4f}{seconds:>7.0f}s")
                if best is None or per_dim > best[0]:
                    best = (per_dim, name, model)
    out(f"best: {best[1]}, {best[0] - baseline:+.4f} nats per dimension over the Gaussian")

    save_filters(
        best[2].components_ @ dewhiten,
        args.patch_size,
        "natural_patches_filters.png",
        f"Best model: {best[1]}\n(filters in pixel space)",
    )
    likelihood_sources(X, X_test, best, out)
    if args.edge_epochs:
        contrast_normalized_edges(args, out)
    if args.ica_patch_size:
        ica_start_check(args, out)
    out.save(RESULTS / "natural_patches.txt")


if __name__ == "__main__":
    main()
