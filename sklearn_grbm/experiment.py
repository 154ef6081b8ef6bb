"""The seed notebook's experiment: train at several hidden sizes, compare test
reconstruction errors, pick the best size.

Two reconstruction errors are reported:

* mean-field MSE, ``-score(X)``: the deterministic ``b + W^T p(h | x)``;
* the notebook's protocol MSE: ``h`` *sampled* from ``p(h | x)``, the
  reconstruction ``b + W^T h`` clipped to the data range ([0, 1] for images).
"""

import time

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state


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
    estimator, X_train, X_test, sizes, *, clip=(0.0, 1.0), random_state=0, log=None, progress=None
):
    """Fit a clone of ``estimator`` per hidden size; measure each on ``X_test``.

    ``progress``, if given, is called as ``progress(size_index, epoch)`` after
    every epoch; the models are then trained by ``n_iter`` calls of
    ``partial_fit`` (one epoch each) instead of one call of ``fit``.

    Returns
    -------
    rows : list of dict
        Per size: ``n_components``, ``mse`` (mean-field), ``protocol_mse``,
        ``log_likelihood`` (mean test log p(x) in nats), ``log_z_method``
        (``"exact"`` or ``"ais"``), ``fit_seconds`` and the fitted ``model``.
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
        rows.append(
            {
                "n_components": int(size),
                "mse": -model.score(X_test),
                "protocol_mse": protocol_mse(model, X_test, clip=clip, random_state=random_state),
                "log_likelihood": float(np.mean(model.score_samples(X_test))),
                "log_z_method": model.log_partition().method,
                "fit_seconds": seconds,
                "model": model,
            }
        )
        if log is not None:
            log(format_row(rows[-1]))
    return rows


def best_size(rows, key="protocol_mse"):
    """The hidden size with the smallest test error."""
    return min(rows, key=lambda row: row[key])["n_components"]


HEADER = f"{'hidden':>6}  {'test MSE':>9}  {'protocol MSE':>12}  {'test log p(x)':>16}  {'fit time':>8}"


def format_row(row):
    ll = f"{row['log_likelihood']:.2f} ({row['log_z_method']})"
    return (
        f"{row['n_components']:>6}  {row['mse']:>9.4f}  {row['protocol_mse']:>12.4f}  "
        f"{ll:>16}  {row['fit_seconds']:>7.1f}s"
    )


def format_table(rows):
    """The sweep as a fixed-width text table."""
    return "\n".join([HEADER] + [format_row(row) for row in rows])
