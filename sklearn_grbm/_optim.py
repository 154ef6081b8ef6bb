"""Adam and SGD with momentum on explicit state.

The update rules are those of ``torch.optim.Adam`` and ``torch.optim.SGD``
(defaults betas=(0.9, 0.999), eps=1e-8; momentum without dampening), written
out so that their state is a plain dict of tensors the estimator can keep as
NumPy between ``partial_fit`` calls and across pickling.
"""

import math

import torch

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


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


def step(state, params, grads, *, learning_rate, momentum=0.9):
    """Update ``params[name]`` in place for every ``name`` in ``grads``."""
    state["step"] += 1
    if state["kind"] == "adam":
        _adam(state, params, grads, learning_rate)
    else:
        _sgd(state, params, grads, learning_rate, momentum)


def _adam(state, params, grads, learning_rate):
    beta1, beta2 = ADAM_BETAS
    t = state["step"]
    step_size = learning_rate / (1.0 - beta1**t)
    root_correction = math.sqrt(1.0 - beta2**t)
    for name, grad in grads.items():
        slot = state[name]
        slot["exp_avg"].lerp_(grad, 1.0 - beta1)
        slot["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
        denom = (slot["exp_avg_sq"].sqrt() / root_correction).add_(ADAM_EPS)
        params[name].addcdiv_(slot["exp_avg"], denom, value=-step_size)


def _sgd(state, params, grads, learning_rate, momentum):
    for name, grad in grads.items():
        buf = state[name]["momentum_buffer"]
        if state["step"] == 1:
            buf.copy_(grad)
        else:
            buf.mul_(momentum).add_(grad)
        params[name].add_(buf, alpha=-learning_rate)


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
            {
                slot: torch.tensor(a, device=device, dtype=dtype)
                for slot, a in value.items()
            }
            if isinstance(value, dict)
            else value
        )
        for key, value in state.items()
    }
