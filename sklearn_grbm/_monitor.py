"""What a user sees of training: the per-epoch record, the verbose lines,
held-out rows for the free-energy gap, the warning for a degenerate fit, and
a failed fit that leaves the model as it was."""

import functools
import math
import warnings

import numpy as np
import torch

from ._functional import RBMParams, free_energy, hidden_probs
from ._likelihood import (
    GRID_MAX_POINTS,
    gaussian_constant,
    likelihood_device,
    log_partition_ais,
    log_partition_exact,
    log_partition_grid,
    log_partition_lower_bound,
    mode_starts,
)
from ._optim import DECAY_AFTER, drop_epoch
from ._random import make_generator
from .exceptions import FitQualityWarning

HISTORY_KEYS = (
    "reconstruction_error",
    "free_energy_gap",
    "sigma_min",
    "sigma_median",
    "sigma_max",
    "learning_rate",
    "seconds",
)

#: A fit warns when more than this fraction of the learned sigmas sit at the floor.
DEGENERATE_FLOOR_FRACTION = 0.5


def split_validation(X, fraction, seed):
    """Training and held-out rows of X (None without any); the same split for
    the same X, fraction and seed."""
    n_held_out = int(round(fraction * X.shape[0]))
    if n_held_out == 0:
        return X, None
    if n_held_out >= X.shape[0]:
        raise ValueError(f"validation_fraction={fraction} leaves no training rows of {X.shape[0]}")
    order = np.random.RandomState(seed).permutation(X.shape[0])
    return X[np.sort(order[n_held_out:])], X[np.sort(order[:n_held_out])]


def free_energy_gap(params, rows, held_out):
    """Mean F of the held-out rows minus mean F of as many training rows
    (both ``DeviceRows``-like, in training coordinates); NaN without held-out rows."""
    if held_out is None:
        return float("nan")
    n = min(held_out.shape[0], rows.shape[0])
    order = torch.arange(n, device=params.W.device)
    with torch.inference_mode():
        seen = next(rows.minibatches(order, 1))
        unseen = next(held_out.minibatches(order, 1))
        return float(free_energy(unseen, params).mean() - free_energy(seen, params).mean())


def epoch_record(squared_error, squared_scale, n_entries, params, gap, learning_rate, seconds):
    """The history entry of one epoch (one host sync for the error)."""
    sigma = torch.exp(params.log_sigma)
    return {
        "reconstruction_error": float((squared_error * squared_scale).sum()) / n_entries,
        "free_energy_gap": gap,
        "sigma_min": float(sigma.min()),
        "sigma_median": float(sigma.median()),
        "sigma_max": float(sigma.max()),
        "learning_rate": learning_rate,
        "seconds": seconds,
    }


def epoch_line(name, epoch, record):
    line = (
        f"[{name}] Iteration {epoch}, reconstruction error = {record['reconstruction_error']:.4f}, "
        f"sigma in [{record['sigma_min']:.3g}, {record['sigma_max']:.3g}]"
    )
    if math.isfinite(record["free_energy_gap"]):
        line += f", free energy gap = {record['free_energy_gap']:.3f}"
    line += f", learning rate = {record['learning_rate']:.3g}"
    return line + f", time = {record['seconds']:.2f}s"


