"""The seed notebook's experiment: train at several hidden sizes, compare test
reconstruction errors, pick the best size.

Two reconstruction errors are reported:

* mean-field MSE, ``-score(X)``: the deterministic ``b + W^T p(h | x)``;
* the notebook's protocol MSE: ``h`` *sampled* from ``p(h | x)``, the
  reconstruction ``b + W^T h`` clipped to the data range ([0, 1] for images).
"""

import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from ._likelihood import exact_is_affordable
from .exceptions import AISWarning


def protocol_mse(rbm, X, *, clip=(0.0, 1.0), random_state=None):
    """The notebook's test reconstruction MSE.

    Parameters
    ----------
    rbm : fitted GaussianBernoulliRBM
    X : array-like of shape (n_samples, n_features)
    clip : (float, float) or None, default=(0.0, 1.0)
        Range the reconstruction is clipped to; None: no clipping.
    random_state : int, RandomState instance or None
        Draws the hidden samples.

    Returns
    -------
    mse : float
        Mean over all entries of ``(x - clip(b + W^T h))^2``.
    """
    rng = check_random_state(random_state)
    X = np.asarray(X)
    total, chunk = 0.0, 4096
    for start in range(0, X.shape[0], chunk):
        rows = X[start : start + chunk]
        p = rbm.transform(rows)
        h = (rng.uniform(size=p.shape) < p).astype(p.dtype)
        recon = rbm.inverse_transform(h)
        if clip is not None:
            recon = np.clip(recon, *clip)
        total += float(np.sum((recon - rows) ** 2, dtype=np.float64))
    return total / X.size


def hidden_size_sweep(
    estimator,
    X_train,
    X_test,
    sizes,
    *,
    clip=(0.0, 1.0),
    random_state=0,
    log=None,
    progress=None,
    baseline=None,
    n_betas=None,
):
    """Fit a clone of ``estimator`` per hidden size; measure each on ``X_test``.

    ``progress``, if given, is called as ``progress(size_index, epoch)`` after
    every epoch; the models are then trained by ``n_iter`` calls of
    ``partial_fit`` (one epoch each), which trains exactly what ``fit`` trains.
    ``baseline``, if given, is called as ``baseline(n_components)`` and
    returns ``(protocol_mse, seconds)`` of another implementation on the same
    split (the seed notebook's own loop, in the main job). ``n_betas``: see
    :func:`evaluate`.

    Returns
    -------
    rows : list of dict
        Per size: ``n_components``, ``mse`` (mean-field), ``protocol_mse``,
        ``log_likelihood`` (mean test log p(x) in nats) with ``log_z_stderr``
        and ``log_z_method`` (``"exact"`` or ``"ais"``), ``fit_seconds``, the
        fitted ``model`` and, with a baseline, ``baseline_mse`` and
        ``baseline_seconds``.
    """
    rows = []
    for index, size in enumerate(sizes):
        model = clone(estimator).set_params(n_components=int(size))
        start = time.perf_counter()
        if progress is None:
            model.fit(X_train)
        else:
            for epoch in range(1, model.n_iter + 1):
                model.partial_fit(X_train)
                progress(index, epoch)
        seconds = time.perf_counter() - start
        row = evaluate(model, X_test, clip=clip, random_state=random_state, n_betas=n_betas)
        row.update(n_components=int(size), fit_seconds=seconds)
        if baseline is not None:
            row["baseline_mse"], row["baseline_seconds"] = baseline(int(size))
        rows.append(row)
        if log is not None:
            log(format_table([row]).splitlines()[-1])
    return rows


def evaluate(model, X_test, *, clip=(0.0, 1.0), random_state=0, n_betas=None):
    """A fitted model's test errors and log-likelihood (see hidden_size_sweep).

    ``n_betas``, if given, fixes the AIS temperatures (100 chains) where log Z
    is not enumerated; an unsure estimate is reported in the row
    (``log_z_unsure``, with its effective sample size), not warned about.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AISWarning)
        if n_betas is None or exact_is_affordable(*model.components_.shape):
            log_z = model.log_partition()
        else:
            log_z = model.log_partition("ais", n_chains=100, n_betas=n_betas)
        log_likelihood = float(np.mean(model.score_samples(X_test)))
    return {
        "n_components": model.n_components,
        "mse": -model.score(X_test),
        "protocol_mse": protocol_mse(model, X_test, clip=clip, random_state=random_state),
        "log_likelihood": log_likelihood,
        "log_z_stderr": log_z.stderr,
        "log_z_method": log_z.method,
        "log_z_ess": log_z.ess,
        "log_z_unsure": log_z.unsure,
        "log_z_missed": log_z.missed,
        "model": model,
    }


def best_size(rows, key="protocol_mse"):
    """The hidden size with the smallest test error."""
    return min(rows, key=lambda row: row[key])["n_components"]


def format_table(rows):
    """The sweep as a fixed-width text table (with the baseline's columns when
    the rows have them)."""
    with_baseline = "baseline_mse" in rows[0]
    header = f"{'hidden':>6}  {'test MSE':>9}  {'protocol MSE':>12}"
    if with_baseline:
        header += f"  {'notebook loop':>13}  {'ratio':>5}"
    header += f"  {'test log p(x)':>22}  {'fit time':>8}"
    if with_baseline:
        header += f"  {'notebook time':>13}"
    lines = [header]
    for row in rows:
        line = f"{row['n_components']:>6}  {row['mse']:>9.4f}  {row['protocol_mse']:>12.4f}"
        if with_baseline:
            ratio = row["protocol_mse"] / row["baseline_mse"]
            line += f"  {row['baseline_mse']:>13.4f}  {ratio:>5.2f}"
        if row["log_z_method"] == "exact":
            ll = f"{row['log_likelihood']:.2f} (exact)"
        else:
            unsure = "*" if row.get("log_z_unsure") else ""
            ll = f"{row['log_likelihood']:.2f} +/- {row['log_z_stderr']:.2f} (ais{unsure})"
        line += f"  {ll:>22}  {row['fit_seconds']:>7.1f}s"
        if with_baseline:
            line += f"  {row['baseline_seconds']:>12.1f}s"
        lines.append(line)
    unsure = [row for row in rows if row.get("log_z_unsure")]
    if unsure:
        ess = ", ".join(f"M={row['n_components']}: {row['log_z_ess']:.0f}" for row in unsure)
        lines.append(
            f"(ais*: unsure, effective sample size of 100 AIS chains {ess}; "
            f"log_likelihood_bounds(X) brackets log p(x) from both sides)"
        )
    missed = [row for row in rows if row.get("log_z_missed", 0.0) > 0.0]
    if missed:
        nats = ", ".join(f"M={row['n_components']}: {row['log_z_missed']:.0f}" for row in missed)
        lines.append(
            f"(AIS missed hidden modes, by nats of log Z: {nats}; those rows use the modes' "
            f"weight and are upper bounds)"
        )
    return "\n".join(lines)
