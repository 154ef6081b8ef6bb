"""The seed paper's hard 2-D densities: the training recipe, measured.

    python benchmarks/toy_densities.py            # about 35 minutes on 2 CPU cores
    python benchmarks/toy_densities.py --quick    # one seed, fewer configurations
    python benchmarks/toy_densities.py --samplers # also CD-20, PT and Gibbs-Langevin
    python benchmarks/toy_densities.py --mode-weights  # what the samplers do to the modes (~15 min)
    python benchmarks/toy_densities.py --only defaults # the configurations named so (no ICA)
    python benchmarks/toy_densities.py --only defaults --seeds 7 8 9  # other draws
    python benchmarks/toy_densities.py --only AIS --rows 2000 --save toy_2000_rows.txt  # few rows
    python benchmarks/toy_densities.py --trace 9  # the defaults at lr 1e-2, every 3 epochs
    python benchmarks/toy_densities.py --trace 9 --schedule constant  # with a constant step

1. Two unit-variance Laplace sources mixed by [[2, 1], [1, 1.5]] and whitened
   (the paper's ICA problem; 4 hidden units, 20,000 training and 20,000
   held-out points). Beside the true density and the Gaussian it prints the
   best a 4-unit GRBM can do: maximum likelihood by full-batch gradient ascent
   on the exact log-likelihood (all 16 hidden states enumerated), best of a
   few starts. The paper reports -2.736 (Gaussian -2.838, truth -2.693) on its
   own draw: 70% of the way from the Gaussian to the truth.
2. Three unit Gaussians at (-5, -5), (5, -5) and (0, 5) with 64 hidden units
   (optimum 3.94 nats, one Gaussian 5.84). Held-out NLL with log Z by
   numerical integration over a grid (exact up to the grid), and by the
   estimator's own ``score_samples`` (AIS), to show both agree.

``--mode-weights`` fits the three Gaussians at ``learning_rate=1e-3`` on
draws 1 and 5 (CD-100 missed on 1, CD-100 with a faster sigma step on 5) and
prints, beside the NLL, the model's probability mass within 3 of each mode
(the data's: 1/3 each) and outside all three: a sampler whose chains start
at the data and never cross from one mode to another (CD) cannot see the
modes' weights; annealed chains (the defaults' ``"ais"``) can.

``--trace SEED`` follows one fit of the defaults (``--learning-rate``, 1e-2
unless given) epoch by epoch: held-out NLL and mode masses every 3 epochs.

Writes the tables to ``benchmarks/results/toy_densities.txt``
(``toy_mode_weights.txt`` with ``--mode-weights``, ``toy_trace_SEED.txt``
with ``--trace``).
"""

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import torch
from scipy.special import logsumexp
from scipy.stats import laplace, norm

from sklearn_grbm import GaussianBernoulliRBM

try:  # run as a script or as a module
    from benchmarks._report import Report
except ImportError:  # pragma: no cover
    from _report import Report

RESULTS = Path(__file__).parent / "results"
MIXING = np.array([[2.0, 1.0], [1.0, 1.5]])
CENTERS = np.array([[-5.0, -5.0], [5.0, -5.0], [0.0, 5.0]])

#: The recipe for whitened data with symmetric heavy-tailed sources.
ICA_RECIPE = dict(
    weight_init="orthogonal", weight_scale=2.0, hidden_bias_init="anchored", standardize=False
)
#: The recipe for well-separated modes: chains long enough to reach them.
MODES_RECIPE = dict(n_gibbs_steps=20, learning_rate=3e-3, standardize=False)


def ica_problem(n, seed):
    """Whitened train and test sets, the true test log density and the Gaussian's."""
    rng = np.random.RandomState(seed)
    X_train, X_test = (rng.laplace(scale=1 / np.sqrt(2), size=(n, 2)) @ MIXING.T for _ in range(2))
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(X_train.T))
    whiten = eigenvectors @ np.diag(eigenvalues**-0.5) @ eigenvectors.T
    X_train, X_test = X_train @ whiten.T, X_test @ whiten.T
    mixing = whiten @ MIXING
    sources = X_test @ np.linalg.inv(mixing).T
    truth = laplace.logpdf(sources, scale=1 / np.sqrt(2)).sum(axis=1) - np.log(
        abs(np.linalg.det(mixing))
    )
    gaussian = norm.logpdf(X_test).sum(axis=1)
    return X_train, X_test, truth.mean(), gaussian.mean()


