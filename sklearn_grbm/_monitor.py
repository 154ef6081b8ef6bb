"""What a user sees of training: the per-epoch record, the verbose lines,
held-out rows for the free-energy gap, the warning for a degenerate fit, and
a failed fit that leaves the model as it was."""

import functools
import math
import warnings

import numpy as np
import torch

from ._functional import free_energy
from ._optim import DECAY_AFTER, drop_epoch
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


def warn_if_degenerate(log_sigma, log_floor, floor, stacklevel=4):
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


def warn_past_schedule(schedule, n_iter, stacklevel=4):
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
