"""The mathematics of the Gaussian-Bernoulli RBM as pure functions on tensors.

Parameterisation (SPEC.md, seed 000 with learnable sigma): ``W`` has shape
(M, D), ``b`` (D,), ``c`` (M,), ``log_sigma`` (D,), sigma = exp(log_sigma).

    p(h_j = 1 | v) = sigmoid(c_j + sum_i W_ji v_i / sigma_i^2)
    p(v | h)       = Normal(b + W^T h, diag(sigma^2))
    F(v)           = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - sum_j softplus(c_j + ...)

Nothing here touches NumPy, the estimator or global random state: every random
draw takes an explicit ``torch.Generator``.
"""

from typing import NamedTuple

import torch
from torch.nn.functional import softplus

# Random draws are made in float32 whatever the compute dtype, so that a
# float32 and a float64 fit with one seed see the same random stream.
_DRAW_DTYPE = torch.float32


class RBMParams(NamedTuple):
    """The four parameter tensors of one model, on one device, in one dtype."""

    W: torch.Tensor
    b: torch.Tensor
    c: torch.Tensor
    log_sigma: torch.Tensor

    @property
    def inv_var(self):
        return torch.exp(-2.0 * self.log_sigma)

    @property
    def sigma(self):
        return torch.exp(self.log_sigma)


def hidden_logits(v, W, c, inv_var):
    """Pre-sigmoid hidden activations ``c + W (v / sigma^2)``, shape (n, M)."""
    return torch.addmm(c, v * inv_var, W.T)


def hidden_probs(v, W, c, inv_var):
    """``p(h = 1 | v)``, shape (n, M)."""
    return torch.sigmoid(hidden_logits(v, W, c, inv_var))


def hidden_probs_scaled(v_scaled, W, c):
    """``p(h = 1 | v)`` from ``v / sigma^2``, for callers that need both."""
    return torch.sigmoid(torch.addmm(c, v_scaled, W.T))


def visible_mean(h, W, b):
    """Mean of ``p(v | h)``: ``b + h W``, shape (n, D). It does not involve sigma."""
    return torch.addmm(b, h, W)


def sample_hidden(p, generator):
    """Bernoulli draws with probabilities ``p``, as 0.0 and 1.0 in ``p``'s dtype.

    Written as ``uniform < p`` rather than ``torch.bernoulli``, which raises on
    a NaN probability: a diverging fit carries on to the once-per-epoch
    finiteness check, which reports it. The comparison overwrites the fresh
    uniforms in place (``lt_``), which saves a boolean tensor and its
    conversion to floats.
    """
    uniform = torch.rand(p.shape, generator=generator, dtype=_DRAW_DTYPE, device=p.device)
    return uniform.to(p.dtype).lt_(p)


def sample_visible(mean, sigma, generator):
    """Draws from ``Normal(mean, diag(sigma^2))``."""
    noise = torch.randn(mean.shape, generator=generator, dtype=_DRAW_DTYPE, device=mean.device)
    return torch.addcmul(mean, noise.to(mean.dtype), sigma)


def hidden_state_log_weights(h, params, shift=None, *, inv_var=None, out=None):
    """Unnormalised log marginal of hidden states ``h`` (n, M), v integrated
    out (up to the constant ``(D/2) log(2 pi) + sum_i log sigma_i``)::

        c.h + sum_i ((b_i + (W^T h)_i)^2 - b_i^2) / (2 sigma_i^2)

    ``shift``: ``h @ W``, where the caller needs it too (the means of
    ``p(v | h)`` less ``b``); ``inv_var``: ``1 / sigma^2``, likewise;
    ``out``: an (n, D) buffer for the per-column terms, for callers that
    loop over many batches of states.
    """
    if shift is None:
        shift = h @ params.W
    inv_var = params.inv_var if inv_var is None else inv_var
    terms = torch.add(params.b, shift, alpha=0.5, out=out).mul_(shift)
    return torch.addmv(h @ params.c, terms, inv_var)


def free_energy(v, params):
    """``F(v)`` per row; ``log p(v) = -F(v) - log Z``."""
    inv_var = params.inv_var
    visible_term = 0.5 * ((v - params.b) ** 2 * inv_var).sum(dim=1)
    hidden_term = softplus(hidden_logits(v, params.W, params.c, inv_var)).sum(dim=1)
    return visible_term - hidden_term


def sampled_reconstruction(p, params, generator):
    """``b + W^T h`` with ``h`` drawn from ``p``: the mean of ``p(v | h)``."""
    return visible_mean(sample_hidden(p, generator), params.W, params.b)


