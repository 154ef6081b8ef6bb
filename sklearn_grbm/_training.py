"""One epoch of contrastive-divergence training, entirely on the device.

The estimator owns validation, NumPy conversion and reporting; this module
only sees tensors: the training data (already on the device), the parameters,
the optimizer state and the persistent chains.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.functional import mse_loss

from . import _optim
from ._functional import (
    RBMParams,
    contrastive_gradients,
    gibbs_chain,
    gibbs_langevin_chain,
    hidden_probs,
    hidden_probs_scaled,
    parallel_tempering,
    sample_hidden,
    temperature_ladder,
    visible_mean,
)


@dataclass(frozen=True)
class TrainingConfig:
    learning_rate: float
    batch_size: int
    n_gibbs_steps: int
    sampler: str
    learn_sigma: bool
    optimizer: str
    momentum: float
    weight_decay: float
    log_sigma_floor: float
    n_temperatures: int = 10
    n_langevin_steps: int = 10
    langevin_step_size: float = 0.1
    langevin_adjust: bool = False
    sigma_learning_rate: float | None = None
    max_update_norm: float | None = None


class DeviceRows:
    """Training rows resident on the device: a minibatch is an index_select."""

    def __init__(self, X):
        self.X = X
        self.shape = tuple(X.shape)

    def minibatches(self, order, n_batches):
        for rows in torch.tensor_split(order, n_batches):
            yield self.X.index_select(0, rows)


class StreamedRows:
    """Training rows left in host memory or a memmap; each minibatch is
    gathered there and copied to the device on its own (out-of-core)."""

    def __init__(self, X, device, dtype):
        self.X, self.device, self.dtype = X, device, dtype
        self.shape = tuple(X.shape)

    def minibatches(self, order, n_batches):
        pinned = self.device.type == "cuda"
        for rows in np.array_split(order.cpu().numpy(), n_batches):
            batch = torch.from_numpy(np.take(self.X, rows, axis=0))
            if pinned:
                batch = batch.pin_memory()
            yield batch.to(self.device, self.dtype, non_blocking=pinned)


def run_epoch(X, params, opt_state, chains, config, generator, on_batch=None):
    """One shuffled pass over the rows of ``X`` in minibatches.

    Both kinds of rows split the same permutation the same way, so on the CPU
    a streamed fit and a resident one are bit for bit the same.

    Parameters
    ----------
    X : DeviceRows or StreamedRows
    params : dict of Tensor
        ``W``, ``b``, ``c``, ``log_sigma``; updated in place.
    opt_state : dict
        From ``_optim.init_state``; updated in place.
    chains : Tensor or None
        Persistent visible chains: (n_chains, D) for ``sampler="pcd"``,
        (n_temperatures, n_chains, D) for ``sampler="pt"`` (chain 0 at the
        model's temperature); ``None`` starts them from the first minibatch.
    on_batch : callable or None
        Called as ``on_batch(i, n_batches)`` after each minibatch.

    Returns
    -------
    squared_error : Tensor (0-d)
        Mean over all entries of ``(v - b - W^T h)^2``, h sampled from
        ``p(h | v)`` with the parameters of the moment each minibatch was
        used. A device tensor: reading it is the epoch's only host sync.
    chains : Tensor or None
        The persistent chains after the epoch.
    """
    n_samples, n_features = X.shape
    n_batches = max(1, math.ceil(n_samples / config.batch_size))
    device = params["W"].device
    order = torch.randperm(n_samples, generator=generator, device=device)
    # float64 sums, except on MPS, which has no float64.
    sum_dtype = torch.float32 if device.type == "mps" else torch.float64
    squared_error = torch.zeros((), dtype=sum_dtype, device=device)
    train_names = ("W", "b", "c", "log_sigma") if config.learn_sigma else ("W", "b", "c")
    step_options = dict(learning_rate=config.learning_rate, momentum=config.momentum)
    if config.sigma_learning_rate is not None:
        step_options["learning_rates"] = {"log_sigma": config.sigma_learning_rate}
    if config.max_update_norm is not None:
        step_options["max_row_norms"] = {"W": config.max_update_norm}
    for i, v_pos in enumerate(X.minibatches(order, n_batches)):
        model = RBMParams(params["W"], params["b"], params["c"], params["log_sigma"])
        inv_var, sigma = model.inv_var, model.sigma
        vs_pos = v_pos * inv_var
        p_pos = hidden_probs_scaled(vs_pos, model.W, model.c)
        chain_options = dict(inv_var=inv_var, sigma=sigma, return_scaled=True)
        if config.sampler == "cd":
            _, p_neg, recon, vs_neg = gibbs_chain(
                p_pos, model, config.n_gibbs_steps, generator, **chain_options
            )
        elif config.sampler == "langevin":
            v_neg, p_neg = gibbs_langevin_chain(
                v_pos,
                model,
                config.n_gibbs_steps,
                generator,
                n_langevin_steps=config.n_langevin_steps,
                step_size=config.langevin_step_size,
                adjust=config.langevin_adjust,
            )
            vs_neg = v_neg * inv_var
            recon = visible_mean(sample_hidden(p_pos, generator), model.W, model.b)
        elif config.sampler == "pt":
            if chains is None:
                chains = v_pos.expand(config.n_temperatures, -1, -1).clone()
            betas = temperature_ladder(config.n_temperatures, v_pos.dtype, device)
            chains = parallel_tempering(
                chains, betas, model, config.n_gibbs_steps, generator, first_parity=opt_state["step"] % 2
            )
            vs_neg = chains[0] * inv_var
            p_neg = hidden_probs_scaled(vs_neg, model.W, model.c)
            recon = visible_mean(sample_hidden(p_pos, generator), model.W, model.b)
        else:
            if chains is None:
                chains = v_pos.clone()
            p_start = hidden_probs(chains, model.W, model.c, inv_var)
            chains, p_neg, _, vs_neg = gibbs_chain(
                p_start, model, config.n_gibbs_steps, generator, **chain_options
            )
            recon = visible_mean(sample_hidden(p_pos, generator), model.W, model.b)
        squared_error += mse_loss(recon, v_pos, reduction="sum")
        grads = contrastive_gradients(
            vs_pos,
            p_pos,
            vs_neg,
            p_neg,
            model,
            inv_var=inv_var,
            learn_sigma=config.learn_sigma,
            weight_decay=config.weight_decay,
        )
        _optim.step(
            opt_state,
            {name: params[name] for name in train_names},
            grads,
            **step_options,
        )
        if config.learn_sigma:
            params["log_sigma"].clamp_(min=config.log_sigma_floor)
        if on_batch is not None:
            on_batch(i, n_batches)
    return squared_error / (n_samples * n_features), chains


def all_finite(params):
    """Whether every parameter tensor is free of NaN and infinity."""
    return all(bool(torch.isfinite(t).all()) for t in params.values())