def exact_log_likelihood(X, W, b, c, log_sigma):
    """Mean log p(x) of a GRBM, log Z by enumerating the hidden states (autograd-able)."""
    n_components, n_features = W.shape
    H = torch.tensor(list(itertools.product([0.0, 1.0], repeat=n_components)), dtype=X.dtype)
    inv_var = torch.exp(-2 * log_sigma)
    free_energy = ((X - b) ** 2 * inv_var / 2).sum(1) - torch.nn.functional.softplus(
        c + (X * inv_var) @ W.T
    ).sum(1)
    means = b + H @ W
    log_z = (
        n_features / 2 * np.log(2 * np.pi)
        + log_sigma.sum()
        + torch.logsumexp(H @ c + ((means**2 - b**2) * inv_var / 2).sum(1), 0)
    )
    return (-free_energy - log_z).mean()


def exact_maximum_likelihood(X_train, X_test, n_components=4, n_starts=3, n_steps=2000):
    """The best GRBM of ``n_components`` units by exact full-batch gradient
    ascent (Adam, lr 0.02) from ``n_starts`` starts: (train, test) mean log p."""
    X, X_t = torch.tensor(X_train), torch.tensor(X_test)
    n_features = X.shape[1]
    best = None
    for start in range(n_starts):
        generator = torch.Generator().manual_seed(start)
        basis, _ = torch.linalg.qr(
            torch.randn(n_features, n_features, generator=generator, dtype=X.dtype)
        )
        directions = torch.cat([basis.T, -basis.T]).repeat(n_components, 1)[:n_components]
        W = 2.0 * directions + 0.3 * torch.randn(
            directions.shape, generator=generator, dtype=X.dtype
        )
        params = [W.requires_grad_()] + [
            torch.full((size,), value, dtype=X.dtype, requires_grad=True)
            for size, value in ((n_features, 0.0), (n_components, -4.0), (n_features, 0.0))
        ]
        optimizer = torch.optim.Adam(params, lr=0.02)
        for _ in range(n_steps):
            optimizer.zero_grad()
            (-exact_log_likelihood(X, *params)).backward()
            optimizer.step()
        with torch.no_grad():
            scores = (
                float(exact_log_likelihood(X, *params)),
                float(exact_log_likelihood(X_t, *params)),
            )
        if best is None or scores[0] > best[0]:
            best = scores
    return best


def three_gaussians(n, seed):
    rng = np.random.RandomState(seed)
    return CENTERS[rng.randint(3, size=n)] + rng.normal(size=(n, 2))


def true_log_density_three_gaussians(X):
    log_components = -0.5 * ((X[:, None, :] - CENTERS[None]) ** 2).sum(-1) - np.log(2 * np.pi)
    return logsumexp(log_components, axis=1) - np.log(3)


def grid_log_likelihood(rbm, X, limit=30.0, n_points=1201):
    """Mean log p(x) with log Z by a Riemann sum of exp(-F) over a 2-D grid."""
    grid = np.linspace(-limit, limit, n_points)
    xx, yy = np.meshgrid(grid, grid)
    free_energy = rbm.free_energy(np.c_[xx.ravel(), yy.ravel()])
    log_z = logsumexp(-free_energy) + 2 * np.log(grid[1] - grid[0])
    return float(np.mean(-rbm.free_energy(X) - log_z))


def grid_log_density(rbm, limit=30.0, n_points=1201):
    """The grid's points and the model's normalised log density at each (per
    grid cell, so that ``exp`` of it sums to one)."""
    grid = np.linspace(-limit, limit, n_points)
    xx, yy = np.meshgrid(grid, grid)
    points = np.c_[xx.ravel(), yy.ravel()]
    log_p = -rbm.free_energy(points)
    return points, log_p - logsumexp(log_p)


def mode_masses(rbm, radius=3.0):
    """The model's probability within ``radius`` of each of CENTERS, and
    outside all of them (by the grid of :func:`grid_log_density`)."""
    points, log_p = grid_log_density(rbm)
    p = np.exp(log_p)
    near = np.linalg.norm(points[:, None, :] - CENTERS[None], axis=2) < radius
    return [float(p[near[:, k]].sum()) for k in range(len(CENTERS))] + [
        float(p[~near.any(1)].sum())
    ]