def mean_field_reconstruction(v, params):
    """``b + W^T p(h | v)``: the deterministic reconstruction of ``v``."""
    return visible_mean(hidden_probs(v, params.W, params.c, params.inv_var), params.W, params.b)


def gibbs_chain(p, params, n_steps, generator, *, inv_var=None, sigma=None):
    """Run ``n_steps`` of block Gibbs sampling h -> v -> h.

    Starts from hidden probabilities ``p`` (those of the chain's current
    visible state) so that callers who already have them do not pay for them
    twice.

    Returns
    -------
    v : Tensor (n, D)
        The last visible sample.
    v_scaled : Tensor (n, D)
        ``v / sigma^2``, as computed for ``p``.
    p : Tensor (n, M)
        ``p(h = 1 | v)`` at that sample.
    first_mean : Tensor (n, D)
        ``b + W^T h`` of the first step (the one-step sampled reconstruction).
    """
    inv_var = params.inv_var if inv_var is None else inv_var
    sigma = params.sigma if sigma is None else sigma
    first_mean = None
    for _ in range(n_steps):
        mean = sampled_reconstruction(p, params, generator)
        if first_mean is None:
            first_mean = mean
        v = sample_visible(mean, sigma, generator)
        v_scaled = v * inv_var
        p = hidden_probs_scaled(v_scaled, params.W, params.c)
    return v, v_scaled, p, first_mean


def contrastive_gradients(
    vs_pos, p_pos, vs_neg, p_neg, params, *, inv_var, learn_sigma, weight_decay, weights_neg=None
):
    """Closed-form gradient of ``mean F(v_pos) - mean F(v_neg)`` (+ L2 on W).

    Takes the visibles already scaled, ``vs = v / sigma^2`` (the hidden
    probabilities needed them too), and ``p = p(h = 1 | v)`` at both sets of
    rows. The negative rows are constants (as after ``.detach()`` in the seed
    notebook), weighted by ``weights_neg`` (n_neg,), summing to one, if given
    (importance weights), else equally.

    The sigma gradient reuses the (M, D) matrix of the W gradient:
    ``mean_n v_i (p_n W)_i / sigma_i^2 = sum_j W_ji (P^T V / sigma^2)_ji / n``,
    so learning sigma costs no extra matrix product.

    Returns
    -------
    dict of Tensor
        Gradients keyed ``"W"``, ``"b"``, ``"c"`` and, when ``learn_sigma``,
        ``"log_sigma"``.
    """
    n_pos, n_neg = vs_pos.shape[0], vs_neg.shape[0]

    def negative_mean(x):
        return x.mean(dim=0) if weights_neg is None else weights_neg @ x

    # Scaling the (n, M) probabilities is cheaper than the (M, D) product.
    p_weighted = p_neg * (1.0 / n_neg) if weights_neg is None else p_neg * weights_neg[:, None]
    grad_W = torch.mm(p_weighted.T, vs_neg)
    grad_W.addmm_(p_pos.T, vs_pos, alpha=-1.0 / n_pos)
    grads = {
        "W": grad_W,
        "b": negative_mean(vs_neg) - vs_pos.mean(dim=0),
        "c": negative_mean(p_neg) - p_pos.mean(dim=0),
    }
    if learn_sigma:
        # (v - b)^2 / sigma^2 = (vs - b / sigma^2)^2 * sigma^2
        b_scaled = params.b * inv_var
        sq_pos = ((vs_pos - b_scaled) ** 2).mean(dim=0)
        sq_neg = negative_mean((vs_neg - b_scaled) ** 2)
        grads["log_sigma"] = (sq_neg - sq_pos) / inv_var - 2.0 * (params.W * grad_W).sum(dim=0)
    if weight_decay:
        grad_W.add_(params.W, alpha=weight_decay)
    return grads


# ---------------------------------------------------------------- tempering
#
# The tempered family is the one AIS anneals through: the GRBM with weights
# beta * W and the same b, c, sigma. At beta = 0 it is the tractable base
# model (v ~ N(b, sigma^2), h ~ Bernoulli(sigmoid(c))), at beta = 1 the model.


def tempered_weights(v, W, inv_var):
    """``W (v / sigma^2)`` for chains of shape (..., n, D): shape (..., n, M)."""
    return (v * inv_var) @ W.T


