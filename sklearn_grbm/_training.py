"""One epoch of contrastive-divergence training, entirely on the device.

The estimator owns validation, NumPy conversion and reporting; this module
only sees tensors: the training data (already on the device), the parameters,
the optimizer state and the persistent chains.
"""

import math
from dataclasses import dataclass

import torch

from . import _optim
from ._functional import (
    RBMParams,
    contrastive_gradients,
    gibbs_chain,
    hidden_probs,
    sample_hidden,
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


def run_epoch(X, params, opt_state, chains, config, generator, on_batch=None):
    """One shuffled pass over the rows of ``X`` in minibatches.

    Parameters
    ----------
    X : Tensor of shape (n_samples, n_features), on the training device.
    params : dict of Tensor
        ``W``, ``b``, ``c``, ``log_sigma``; updated in place.
    opt_state : dict
        From ``_optim.init_state``; updated in place.
    chains : Tensor or None
        Persistent visible chains for ``sampler="pcd"``; ``None`` starts them
        from the first minibatch.
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
    n_samples = X.shape[0]
    n_batches = max(1, math.ceil(n_samples / config.batch_size))
    order = torch.randperm(n_samples, generator=generator, device=X.device)
    squared_error = torch.zeros((), dtype=torch.float64, device=X.device)
    train_names = ("W", "b", "c", "log_sigma") if config.learn_sigma else ("W", "b", "c")
    for i, rows in enumerate(torch.tensor_split(order, n_batches)):
        v_pos = X.index_select(0, rows)
        model = RBMParams(params["W"], params["b"], params["c"], params["log_sigma"])
        inv_var, sigma = model.inv_var, model.sigma
        p_pos = hidden_probs(v_pos, model.W, model.c, inv_var)
        if config.sampler == "cd":
            v_neg, p_neg, recon = gibbs_chain(
                p_pos, model, config.n_gibbs_steps, generator, inv_var=inv_var, sigma=sigma
            )
        else:
            if chains is None:
                chains = v_pos.clone()
            p_start = hidden_probs(chains, model.W, model.c, inv_var)
            v_neg, p_neg, _ = gibbs_chain(
                p_start, model, config.n_gibbs_steps, generator, inv_var=inv_var, sigma=sigma
            )
            chains = v_neg
            recon = visible_mean(sample_hidden(p_pos, generator), model.W, model.b)
        squared_error += (recon - v_pos).pow_(2).sum()
        grads = contrastive_gradients(
            v_pos,
            p_pos,
            v_neg,
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
            learning_rate=config.learning_rate,
            momentum=config.momentum,
        )
        if config.learn_sigma:
            params["log_sigma"].clamp_(min=config.log_sigma_floor)
        if on_batch is not None:
            on_batch(i, n_batches)
    return squared_error / X.numel(), chains


def all_finite(params):
    """Whether every parameter tensor is free of NaN and infinity."""
    return all(bool(torch.isfinite(t).all()) for t in params.values())