def run_mode_weights(seeds, configs, say):
    say(
        "Three unit Gaussians at lr 1e-3: NLL and the model's mass within 3 of each mode (data: 1/3)"
    )
    say(
        f"{'configuration':<36} {'seed':>4} {'NLL':>6}   {'mode 1':>6} {'mode 2':>6} {'mode 3':>6} {'other':>6}"
    )
    for name, params in configs.items():
        for seed in seeds:
            X_train, X_test = three_gaussians(20000, 10 + seed), three_gaussians(20000, 100 + seed)
            rbm = GaussianBernoulliRBM(
                n_components=64, n_iter=30, learning_rate=1e-3, random_state=seed, **params
            ).fit(X_train)
            masses = "".join(f"{m:7.3f}" for m in mode_masses(rbm))
            say(f"{name:<36} {seed:>4} {-grid_log_likelihood(rbm, X_test):6.3f}  {masses}")


def run_trace(seed, learning_rate, say, n_epochs=30, every=3, n_rows=20000, **params):
    """The defaults' (and ``params``') held-out NLL and mode masses every few
    epochs of one fit (``partial_fit`` epoch by epoch with ``n_iter`` the
    number of epochs, which trains the model ``fit`` does)."""
    options = "".join(f", {k}={v!r}" for k, v in params.items())
    say(
        f"Three unit Gaussians, the defaults{options} at lr {learning_rate:g}, seed {seed}, epoch by epoch"
    )
    say(f"{'epoch':>5} {'NLL':>6}   {'mode 1':>6} {'mode 2':>6} {'mode 3':>6} {'other':>6}")
    X_train, X_test = three_gaussians(n_rows, 10 + seed), three_gaussians(n_rows, 100 + seed)
    rbm = GaussianBernoulliRBM(
        n_components=64, n_iter=n_epochs, learning_rate=learning_rate, random_state=seed, **params
    )
    nll = []
    for epoch in range(1, n_epochs + 1):
        rbm.partial_fit(X_train)
        if epoch % every == 0:
            nll.append(-grid_log_likelihood(rbm, X_test))
            masses = "".join(f"{m:7.3f}" for m in mode_masses(rbm))
            say(f"{epoch:>5} {nll[-1]:6.3f}  {masses}")
    return nll


def run_ica(seeds, configs, say):
    say("2-D ICA (whitened Laplace mixture), 4 hidden units, held-out mean log p(x) in nats")
    say(
        f"{'seed':>4} {'truth':>8} {'Gauss':>8} {'best GRBM':>10}  "
        + "  ".join(f"{name:>16}" for name in configs)
    )
    ratios = {name: [] for name in configs}
    for seed in seeds:
        X_train, X_test, truth, gaussian = ica_problem(20000, seed)
        _, best = exact_maximum_likelihood(X_train, X_test)
        cells = []
        for name, params in configs.items():
            rbm = GaussianBernoulliRBM(n_components=4, n_iter=20, random_state=seed, **params).fit(
                X_train
            )
            value = rbm.score_samples(X_test).mean()
            ratio = (value - gaussian) / (truth - gaussian)
            ratios[name].append(ratio)
            cells.append(f"{value:8.4f} ({ratio:4.0%})")
        say(
            f"{seed:>4} {truth:8.4f} {gaussian:8.4f} {best:10.4f}  "
            + "  ".join(f"{cell:>16}" for cell in cells)
        )
    say("(percent: of the way from the Gaussian to the truth; the paper: 70%)")
    return ratios


