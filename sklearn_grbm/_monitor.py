"""What a user sees of training: the per-epoch record, the verbose lines,
held-out rows for the free-energy gap, the warning for a degenerate fit, and
a failed fit that leaves the model as it was."""

import functools
import math
import warnings

import numpy as np
import torch

from ._functional import RBMParams, free_energy
from ._likelihood import (
    AIS_MAX_BETAS,
    likelihood_device,
    log_partition_ais,
    log_partition_exact,
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
#: fit's own multiply-adds (at least BELOW_START_MIN_WORK), on at most
#: BELOW_START_ROWS training rows; AIS, where it cannot enumerate, runs
#: BELOW_START_CHAINS chains through at least BELOW_START_MIN_BETAS temperatures.
BELOW_START_WORK_FRACTION, BELOW_START_MIN_WORK = 0.05, 2e7
BELOW_START_ROWS, BELOW_START_CHAINS, BELOW_START_MIN_BETAS = 2048, 64, 50


def below_start_tolerance(n_features):
    """Nats per row by which a fit may fall below its start unwarned."""
    return 0.5 + 0.01 * n_features


def independent_log_likelihood(v, log_sigma):
    """Mean log-likelihood of the rows v under the best GRBM with W = 0 and
    the given sigma: a diagonal Gaussian at the column means (any c)."""
    variance = v.var(dim=0, unbiased=False)
    per_column = -0.5 * variance * torch.exp(-2.0 * log_sigma) - log_sigma
    return float(per_column.sum()) - 0.5 * v.shape[1] * math.log(2.0 * math.pi)


def optimistic_log_likelihood(params, v, budget, generator):
    """Mean ``-F(v) - log Z`` of the rows v that errs high if at all: log Z
    exact when ``2^M M D <= budget``, else by AIS (which underestimates it)
    on about ``budget`` multiply-adds, less three standard errors (NaN when
    AIS gives none). ``generator`` on the device of log Z, which is that of
    ``params`` (float64, see ``likelihood_device``)."""
    n_components, n_features = params.W.shape
    with torch.inference_mode():
        if (2.0**n_components) * n_components * n_features <= budget:
            log_z = log_partition_exact(params).value
        else:
            per_beta = 2.0 * BELOW_START_CHAINS * n_components * n_features
            n_betas = max(BELOW_START_MIN_BETAS, min(AIS_MAX_BETAS, int(budget / per_beta)))
            estimate = log_partition_ais(
                params, generator, n_chains=BELOW_START_CHAINS, n_betas=n_betas
            )
            log_z = estimate.value - 3.0 * estimate.stderr
        rows = v.to(params.W.device, params.W.dtype)
        return float(-free_energy(rows, params).mean()) - log_z


def warn_if_below_start(params, rows, start_log_sigma, work, seed, stacklevel=6):
    """A :class:`FitQualityWarning` when the fitted model explains its
    training rows (``DeviceRows``, up to BELOW_START_ROWS of them, in training
    coordinates) worse than the diagonal Gaussian it started from: W = 0, b
    the column means, sigma as at the start (the family holds it, so this is
    never overfitting). ``params``: the fitted model on the device; ``work``:
    the fit's multiply-adds."""
    n = min(rows.shape[0], BELOW_START_ROWS)
    device = params.W.device
    order = torch.arange(n, device=device) * rows.shape[0] // n
    with torch.inference_mode():
        v = next(rows.minibatches(order, 1))
        place = likelihood_device(device)
        exact = RBMParams(*(t.to(place, torch.float64) for t in params))
        v = v.to(place, torch.float64)
        start = independent_log_likelihood(v, start_log_sigma.to(place, torch.float64))
    budget = max(BELOW_START_MIN_WORK, BELOW_START_WORK_FRACTION * work)
    model = optimistic_log_likelihood(exact, v, budget, make_generator(place, seed))
    gap = start - model
    if not gap > below_start_tolerance(v.shape[1]):
        return
    warnings.warn(
        f"The fitted model explains its training rows worse than a diagonal Gaussian: at "
        f"most {model:.6g} nats per row against {start:.6g} for the GRBM with W = 0, b the "
        f"column means and sigma as at the start, {gap:.3g} nats lower. Training has not got "
        f"as far as that Gaussian (too few epochs, or without standardize=True a visible bias "
        f"that starts at 0 and a sigma at 1 in the data's units) or has drifted away from the "
        f"data (a learning rate too large for the sampler, a fixed sigma far from the data's "
        f"spread). Try standardize=True, more epochs (n_iter), a smaller learning_rate, the "
        f"default sampler, or learn_sigma=True.",
        FitQualityWarning,
        stacklevel=stacklevel,
    )
