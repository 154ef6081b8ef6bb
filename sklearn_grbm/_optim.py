"""Adam and SGD with momentum on explicit state.

The update rules are those of ``torch.optim.Adam`` and ``torch.optim.SGD``
(defaults betas=(0.9, 0.999), eps=1e-8; momentum without dampening), written
out so that their state is a plain dict of tensors the estimator can keep as
NumPy between ``partial_fit`` calls and across pickling.
"""

import math

import torch
from torch.optim.adam import adam as _functional_adam

from ._device import to_tensor

#: ``learning_rate_schedule="step"``: the step sizes fall by STEP_DROP_FACTOR
#: after STEP_DROP_AT of the ``n_iter`` epochs.
STEP_DROP_AT = 2 / 3
STEP_DROP_FACTOR = 0.1
#: ``"decay"``: ``"step"`` as for a fit of at most DECAY_AFTER epochs, then
#: the low step falls as ``DECAY_AFTER / (epoch + 1)``.
DECAY_AFTER = 25
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
# Where torch's fused Adam kernel is used; elsewhere (MPS, say) the same rule
# runs as separate tensor operations.
FUSED_ADAM_DEVICES = ("cpu", "cuda")


def learning_rate_factor(schedule, epoch, n_epochs):
    """What the step sizes are multiplied by in epoch ``epoch`` (from 0) of a
    fit of ``n_epochs``.

    ``"constant"``: 1 throughout. ``"step"``: 1 for the first
    ``ceil(STEP_DROP_AT * n_epochs)`` epochs and STEP_DROP_FACTOR from then on
    (also past ``n_epochs``, in later ``partial_fit`` calls). ``"decay"``: the
    step schedule of a fit of ``min(n_epochs, DECAY_AFTER)`` epochs, and from
    epoch DECAY_AFTER on STEP_DROP_FACTOR times ``DECAY_AFTER / (epoch + 1)``,
    so that a longer fit is the DECAY_AFTER-epoch fit continued at ever smaller
    steps whose sum grows only as the logarithm of the epochs. The epoch alone
    decides, so that ``fit`` and as many ``partial_fit`` calls take the same
    steps.
    """
    if schedule == "constant":
        return 1.0
    if epoch < drop_epoch(schedule, n_epochs):
        return 1.0
    if schedule == "step":
        return STEP_DROP_FACTOR
    return STEP_DROP_FACTOR * min(1.0, DECAY_AFTER / (epoch + 1))


def drop_epoch(schedule, n_epochs):
    """The first epoch (from 0) at a tenth of the step, for ``"step"`` and
    ``"decay"``."""
    if schedule == "step":
        return math.ceil(STEP_DROP_AT * n_epochs)
    if schedule == "decay":
        return math.ceil(STEP_DROP_AT * min(n_epochs, DECAY_AFTER))
    raise ValueError(f"unknown learning_rate_schedule {schedule!r}")


def init_state(kind, params):
    """Fresh optimizer state for the named tensors in ``params``."""
    if kind == "adam":
        slots = ("exp_avg", "exp_avg_sq")
    elif kind == "sgd":
        slots = ("momentum_buffer",)
    else:
        raise ValueError(f"unknown optimizer {kind!r}")
    state = {"kind": kind, "step": 0}
    for name, tensor in params.items():
        state[name] = {slot: torch.zeros_like(tensor) for slot in slots}
    return state