def run_three_gaussians(seeds, configs, say, n_rows=20000):
    say(
        f"Three unit Gaussians, 64 hidden units, {n_rows} training rows, held-out NLL in nats "
        "(optimum 3.94, one Gaussian 5.84)"
    )
    say(
        f"{'configuration':<44} "
        + " ".join(f"{'seed ' + str(s):>14}" for s in seeds)
        + f" {'s/fit':>6}"
    )
    results = {}
    for name, params in configs.items():
        cells, values, start = [], [], time.perf_counter()
        for seed in seeds:
            X_train, X_test = three_gaussians(n_rows, 10 + seed), three_gaussians(20000, 100 + seed)
            rbm = GaussianBernoulliRBM(n_components=64, n_iter=30, random_state=seed, **params).fit(
                X_train
            )
            grid = -grid_log_likelihood(rbm, X_test)
            ais = -rbm.score_samples(X_test).mean()
            values.append(grid)
            cells.append(f"{grid:.3f}/{ais:.3f}")
        seconds = (time.perf_counter() - start) / len(seeds)
        results[name] = values
        say(f"{name:<44} " + " ".join(f"{cell:>14}" for cell in cells) + f" {seconds:6.1f}")
    X_test = three_gaussians(20000, 100)
    say(
        f"(grid/AIS; the true density scores {-true_log_density_three_gaussians(X_test).mean():.3f} on seed 0's test set)"
    )
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed, fewer configurations")
    parser.add_argument("--samplers", action="store_true", help="also CD-20, PT and Langevin")
    parser.add_argument(
        "--mode-weights", action="store_true", help="only the mode-weight diagnosis at lr 1e-3"
    )
    parser.add_argument(
        "--only", metavar="TEXT", help="only the configurations whose name contains TEXT"
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="the draws (default 0 1 2)")
    parser.add_argument(
        "--rows", type=int, default=20000, help="the three Gaussians' training rows (20000)"
    )
    parser.add_argument(
        "--save", default="toy_densities.txt", help="the results file's name (toy_densities.txt)"
    )
    parser.add_argument(
        "--trace",
        metavar="SEED",
        type=int,
        help="only the defaults' NLL and mode masses every 3 epochs on one draw",
    )
    parser.add_argument("--learning-rate", type=float, default=1e-2, help="for --trace")
    parser.add_argument(
        "--schedule", choices=["step", "constant"], help="for --trace: learning_rate_schedule"
    )
    args = parser.parse_args(argv)

    def chosen(configs):
        return {k: v for k, v in configs.items() if args.only is None or args.only in k}

    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    say = Report()
    if args.trace is not None:
        schedule = {} if args.schedule is None else dict(learning_rate_schedule=args.schedule)
        run_trace(args.trace, args.learning_rate, say, **schedule)
        suffix = "" if args.schedule is None else f"_{args.schedule}"
        say.save(RESULTS / f"toy_trace_{args.trace}{suffix}.txt")
        return
    if args.mode_weights:
        run_mode_weights(
            args.seeds or ([1] if args.quick else [1, 5]),
            chosen(
                {
                    "defaults (AIS-100, sigma step 1e-2)": {},
                    "defaults, constant step (before)": dict(learning_rate_schedule="constant"),
                    "CD-100 (the defaults before)": dict(sampler="cd"),
                    "CD-100, sigma_learning_rate=1e-2": dict(
                        sampler="cd", sigma_learning_rate=1e-2
                    ),
                    "PT (10 temperatures x 10 steps)": dict(sampler="pt", n_gibbs_steps=10),
                }
            ),
            say,
        )
        say.save(RESULTS / "toy_mode_weights.txt")
        return
    ica_configs = {
        "defaults, lr 1e-3": {},
        "defaults, lr 1e-2": dict(learning_rate=1e-2),
        "recipe (CD-1)": ICA_RECIPE,
    }
    if args.quick:
        del ica_configs["defaults, lr 1e-2"]
    if args.only is None:
        run_ica(seeds, ica_configs, say)
        say()
    mode_configs = {
        "defaults (AIS-100), lr 1e-3": {},
        "defaults (AIS-100), lr 1e-2": dict(learning_rate=1e-2),
        "defaults, constant step (before), lr 1e-3": dict(learning_rate_schedule="constant"),
        "defaults, constant step (before), lr 1e-2": dict(
            learning_rate=1e-2, learning_rate_schedule="constant"
        ),
        "CD-100 (the defaults before), lr 1e-3": dict(sampler="cd"),
        "CD-100 (the defaults before), lr 1e-2": dict(sampler="cd", learning_rate=1e-2),
        "CD-1": dict(sampler="cd", n_gibbs_steps=1),
        "recipe: CD-20, lr 3e-3, not standardised": MODES_RECIPE,
    }
    if args.samplers:
        mode_configs.update(
            {
                "CD-20": dict(sampler="cd", n_gibbs_steps=20),
                "PT (10 temperatures)": dict(sampler="pt"),
                "Gibbs-Langevin, 5 x 10 steps": dict(sampler="langevin", n_gibbs_steps=5),
            }
        )
    if args.quick:
        mode_configs = {
            key: mode_configs[key] for key in ("CD-1", "recipe: CD-20, lr 3e-3, not standardised")
        }
    run_three_gaussians(seeds, chosen(mode_configs), say, n_rows=args.rows)
    say.save(RESULTS / args.save)


if __name__ == "__main__":
    main()