def tempered_gibbs_step(v, beta, params, generator, *, inv_var, sigma, weighted=None):
    """One Gibbs step v -> h -> v at inverse temperature ``beta`` (weights beta W).

    ``v`` has shape (..., n, D); ``beta`` is a float or a tensor that
    broadcasts against (..., n, 1), e.g. shape (K, 1, 1) for K tempered
    chains. ``weighted``, if the caller has it, is ``tempered_weights(v)``.
    Annealed importance sampling and parallel tempering both step with this.
    """
    if weighted is None:
        weighted = tempered_weights(v, params.W, inv_var)
    h = sample_hidden(torch.sigmoid(params.c + beta * weighted), generator)
    return sample_visible(params.b + beta * (h @ params.W), sigma, generator)


def swap_tempered_chains(v, betas, params, generator, *, inv_var, parity):
    """Metropolis swaps between the neighbouring temperatures (k, k + 1) with
    ``k % 2 == parity``; returns the new chains and the boolean acceptance
    mask, shape (pairs, n), left on the device (no host sync per step).

    A swap of v_k and v_l is accepted with probability
    ``min(1, exp(F_k(v_k) + F_l(v_l) - F_k(v_l) - F_l(v_k)))``, where F_beta is
    the free energy at weights beta W; its quadratic terms cancel.
    """
    K = v.shape[0]
    lower = torch.arange(parity, K - 1, 2, device=v.device)
    if lower.numel() == 0:
        return v, torch.zeros((0, v.shape[1]), dtype=torch.bool, device=v.device)
    upper = lower + 1
    x = tempered_weights(v, params.W, inv_var)

    def softplus_sum(beta_index, chain_index):
        return softplus(params.c + betas[beta_index, None, None] * x[chain_index]).sum(dim=-1)

    # -F_beta(v) = softplus_sum - quadratic; the quadratics cancel in the ratio.
    log_accept = (
        softplus_sum(lower, upper)
        + softplus_sum(upper, lower)
        - softplus_sum(lower, lower)
        - softplus_sum(upper, upper)
    )
    uniform = torch.rand(log_accept.shape, generator=generator, dtype=_DRAW_DTYPE, device=v.device)
    accept = torch.log(uniform.to(log_accept.dtype)) < log_accept  # (pairs, n)
    swapped = v.clone()
    mask = accept[..., None]
    swapped[lower] = torch.where(mask, v[upper], v[lower])
    swapped[upper] = torch.where(mask, v[lower], v[upper])
    return swapped, accept


def annealed_chains(params, generator, n_chains, n_steps):
    """Annealed importance sampling of the model along a path that keeps each
    hidden unit's weight: chains for training's negative phase.

    The path's GRBMs have weights ``beta W`` and hidden biases
    ``c_beta = c + (1 - beta) s + (1 - beta^2) q`` with
    ``s_j = sum_i b_i W_ji / sigma_i^2`` and ``q_j = sum_i W_ji^2 / (2 sigma_i^2)``,
    so that the state with unit j alone on has the same log weight at every
    beta. The start (beta = 0) draws h with each unit at the model's odds of
    that one-unit state and v from ``Normal(b, sigma^2)``; as beta rises to
    1 in ``n_steps`` Gibbs steps the visibles move out with their hidden
    states to ``b + W^T h``. Along AIS's usual path (``c`` fixed) the hidden
    units are off until beta is near 1, and chains would then have to cross
    from ``b`` to modes many sigma away.

    Returns the chains' visible states (n_chains, D) and their log importance
    weights (n_chains,), in the parameters' dtype.
    """
    inv_var, sigma, W = params.inv_var, params.sigma, params.W
    W_scaled = W * inv_var
    shift = W_scaled @ params.b
    spread = 0.5 * (W * W_scaled).sum(dim=1)
    # One row of hidden biases per beta, made before the loop: each step is then a
    # dozen small kernels, which is what a step costs on 2-D data with 64 units.
    betas = torch.arange(n_steps + 2, dtype=W.dtype, device=W.device) / (n_steps + 1)
    c_path = (params.c + shift + spread) - betas[:, None] * shift - betas[:, None] ** 2 * spread
    c_rows, c_steps = c_path.unbind(0), c_path.diff(dim=0).unbind(0)
    v = sample_visible(params.b.expand(n_chains, -1).contiguous(), sigma, generator)
    log_w_terms = torch.zeros(n_chains, W.shape[0], dtype=W.dtype, device=W.device)
    for k in range(1, n_steps + 2):
        beta, previous = k / (n_steps + 1), (k - 1) / (n_steps + 1)
        x = v @ W_scaled.T
        # Each unit's log weight gain softplus(a + d) - softplus(a) is
        # log1p(sigmoid(a) expm1(d)), and sigmoid(a + d) = sigmoid(a) exp(d - gain):
        # one sigmoid and a few cheap maps instead of two softplus and a sigmoid,
        # which in float64 are most of a step's time.
        p_before = torch.sigmoid(torch.add(c_rows[k - 1], x, alpha=previous))
        step = torch.add(c_steps[k - 1], x, alpha=beta - previous)
        gain = torch.log1p(p_before * torch.expm1(step))
        log_w_terms += gain
        if k <= n_steps:
            h = sample_hidden(p_before * torch.exp(step - gain), generator)
            v = sample_visible(torch.addmm(params.b, h, W, alpha=beta), sigma, generator)
    return v, log_w_terms.sum(dim=1)