def step(
    state, params, grads, *, learning_rate, momentum=0.9, learning_rates=None, max_row_norms=None
):
    """Update ``params[name]`` in place for every ``name`` in ``grads``.

    ``learning_rates`` maps names to step sizes of their own (others use
    ``learning_rate``); ``max_row_norms`` maps names of 2-D parameters to a
    cap on the L2 norm of each row's update in this step.
    """
    state["step"] += 1
    learning_rates = learning_rates or {}
    max_row_norms = max_row_norms or {}
    fused = []
    if state["kind"] == "adam" and next(iter(params.values())).device.type in FUSED_ADAM_DEVICES:
        fused = [
            name
            for name in grads
            if name not in max_row_norms and _same_layout(state, params, grads, name)
        ]
        for rate in {learning_rates.get(name, learning_rate) for name in fused}:
            names = [name for name in fused if learning_rates.get(name, learning_rate) == rate]
            _fused_adam(state, params, grads, names, rate)
    for name, grad in grads.items():
        if name in fused:
            continue
        rate = learning_rates.get(name, learning_rate)
        if state["kind"] == "adam":
            numerator, denom, rate = _adam_moments(state, name, grad, rate)
            direction = numerator / denom
        else:
            direction = _sgd_direction(state, name, grad, momentum)
        if name in max_row_norms:
            direction = _cap_row_norms(direction, max_row_norms[name] / rate)
        params[name].add_(direction, alpha=-rate)


def _same_layout(state, params, grads, name):
    """Whether the fused kernel may pair the elements of these tensors by
    memory position: all contiguous (a transposed parameter beside a
    contiguous gradient would be updated with the wrong entries)."""
    slot = state[name]
    tensors = (params[name], grads[name], slot["exp_avg"], slot["exp_avg_sq"])
    return all(t.is_contiguous() for t in tensors)


def _fused_adam(state, params, grads, names, learning_rate):
    """Adam on ``names`` in one fused kernel per tensor (torch's own, the rule
    of ``_adam_moments`` in a single pass over memory instead of six)."""
    device = params[names[0]].device
    # The kernel counts the step itself; a fill, not a host-to-device copy.
    steps = [torch.full((), state["step"] - 1, dtype=torch.float32, device=device) for _ in names]
    _functional_adam(
        [params[name] for name in names],
        [grads[name] for name in names],
        [state[name]["exp_avg"] for name in names],
        [state[name]["exp_avg_sq"] for name in names],
        [],
        steps,
        fused=True,
        amsgrad=False,
        beta1=ADAM_BETAS[0],
        beta2=ADAM_BETAS[1],
        lr=learning_rate,
        weight_decay=0.0,
        eps=ADAM_EPS,
        maximize=False,
    )


def _adam_moments(state, name, grad, learning_rate):
    """Update Adam's moments of ``name``; return the step's numerator,
    denominator and bias-corrected step size."""
    beta1, beta2 = ADAM_BETAS
    t = state["step"]
    root_correction = math.sqrt(1.0 - beta2**t)
    slot = state[name]
    slot["exp_avg"].lerp_(grad, 1.0 - beta1)
    slot["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
    denom = (slot["exp_avg_sq"].sqrt() / root_correction).add_(ADAM_EPS)
    return slot["exp_avg"], denom, learning_rate / (1.0 - beta1**t)


def _sgd_direction(state, name, grad, momentum):
    buf = state[name]["momentum_buffer"]
    if state["step"] == 1:
        buf.copy_(grad)
    else:
        buf.mul_(momentum).add_(grad)
    return buf


def _cap_row_norms(direction, max_norm):
    """``direction`` with every row scaled down to an L2 norm of at most ``max_norm``."""
    norms = torch.linalg.vector_norm(direction, dim=1, keepdim=True)
    return direction * (max_norm / norms.clamp(min=max_norm))


def state_to_numpy(state):
    """Copy of ``state`` with tensors as NumPy arrays (device-independent)."""
    return {
        key: (
            {slot: t.detach().cpu().numpy() for slot, t in value.items()}
            if isinstance(value, dict)
            else value
        )
        for key, value in state.items()
    }


def state_from_numpy(state, device, dtype):
    """Inverse of :func:`state_to_numpy`, copying onto ``device``."""
    return {
        key: (
            {slot: to_tensor(a, device, dtype, copy=True) for slot, a in value.items()}
            if isinstance(value, dict)
            else value
        )
        for key, value in state.items()
    }