def progress_printer(name, epoch):
    """``on_batch`` for ``verbose > 1``: ten lines per epoch."""

    def on_batch(i, n_batches):
        step = max(1, n_batches // 10)
        if (i + 1) % step == 0 and i + 1 < n_batches:
            print(f"[{name}] Iteration {epoch}: {i + 1}/{n_batches} minibatches", flush=True)

    return on_batch


def warn_if_degenerate(log_sigma, log_floor, floor, stacklevel=6):
    """A :class:`FitQualityWarning` when most learned sigmas sit at the floor."""
    at_floor = float(np.mean(log_sigma <= log_floor + 1e-3))
    if at_floor > DEGENERATE_FLOOR_FRACTION:
        warnings.warn(
            f"{at_floor:.0%} of the visible standard deviations (sigma_) are at their floor "
            f"(sigma_floor_, {floor.min():.3g} to {floor.max():.3g}): the model explains the "
            f"data by sharp modes and its held-out likelihood is likely poor. Try "
            f"standardize=True, a smaller learning_rate or sigma_learning_rate, or "
            f"learn_sigma=False.",
            FitQualityWarning,
            stacklevel=stacklevel,
        )


def warn_past_schedule(schedule, n_iter, stacklevel=6):
    """A :class:`FitQualityWarning` when ``partial_fit`` first trains past the
    ``n_iter`` epochs of a step or decay schedule, which has kept a tenth of
    the step (or less) since two thirds of them: a stream of chunks longer
    than ``n_iter`` calls trained most of its calls at that low step."""
    if schedule == "step":
        low, advice = "stays there", "set n_iter to the number of partial_fit calls"
    else:
        low = f"falls as {DECAY_AFTER}/call from call {DECAY_AFTER + 1}"
        advice = (
            "use learning_rate_schedule='step' with n_iter the number of partial_fit "
            "calls ('decay' counts each call as an epoch)"
        )
    warnings.warn(
        f"partial_fit was called more than n_iter={n_iter} times with the {schedule} "
        f"learning-rate schedule, whose step has been a tenth of learning_rate since "
        f"call {drop_epoch(schedule, n_iter) + 1} and {low}. Over chunks, {advice} "
        f"(chunks times passes), or use learning_rate_schedule='constant' for an "
        f"open-ended stream.",
        FitQualityWarning,
        stacklevel=stacklevel,
    )


def all_or_nothing(method):
    """Restore the estimator's attributes if ``method`` raises.

    A fit that fails (bad input, divergence, interruption) leaves the model as
    it was before the call, never half-updated.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


#: The check against the W = 0 model spends at most this fraction of the
#: fit's own multiply-adds (at least BELOW_GAUSSIAN_MIN_WORK), on at most
#: BELOW_GAUSSIAN_ROWS training rows; AIS, where it cannot enumerate, runs
#: BELOW_GAUSSIAN_CHAINS chains through BELOW_GAUSSIAN_BETAS temperatures (as
#: many as the budget affords within that range). The floor of the budget
#: (about 0.1 s on a 2-core CPU) is for fits of few columns but many hidden
#: units: a 256-unit model of 10-D blobs that is 42 nats below the Gaussian
#: has an AIS 34 nats low at 122 temperatures (2e7), 12 low at 1,000.
BELOW_GAUSSIAN_WORK_FRACTION, BELOW_GAUSSIAN_MIN_WORK = 0.02, 2e8
BELOW_GAUSSIAN_ROWS, BELOW_GAUSSIAN_CHAINS, BELOW_GAUSSIAN_BETAS = 1024, 32, (20, 1000)
#: Its column means and variances come from up to this many training rows.
BELOW_GAUSSIAN_MOMENT_ROWS = 2**14
#: The Gaussian a fit is held to may have sigmas down to the starting ones
#: over this factor (see reference_log_sigma).
SIGMA_SHRINK_ALLOWANCE = 10.0
#: A grid over v may take this many multiply-adds whatever the fit's work.
BELOW_GAUSSIAN_GRID_WORK = 2.5e8


def below_gaussian_tolerance(n_features):
    """Nats per row by which a fit may fall below the Gaussian unwarned."""
    return 0.5 + 0.01 * n_features


def strided_rows(n_rows, n, device):
    """``n`` row indices spread evenly over ``n_rows`` (all of them if fewer)."""
    n = min(n_rows, n)
    return torch.arange(n, device=device) * n_rows // n


def column_moments(rows, n, device, place):
    """Column means and variances (float64, on ``place``) of up to ``n`` of
    ``rows`` (``DeviceRows`` on ``device``, spread evenly), a chunk at a
    time: sums as matrix products in the rows' dtype, about the first row
    (against cancellation), accumulated in float64."""
    order = strided_rows(rows.shape[0], n, device)
    n_chunks = 1 + (order.shape[0] * rows.shape[1]) // 2**22
    shift, first, second = None, 0.0, 0.0
    for batch in rows.minibatches(order, n_chunks):
        shift = batch[:1].clone() if shift is None else shift
        batch = batch.sub_(shift)
        ones = torch.ones(1, batch.shape[0], dtype=batch.dtype, device=batch.device)
        first = first + (ones @ batch)[0].to(place, torch.float64)
        second = second + (ones @ batch.mul_(batch))[0].to(place, torch.float64)
    mean = first / order.shape[0]
    variance = (second / order.shape[0] - mean * mean).clamp(min=0.0)
    return shift[0].to(place, torch.float64) + mean, variance


def gaussian_log_likelihood(v, mean, log_sigma):
    """log N(v; mean, diag(exp(2 log_sigma))) per row: the GRBM with W = 0,
    b = mean (any c)."""
    squares = ((v - mean) ** 2 * torch.exp(-2.0 * log_sigma)).sum(dim=1)
    return -0.5 * squares - gaussian_constant(log_sigma)


def mean_gaussian_log_likelihood(variance, log_sigma):
    """The mean of :func:`gaussian_log_likelihood` over rows whose column
    means and variances these are (``mean`` at their means): closed form."""
    quadratic = float((variance * torch.exp(-2.0 * log_sigma)).sum())
    return -0.5 * quadratic - gaussian_constant(log_sigma)


def mode_search_starts(params, v, budget):
    """Where :func:`low_log_partition` starts its ascent to the hidden modes:
    every unit on, every unit off, and the thresholded ``p(h | v)`` of as
    many of the rows ``v`` as ``budget`` multiply-adds afford (an ascent of
    at most M flips costs ``2 M^2 D`` a start)."""
    n_components, n_features = params.W.shape
    per_start = 2.0 * n_components * n_components * n_features
    n_rows = min(v.shape[0], max(0, int(budget / per_start) - 2))
    order = strided_rows(v.shape[0], n_rows, v.device)
    p = hidden_probs(v[order], params.W, params.c, params.inv_var)
    return mode_starts(params, p > 0.5)


def low_log_partition(params, budget, generator, v=None):
    """log Z, or an estimate that errs low: exact when ``2^M M D <= budget``,
    else on a grid over v where that takes at most ``max(budget,
    BELOW_GAUSSIAN_GRID_WORK)`` multiply-adds (data of a few columns), else by
    AIS (which underestimates it) on about ``budget``, less three standard
    errors, or the exact weight of the hidden modes found by ascent from the
    rows ``v`` (:func:`mode_search_starts`), whichever is higher: both err
    low, and a short AIS misses the modes of a model whose mass has piled up
    far from the data (a 256-unit model of 10-D blobs 43 nats below the
    Gaussian, whose AIS at 1,220 temperatures put it above; the modes' weight
    is within 1.3 nats of AIS at 40,000). Enumeration and the grid run in
    float64; AIS its products and the ascent its flips in the dtype of
    ``params`` (AIS accumulating in float64, the modes' weights exact in
    float64); ``generator`` on their device."""
    n_components, n_features = params.W.shape
    if (2.0**n_components) * n_components * n_features <= budget:
        return log_partition_exact(params).value
    grid_points = max(budget, BELOW_GAUSSIAN_GRID_WORK) / (n_components * n_features)
    grid = log_partition_grid(params, max_points=min(GRID_MAX_POINTS, grid_points))
    if grid is not None:
        return grid.value
    per_beta = 2.0 * BELOW_GAUSSIAN_CHAINS * n_components * n_features
    low, high = BELOW_GAUSSIAN_BETAS
    n_betas = max(low, min(high, int(budget / per_beta)))
    estimate = log_partition_ais(params, generator, n_chains=BELOW_GAUSSIAN_CHAINS, n_betas=n_betas)
    ais = estimate.value - 3.0 * estimate.stderr
    if v is None:
        return ais
    starts = mode_search_starts(params, v, budget)
    modes = log_partition_lower_bound(params, starts, max_flips=n_components)
    return modes if not ais >= modes else ais  # the modes where AIS gives NaN


def model_log_likelihood(params, v, budget, generator):
    """``-F(v) - log Z`` per row (float64) of the rows v (on the device and
    in the dtype of ``params``) with :func:`low_log_partition`: exact, or
    errs high."""
    with torch.inference_mode():
        log_z = low_log_partition(params, budget, generator, v)
        return -free_energy(v, params).to(torch.float64) - log_z


def reference_log_sigma(variance, start_log_sigma, log_sigma_floor, learn_sigma):
    """log sigma of the diagonal Gaussian a fit is held to: the fixed sigma
    when it is not learned; else each column's own spread (``variance``),
    floored at its sigma floor and at a tenth of its starting sigma (a short
    fit is still shrinking the sigma of near-constant columns, and a Gaussian
    that has collapsed them at once would win by that alone)."""
    if not learn_sigma:
        return start_log_sigma
    own = 0.5 * torch.log(variance.clamp(min=1e-300))
    floor = torch.maximum(log_sigma_floor, start_log_sigma - math.log(SIGMA_SHRINK_ALLOWANCE))
    return torch.maximum(own, floor)


def warn_if_below_gaussian(
    params,
    rows,
    start_log_sigma,
    log_sigma_floor,
    learn_sigma,
    work,
    seed,
    log_jacobian=0.0,
    stacklevel=6,
):
    """A :class:`FitQualityWarning` when the fitted model explains its
    training rows (``DeviceRows``, in training coordinates) worse than a
    diagonal Gaussian of its family: W = 0, b the column means, sigma from
    :func:`reference_log_sigma` (the family holds it, so this is never
    overfitting). The Gaussian's mean log-likelihood is exact (from the
    column moments of up to BELOW_GAUSSIAN_MOMENT_ROWS rows); the gap is the
    mean over BELOW_GAUSSIAN_ROWS of them, row by row. ``params``: the fitted
    model on the device; ``start_log_sigma``, ``log_sigma_floor``: tensors
    there; ``work``: the fit's multiply-adds; ``log_jacobian``: what the map
    to the data's units adds to every log-likelihood (``-sum(log scale)``),
    so that the message speaks in those units."""
    device = params.W.device
    place = likelihood_device(device)
    with torch.inference_mode():
        mean, variance = column_moments(rows, BELOW_GAUSSIAN_MOMENT_ROWS, device, place)
        start, floor = (t.to(place, torch.float64) for t in (start_log_sigma, log_sigma_floor))
        log_sigma = reference_log_sigma(variance, start, floor, learn_sigma)
        gaussian = mean_gaussian_log_likelihood(variance, log_sigma)
        order = strided_rows(rows.shape[0], BELOW_GAUSSIAN_ROWS, device)
        v = next(rows.minibatches(order, 1)).to(place)
        paired = gaussian_log_likelihood(v.to(torch.float64), mean, log_sigma)
    # The training dtype: AIS and F(v) in float32 on float32 data, as in training.
    params = RBMParams(*(t.to(place) for t in params))
    budget = max(BELOW_GAUSSIAN_MIN_WORK, BELOW_GAUSSIAN_WORK_FRACTION * work)
    generator = make_generator(place, seed)
    # The gap row by row, on the same rows: far less spread than either side.
    gap = float((paired - model_log_likelihood(params, v, budget, generator)).mean())
    model = gaussian - gap
    if not gap > below_gaussian_tolerance(v.shape[1]):
        return
    sigma = (
        "sigma fixed as it is"
        if not learn_sigma
        else "sigma the columns' own spreads (at least a tenth of their start)"
    )
    warnings.warn(
        f"The fitted model explains its training rows worse than a diagonal Gaussian: "
        f"about {model + log_jacobian:.6g} nats per row against "
        f"{gaussian + log_jacobian:.6g} for the GRBM with W = 0, b the "
        f"column means and {sigma}, {gap:.3g} nats lower. Training has not got as far as that "
        f"Gaussian (too few epochs, or data in units far from 1 without standardize=True) or "
        f"has drifted away from the data (a learning rate too large for the sampler, a fixed "
        f"sigma far from the data's spread). Try standardize=True, more epochs (n_iter), a "
        f"smaller learning_rate, the default sampler, or learn_sigma=True.",
        FitQualityWarning,
        stacklevel=stacklevel,
    )