def temperature_ladder(n_temperatures, dtype, device):
    """Inverse temperatures from 1 (the model) down to 0 (the base model)."""
    return torch.linspace(1.0, 0.0, n_temperatures, dtype=dtype, device=device)


def parallel_tempering(v, betas, params, n_steps, generator, *, first_parity=0):
    """``n_steps`` of parallel tempering: a Gibbs step at every temperature,
    then swaps between alternating neighbour pairs. Returns the chains."""
    inv_var, sigma = params.inv_var, params.sigma
    scale = betas[:, None, None]
    for step in range(n_steps):
        v = tempered_gibbs_step(v, scale, params, generator, inv_var=inv_var, sigma=sigma)
        v, _ = swap_tempered_chains(
            v, betas, params, generator, inv_var=inv_var, parity=(first_parity + step) % 2
        )
    return v


# ---------------------------------------------------------------- Langevin


def langevin_visible(v, mean, sigma, n_steps, step_size, generator, *, adjust=False):
    """Langevin steps on ``v`` targeting ``p(v | h) = Normal(mean, diag(sigma^2))``.

    The gradient is the per-sample energy gradient ``(v - mean) / sigma^2``
    (never averaged over the batch), preconditioned by ``sigma^2``: a step is
    ``v - step_size (v - mean) + sqrt(2 step_size) sigma noise``. Unadjusted,
    the stationary variance is ``sigma^2 / (1 - step_size / 2)``; with
    ``adjust`` (MALA: a Metropolis-Hastings test per step and row) it is
    exactly ``sigma^2``.
    """
    root = (2.0 * step_size) ** 0.5
    for _ in range(n_steps):
        drift = v - step_size * (v - mean)
        noise = torch.randn(v.shape, generator=generator, dtype=_DRAW_DTYPE, device=v.device).to(
            v.dtype
        )
        proposal = torch.addcmul(drift, noise, sigma, value=root)
        if adjust:
            v = _mala_accept(v, proposal, mean, sigma, step_size, generator)
        else:
            v = proposal
    return v


def _mala_accept(v, proposal, mean, sigma, step_size, generator):
    def log_target(x):
        return -0.5 * (((x - mean) / sigma) ** 2).sum(dim=1)

    def log_proposal(to, frm):  # log q(to | frm), up to a constant that cancels
        centre = frm - step_size * (frm - mean)
        return -(((to - centre) / sigma) ** 2).sum(dim=1) / (4.0 * step_size)

    log_ratio = (
        log_target(proposal) - log_target(v) + log_proposal(v, proposal) - log_proposal(proposal, v)
    )
    uniform = torch.rand(log_ratio.shape, generator=generator, dtype=_DRAW_DTYPE, device=v.device)
    accept = (torch.log(uniform.to(v.dtype)) < log_ratio)[:, None]
    return torch.where(accept, proposal, v)


def gibbs_langevin_chain(
    v, params, n_steps, generator, *, n_langevin_steps, step_size, adjust=False
):
    """Gibbs-Langevin sampling (Liao et al. 2022): h ~ p(h | v) by Gibbs, then
    ``n_langevin_steps`` Langevin steps for v given h, ``n_steps`` times.
    Returns the last visible state and ``p(h = 1 | v)`` there."""
    inv_var, sigma = params.inv_var, params.sigma
    p = hidden_probs(v, params.W, params.c, inv_var)
    for _ in range(n_steps):
        mean = sampled_reconstruction(p, params, generator)
        v = langevin_visible(v, mean, sigma, n_langevin_steps, step_size, generator, adjust=adjust)
        p = hidden_probs(v, params.W, params.c, inv_var)
    return v, p
