"""The log partition function: exact enumeration and annealed importance sampling.

    log Z = (D/2) log(2 pi) + sum_i log sigma_i
            + logsumexp_h [ c.h + sum_i ((b_i + (W^T h)_i)^2 - b_i^2) / (2 sigma_i^2) ]

Exact enumeration visits all 2^M hidden states in batches on the device. AIS
anneals from the base model with W = 0 (same b, c, sigma), which is tractable,
to the model through the GRBMs with weights beta W; every intermediate model
is a GRBM, so its Gibbs transitions are the ordinary ones.
"""

import dataclasses
import hashlib
import math
import warnings
from dataclasses import dataclass
from numbers import Integral
from typing import NamedTuple

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from torch.nn.functional import softplus

from ._functional import (
    RBMParams,
    free_energy,
    hidden_state_log_weights,
    sample_visible,
    tempered_gibbs_step,
    tempered_weights,
)
from ._random import make_generator
from .exceptions import AISWarning

#: ``method="exact"`` enumerates at most 2^EXACT_MAX_COMPONENTS hidden states;
#: ``method="auto"`` enumerates when that takes at most EXACT_MAX_MULTIPLY_ADDS
#: (about a second on a 2-core CPU), and runs AIS otherwise.
EXACT_MAX_COMPONENTS = 30
EXACT_MAX_MULTIPLY_ADDS = 4e9
METHODS = ("auto", "exact", "ais")


#: ``n_betas=None`` spends about this many multiply-adds on AIS, within
#: [AIS_MIN_BETAS, AIS_MAX_BETAS] inverse temperatures (see ais_betas).
AIS_BUDGET_MULTIPLY_ADDS = 2e10
AIS_MIN_BETAS, AIS_MAX_BETAS = 1000, 5000
#: While the standard error of log Z is above AIS_TARGET_STDERR nats, the
#: default AIS doubles its temperatures (up to AIS_MAX_DOUBLINGS times), or,
#: with n_betas given, adds chains in batches of AIS_CHAIN_BATCH up to
#: AIS_MAX_CHAINS (see log_partition_ais).
AIS_CHAIN_BATCH, AIS_MAX_CHAINS, AIS_TARGET_STDERR, AIS_MAX_DOUBLINGS = 100, 1000, 0.05, 3
#: An AIS estimate whose weights have an effective sample size below this
#: fraction of its chains is reported as unsure.
AIS_MIN_ESS_FRACTION = 0.1
#: After AIS, the hidden modes reached by ascent (:func:`hidden_modes`) from
#: every unit on, every unit off and MODE_RANDOM_STARTS random states bound
#: log Z from below; where they exceed the AIS estimate by more than
#: MODE_MARGIN nats plus three standard errors, AIS has missed them.
MODE_RANDOM_STARTS, MODE_MARGIN = 16, 0.1
#: The ascent stops where no single flip gains more than this many nats.
MODE_MIN_GAIN = 1e-5


def ais_betas(n_components, n_features, n_chains):
    """Inverse temperatures for AIS when none are given: as many as the
    budget allows (two products of n_chains x D x M per temperature)."""
    per_beta = 2.0 * n_chains * n_components * n_features
    return int(min(AIS_MAX_BETAS, max(AIS_MIN_BETAS, AIS_BUDGET_MULTIPLY_ADDS / per_beta)))


@dataclass(frozen=True)
class LogPartition:
    """An estimate of log Z in nats.

    ``stderr`` is 0 for the exact value; for AIS it is the delta-method
    standard error of the log-mean-exp of the importance weights, and
    ``ess`` the effective sample size of those weights,
    ``(sum w)^2 / sum w^2`` (NaN when exact).
    """

    value: float
    stderr: float
    method: str
    ess: float = float("nan")
    n_chains: int = 0
    n_betas: int = 0
    #: Nats by which the AIS estimate fell below the weight of the hidden
    #: modes found after it (``value`` is then that weight); 0 otherwise.
    missed: float = 0.0

    @property
    def unsure(self):
        """Whether AIS missed its standard-error target, its weights rest on
        a small fraction of its chains (see AIS_MIN_ESS_FRACTION) or it
        missed hidden modes that outweigh its estimate."""
        if self.method != "ais":
            return False
        return (
            self.stderr > AIS_TARGET_STDERR
            or self.ess < AIS_MIN_ESS_FRACTION * self.n_chains
            or self.missed > 0.0
        )


def exact_is_affordable(n_components, n_features):
    """Whether ``method="auto"`` should enumerate the hidden states."""
    work = (2.0**n_components) * n_components * n_features
    return n_components <= EXACT_MAX_COMPONENTS and work <= EXACT_MAX_MULTIPLY_ADDS


def choose_method(method, n_components, n_features):
    """``"exact"`` or ``"ais"`` for a requested ``method`` (one of METHODS)."""
    if method not in METHODS:
        raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}")
    if method == "auto":
        return "exact" if exact_is_affordable(n_components, n_features) else "ais"
    if method == "exact" and n_components > EXACT_MAX_COMPONENTS:
        raise ValueError(
            f"method='exact' enumerates 2^n_components hidden states; "
            f"n_components={n_components} is above {EXACT_MAX_COMPONENTS}: use 'ais'"
        )
    return method


def likelihood_device(device):
    """Where log Z is computed: the importance weights and the enumeration
    need float64, which Apple's MPS lacks, so the CPU stands in for it."""
    return torch.device("cpu") if device.type == "mps" else device


def gaussian_constant(log_sigma):
    """``(D/2) log(2 pi) + sum(log sigma)``: minus the log density of a
    diagonal Gaussian at its mean (a float)."""
    n_features = log_sigma.shape[0]
    return 0.5 * n_features * math.log(2.0 * math.pi) + float(log_sigma.sum())


def hidden_states(W, max_batch_elements, *, width=None):
    """All 2^M hidden states (float64 rows), in batches of at most about
    ``max_batch_elements`` entries of ``h @ W`` (rows of ``width`` entries,
    D by default)."""
    n_components, n_features = W.shape
    n_states = 2**n_components
    width = n_features if width is None else width
    batch = max(1, min(n_states, max_batch_elements // max(width, 1)))
    bits = torch.arange(n_components, device=W.device)
    for start in range(0, n_states, batch):
        codes = torch.arange(start, min(start + batch, n_states), device=W.device)
        yield ((codes[:, None] >> bits) & 1).to(torch.float64)


def log_partition_exact(params, *, max_batch_elements=2**22):
    """Exact log Z by enumerating the 2^M hidden states (float64)."""
    params = RBMParams(*(t.to(torch.float64) for t in params))
    W, inv_var = params.W, params.inv_var
    # Two buffers for every batch's (n, D) products: a fresh pair per batch
    # left glibc's heap growing by about one batch each (5 GB over the 2^20
    # states of 20 units on 784 columns, out of memory at 23).
    shift = terms = None
    partial = []
    for h in hidden_states(W, max_batch_elements):
        if shift is None:
            shift = torch.empty(h.shape[0], W.shape[1], dtype=W.dtype, device=W.device)
            terms = torch.empty_like(shift)
        n = h.shape[0]
        torch.mm(h, W, out=shift[:n])
        log_weights = hidden_state_log_weights(h, params, shift[:n], inv_var=inv_var, out=terms[:n])
        partial.append(torch.logsumexp(log_weights, dim=0))
    log_sum = float(torch.logsumexp(torch.stack(partial), dim=0))
    return LogPartition(
        value=gaussian_constant(params.log_sigma) + log_sum, stderr=0.0, method="exact"
    )


def hidden_modes(params, starts, max_flips=None):
    """Local maxima of the hidden states' log weight (v integrated out), by
    ascent from each row of ``starts`` (n, M) in {0, 1}: each step flips, in
    every row not yet at a maximum, the one unit whose flip gains most, until
    no single flip gains more than MODE_MIN_GAIN (or ``max_flips`` steps, 2 M
    by default). Every step raises a row's weight, so the ascent ends.

    Flipping unit j changes the log weight by ``(1 - 2 h_j) a_j + q_j`` with
    ``a = c + W (b + W^T h) / sigma^2``, unit j's input at the mean of
    ``p(v | h)``, and ``q_j = |W_j / sigma|^2 / 2``. The log weight is a
    convex quadratic in h, so its large states are where the model's mass
    can pile up far from the data, which AIS from the base model may miss.

    Each flip updates the inputs by a row of the Gram matrix ``W W^T /
    sigma^2`` (M x M, no product with the D columns); where no flip gains,
    the inputs are recomputed exactly and the ascent goes on from any row
    they still let rise, so the maxima are those of the exact inputs.

    Runs in the parameters' dtype (the states reached need no more: any
    set of distinct states bounds log Z); returns the distinct states
    reached (k, M), in that dtype.
    """
    h = starts.to(params.W.dtype).clone()
    W, inv_var = params.W, params.inv_var
    spread = 0.5 * (W * W * inv_var).sum(dim=1)
    b_scaled = params.b * inv_var
    bias = params.c + W @ b_scaled
    gram = (W * inv_var) @ W.T
    max_flips = 2 * W.shape[0] if max_flips is None else max_flips
    rows = torch.arange(h.shape[0], device=h.device)

    def exact_inputs():
        return torch.addmm(bias, (h @ W) * inv_var, W.T)

    inputs, exact, flips = exact_inputs(), True, 0
    while flips < max_flips:
        gains, best = torch.addcmul(spread, 1.0 - 2.0 * h, inputs).max(dim=1)
        rising = gains > MODE_MIN_GAIN  # not 0: rounding could flip a unit back and forth
        if not bool(rising.any()):
            if exact:
                break
            inputs, exact = exact_inputs(), True
            continue
        # +1 or -1 in the rows that rise, 0 at the maxima reached
        sign = (1.0 - 2.0 * h[rows, best]) * rising
        h[rows, best] += sign
        inputs.addcmul_(gram.index_select(0, best), sign[:, None])
        exact, flips = False, flips + 1
    return torch.unique(h, dim=0)


def mode_starts(params, extra):
    """Starts of the ascent: every unit on, every unit off, then the rows of
    ``extra`` (k, M), in the parameters' dtype."""
    ends = torch.tensor([[1.0], [0.0]], dtype=params.W.dtype, device=params.W.device)
    return torch.cat([ends.expand(2, params.W.shape[0]), extra.to(params.W.dtype)])


def log_partition_lower_bound(params, starts, max_flips=None):
    """A lower bound on log Z: the log of the summed weights of the distinct
    hidden states :func:`hidden_modes` reaches from ``starts`` (in the
    parameters' dtype), each integrated over v exactly (float64). Tight where the mass
    sits in a few states, as when the model has collapsed onto modes away
    from the data."""
    states = hidden_modes(params, starts, max_flips).to(torch.float64)
    params = RBMParams(*(t.to(torch.float64) for t in params))
    log_sum = float(torch.logsumexp(hidden_state_log_weights(states, params), dim=0))
    return gaussian_constant(params.log_sigma) + log_sum


#: ``log_partition_grid`` integrates on at most this many grid points.
GRID_MAX_POINTS = 2**22


def grid_shape(params, spacing=1.0, reach=8.0):
    """A grid that covers every component of p(v), a mixture of Gaussians of
    means ``b + W^T h`` and deviations sigma, to ``reach`` deviations, at
    ``spacing`` deviations apart: its lowest corner, its step and its number
    of points along each column (tensors of D entries)."""
    sigma = params.sigma
    low = params.b + params.W.clamp(max=0.0).sum(dim=0) - reach * sigma
    high = params.b + params.W.clamp(min=0.0).sum(dim=0) + reach * sigma
    counts = torch.ceil((high - low) / (spacing * sigma)).long() + 1
    return low, spacing * sigma, counts


def log_partition_grid(params, *, max_points=GRID_MAX_POINTS, max_batch_elements=2**22):
    """log Z by a Riemann sum of ``exp(-F(v))`` over a grid of one sigma's
    spacing (float64), or None where it takes more than ``max_points``
    points. Each component of the mixture p(v) is a Gaussian whose Riemann
    sum at that spacing is off by a relative ``2 exp(-2 pi^2)``, about 1e-8,
    and the grid reaches eight deviations past every component mean."""
    params = RBMParams(*(t.to(torch.float64) for t in params))
    low, step, counts = grid_shape(params)
    if float(torch.prod(counts.to(torch.float64))) > max_points:
        return None
    axes = [
        low[i] + step[i] * torch.arange(int(n), dtype=torch.float64, device=low.device)
        for i, n in enumerate(counts)
    ]
    points = torch.cartesian_prod(*axes).reshape(-1, len(axes))
    batch = max(1, max_batch_elements // max(params.W.shape[0], 1))
    partial = [
        torch.logsumexp(-free_energy(points[start : start + batch], params), dim=0)
        for start in range(0, points.shape[0], batch)
    ]
    value = float(torch.logsumexp(torch.stack(partial), dim=0)) + float(torch.log(step).sum())
    return LogPartition(value=value, stderr=0.0, method="grid")


#: Training fits sigma's temperature and the hidden biases exactly
#: (``calibrate_sigma``) after every epoch when one pass over the hidden
#: states, 2^M states of M^2 multiply-adds each, takes at most this many (up
#: to 19 hidden units; about 0.8 s an epoch at 19, 0.06 s at 16, on 3,443
#: images and 2 cores), and after every k-th epoch where it takes k times
#: as many, up to CALIBRATION_MAX_UNITS hidden units.
CALIBRATION_MAX_MULTIPLY_ADDS = 2.5e8
#: At 22 units one calibration takes about 13 s on the FashionMNIST images
#: (three in a 25-epoch fit, which lifts the held-out nats from 143 to 185)
#: and its table of the 2^22 states 740 MB; at 23 it would double both.
CALIBRATION_MAX_UNITS = 22


#: One calibration takes at most CALIBRATION_NEWTON_STEPS Newton steps in
#: (delta, c) (each a pass over the states and the rows), a step at most
#: CALIBRATION_MAX_STEP in any coordinate, the curvature floored at
#: CALIBRATION_MIN_CURVATURE (a unit saturated on or off in both the data and
#: the model leaves its bias flat). The next epoch goes on from where it stops.
CALIBRATION_NEWTON_STEPS = 30
#: It stops once a step gains less than this (nats per row): where a unit is
#: saturated the likelihood keeps rising by 1e-6 to 1e-8 a step along its
#: flat bias, and 30 such steps per epoch were most of a 16-unit fit's time.
CALIBRATION_TOLERANCE = 1e-6
CALIBRATION_MAX_STEP, CALIBRATION_MIN_CURVATURE = 10.0, 1e-4


def calibration_interval(n_components):
    """Every how many epochs training may enumerate the hidden states (1 up
    to 19 units, 2 at 20, 4 at 21, 9 at 22), or None: never."""
    if n_components > CALIBRATION_MAX_UNITS:
        return None
    cost = (2.0**n_components) * n_components**2
    return max(1, math.ceil(cost / CALIBRATION_MAX_MULTIPLY_ADDS))


def best_common_log_sigma_shift(params, v, *, bound=0.2):
    """The shift ``delta`` of every ``log sigma`` (W, b, c held) that maximises
    the exact mean log-likelihood of the rows ``v``, within ``[-bound, bound]``
    (:func:`calibrated_temperature` with the hidden biases held)."""
    delta, _ = calibrated_temperature(params, v, bound=bound, hidden_biases=False)
    return delta


#: Moments over the hidden states are summed this many states at a time: a
#: chunk's products stay in cache, where one product over all 2^19 states of
#: 19 units streamed 80 MB temporaries through memory (four times slower).
CALIBRATION_CHUNK_STATES = 2**13


def weighted_gram(states, weights, chunk=CALIBRATION_CHUNK_STATES):
    """``sum_s weights[s] * outer(states[s], states[s])`` (M, M), a chunk of
    states at a time."""
    n_components = states.shape[1]
    gram = torch.zeros(n_components, n_components, dtype=states.dtype, device=states.device)
    for start in range(0, states.shape[0], chunk):
        block = states[start : start + chunk]
        gram.addmm_(block.T * weights[start : start + chunk], block)
    return gram


def state_table(u, K):
    """All 2^M hidden states (rows in the order of :func:`hidden_states`) and
    ``B(h) = h.u + h^T K h / 2`` of each, built a unit at a time: setting unit
    k in the states of units 0..k-1 adds ``u_k + K_kk / 2 + h.K[:k, k]``, so
    the table costs 2^M M, not 2^M M^2."""
    n_components = u.shape[0]
    n_states = 2**n_components
    states = torch.zeros(n_states, n_components, dtype=u.dtype, device=u.device)
    quadratic = torch.zeros(n_states, dtype=u.dtype, device=u.device)
    for k in range(n_components):
        n = 2**k
        states[n : 2 * n, :k] = states[:n, :k]
        states[n : 2 * n, k] = 1.0
        torch.add(
            quadratic[:n] + (u[k] + 0.5 * K[k, k]),
            states[:n, :k] @ K[:k, k],
            out=quadratic[n : 2 * n],
        )
    return states, quadratic


class CalibrationObjective:
    """The negative exact mean log-likelihood of the rows ``v`` as a function
    of ``x = (delta, c)`` (every ``log sigma`` shifted by delta, the hidden
    biases c; W and b held), with its gradient and Hessian.

    With ``a = exp(-2 delta)`` every term is a fixed tensor times ``a``: the
    free energy is ``a Q(v) - sum_j softplus(c_j + a G_j(v))`` and ``log Z``
    is ``const + D delta + logsumexp_h(h.c + a B(h))`` with
    ``B(h) = h.u + h^T K h / 2``, ``u = W (b / sigma^2)``,
    ``K = W diag(1 / sigma^2) W^T``: one pass over the states at M^2 each
    (not M D) and one product with the rows, then each evaluation is cheap.
    ``params`` and ``v`` in float64 on one device.
    """

    def __init__(self, params, v):
        W, b, inv_var = params.W, params.b, params.inv_var
        self.n_components, self.n_features = W.shape
        u, K = W @ (b * inv_var), (W * inv_var) @ W.T
        self.states, self.state_quadratic = state_table(u, K)
        self.row_quadratic = 0.5 * ((v - b) ** 2 * inv_var).sum(dim=1)
        self.quadratic = self.row_quadratic.mean()
        self.weighted = (v * inv_var) @ W.T

    def value(self, x):
        """The negative mean log-likelihood at ``x`` (a float)."""
        delta, hidden_bias = float(x[0]), x[1:]
        a = math.exp(-2.0 * delta)
        free_energy = (
            a * self.quadratic - softplus(hidden_bias + a * self.weighted).sum(dim=1).mean()
        )
        log_z = torch.logsumexp(self.states @ hidden_bias + a * self.state_quadratic, 0)
        return float(free_energy + self.n_features * delta + log_z)

    def derivatives(self, x):
        """Gradient and Hessian at ``x``: in c, ``E_model[h] - mean p(h | v)``
        and ``Cov_model(h) - mean diag(p (1 - p))``; with a = exp(-2 delta),
        da = -2a, d2a = 4a."""
        delta, hidden_bias = float(x[0]), x[1:]
        states, state_quadratic, weighted = self.states, self.state_quadratic, self.weighted
        a = math.exp(-2.0 * delta)
        da, d2a = -2.0 * a, 4.0 * a
        p = torch.sigmoid(hidden_bias + a * weighted)  # (n, M)
        q = p * (1.0 - p)
        p_states = torch.softmax(states @ hidden_bias + a * state_quadratic, 0)
        mean_h, mean_b = p_states @ states, p_states @ state_quadratic
        centred_b = state_quadratic - mean_b
        weighted_b = p_states * centred_b
        # Cov(b, h) and Cov(h) from moments about 0 in h (entries in [0, 1]).
        covariance_bh = weighted_b @ states - mean_h * weighted_b.sum()
        covariance_h = weighted_gram(states, p_states) - torch.outer(mean_h, mean_h)
        size = self.n_components + 1
        gradient = torch.empty(size, dtype=x.dtype, device=x.device)
        hessian = torch.empty(size, size, dtype=x.dtype, device=x.device)
        # the rows' free energies, mean over the rows
        row_term = self.row_quadratic - (p * weighted).sum(dim=1)
        gradient[0] = da * row_term.mean() + da * mean_b + self.n_features
        gradient[1:] = mean_h - p.mean(dim=0)
        hessian[0, 0] = (
            d2a * row_term.mean()
            - da**2 * (q * weighted**2).sum(dim=1).mean()
            + d2a * mean_b
            + da**2 * (p_states @ centred_b**2)
        )
        cross = -da * (q * weighted).mean(dim=0) + da * covariance_bh
        hessian[0, 1:], hessian[1:, 0] = cross, cross
        hessian[1:, 1:] = covariance_h - torch.diag(q.mean(dim=0))
        return gradient, hessian


def calibrated_temperature(params, v, *, bound=0.2, hidden_biases=True):
    """The shift ``delta`` of every ``log sigma``, within ``[-bound, bound]``,
    and, with ``hidden_biases``, the shift ``dc`` of the hidden biases (W and b
    held) that maximise the exact mean log-likelihood of the rows ``v``
    (:class:`CalibrationObjective`).

    Without ``hidden_biases``: a bounded scalar search. With them: Newton
    steps in ``(delta, c)`` with the exact gradient and Hessian. The
    likelihood is not concave in c, so the steps use the Hessian's absolute
    eigenvalues and a backtracking line search: every step climbs, and the
    result is never below the start.

    Returns
    -------
    delta : float
    dc : Tensor (M,), on ``params``' device and in its dtype (zeros without
        ``hidden_biases``)
    """
    dtype, out_device = params.W.dtype, params.W.device
    device = likelihood_device(params.W.device)
    params = RBMParams(*(t.to(device, torch.float64) for t in params))
    objective = CalibrationObjective(params, v.to(device, torch.float64))
    c = params.c
    n_components = c.shape[0]
    x = torch.zeros(n_components + 1, dtype=torch.float64, device=device)
    x[1:] = c

    if not hidden_biases:

        def shifted(delta):
            x[0] = delta
            return objective.value(x)

        result = minimize_scalar(
            shifted, bounds=(-bound, bound), method="bounded", options={"xatol": 1e-4}
        )
        return float(result.x), torch.zeros(n_components, dtype=dtype, device=out_device)

    start_value = value = objective.value(x)
    for _ in range(CALIBRATION_NEWTON_STEPS):
        gradient, hessian = objective.derivatives(x)
        eigenvalues, vectors = torch.linalg.eigh(hessian)
        curvature = eigenvalues.abs().clamp(min=CALIBRATION_MIN_CURVATURE)
        step = -vectors @ ((vectors.T @ gradient) / curvature)
        step *= min(1.0, CALIBRATION_MAX_STEP / float(step.abs().max()))
        t = 1.0
        while t > 1e-4:
            trial_x = x + t * step
            trial_x[0] = trial_x[0].clamp(-bound, bound)
            trial = objective.value(trial_x)
            if trial <= value + 1e-4 * float(gradient @ (trial_x - x)):
                break
            t *= 0.5
        else:
            break
        x, improvement, value = trial_x, value - trial, trial
        if improvement < CALIBRATION_TOLERANCE:
            break
    if value > start_value:
        return 0.0, torch.zeros(n_components, dtype=dtype, device=out_device)
    return float(x[0]), (x[1:] - c).to(out_device, dtype)


def ais_schedule(n_betas):
    """``n_betas`` inverse temperatures from 0 to 1, denser near 1 where the
    model is sharpest (a fifth of them up to 0.5, two fifths to 0.9)."""
    n1, n2 = n_betas // 5, (2 * n_betas) // 5
    n3 = n_betas - n1 - n2
    return (
        torch.linspace(0.0, 0.5, n1 + 1, dtype=torch.float64)[:-1].tolist()
        + torch.linspace(0.5, 0.9, n2 + 1, dtype=torch.float64)[:-1].tolist()
        + torch.linspace(0.9, 1.0, n3, dtype=torch.float64).tolist()
    )


def log_partition_ais(params, generator, *, n_chains=None, n_betas=None):
    """log Z by AIS from the W = 0 base model.

    The matrix products run in the parameters' dtype; the importance weights
    accumulate in float64. With ``n_betas=None`` (:func:`ais_betas`) and
    ``n_chains=None`` (100), the run is repeated with twice the temperatures,
    up to AIS_MAX_DOUBLINGS times, while the standard error is above
    AIS_TARGET_STDERR: more temperatures shrink both the spread and the
    downward bias of the estimate. With ``n_betas`` given and ``n_chains=None``,
    chains are added 100 at a time instead, up to 1,000.
    """
    n_components, n_features = params.W.shape
    batch = AIS_CHAIN_BATCH if n_chains is None else n_chains
    grow_betas = n_betas is None and n_chains is None
    if n_betas is None:
        n_betas = ais_betas(n_components, n_features, batch)
    if n_betas < 2:
        raise ValueError(f"n_betas must be at least 2, got {n_betas}")
    log_z_base = base_log_partition(params)
    log_w = _ais_log_weights(params, generator, batch, ais_schedule(n_betas))
    value, stderr = log_mean_exp_with_stderr(log_w)
    for _ in range(AIS_MAX_DOUBLINGS if grow_betas else 0):
        if stderr <= AIS_TARGET_STDERR:
            break
        n_betas *= 2
        log_w = _ais_log_weights(params, generator, batch, ais_schedule(n_betas))
        value, stderr = log_mean_exp_with_stderr(log_w)
    while (
        n_chains is None
        and not grow_betas
        and stderr > AIS_TARGET_STDERR
        and log_w.shape[0] < AIS_MAX_CHAINS
    ):
        log_w = torch.cat(
            [log_w, _ais_log_weights(params, generator, batch, ais_schedule(n_betas))]
        )
        value, stderr = log_mean_exp_with_stderr(log_w)
    return LogPartition(
        value=log_z_base + value,
        stderr=stderr,
        method="ais",
        ess=effective_sample_size(log_w),
        n_chains=int(log_w.shape[0]),
        n_betas=int(n_betas),
    )


def base_log_partition(params):
    """log Z of the W = 0 model with the same b, c and sigma (tractable)."""
    return gaussian_constant(params.log_sigma.to(torch.float64)) + float(
        softplus(params.c.to(torch.float64)).sum()
    )


def effective_sample_size(log_w):
    """``(sum w)^2 / sum w^2`` of importance weights given by their logs."""
    w = torch.exp(log_w - log_w.max())
    return float(w.sum() ** 2 / (w**2).sum())


def raise_log_likelihood(params, v, generator, betas, *, n_chains=1):
    """RAISE (Burda, Grosse and Salakhutdinov 2015): a stochastic lower bound
    on log p(v) per row, by annealing in reverse from each row.

    The forward annealing chain x_0 ~ p_0 (the W = 0 model), x_k ~ T_k(x_{k-1})
    (a Gibbs step of the GRBM with weights beta_k W) defines a model q whose
    density at v is ``E[w]`` over reverse chains started at x_K = v, with
    x_{k-1} ~ T_k(x_k) (block Gibbs is reversible) and

        log w = log p_0(x_0) + sum_k [log f_k(x_k) - log f_k(x_{k-1})].

    The quadratic terms of the free energies telescope, leaving
    ``-quad(v) - (D/2) log 2 pi - sum log sigma`` plus the hidden units'
    softplus differences. ``log mean w`` over ``n_chains`` chains per row is,
    by Jensen, below log q(v) in expectation, and q approaches the model as
    the annealing gets longer.

    Returns
    -------
    Tensor (n,), float64
    """
    inv_var, sigma = params.inv_var, params.sigma
    c64 = params.c.to(torch.float64)
    n = v.shape[0]
    x = v.repeat(n_chains, 1)
    log_w = torch.zeros(x.shape[0], dtype=torch.float64, device=v.device)
    for beta in reversed(betas[1:]):
        before = tempered_weights(x, params.W, inv_var)
        x = tempered_gibbs_step(x, beta, params, generator, inv_var=inv_var, sigma=sigma)
        after = tempered_weights(x, params.W, inv_var)
        log_w += (
            softplus(c64 + beta * before.to(torch.float64))
            - softplus(c64 + beta * after.to(torch.float64))
        ).sum(dim=1)
    quadratic = 0.5 * (((v - params.b) ** 2) * inv_var).sum(dim=1).to(torch.float64)
    constant = gaussian_constant(params.log_sigma.to(torch.float64))
    log_w = log_w.reshape(n_chains, n)
    log_mean = torch.logsumexp(log_w, dim=0) - math.log(n_chains)
    return log_mean - quadratic - constant


def _ais_log_weights(params, generator, n_chains, betas):
    """The log importance weights of ``n_chains`` AIS runs through ``betas``."""
    inv_var, sigma = params.inv_var, params.sigma
    c64 = params.c.to(torch.float64)
    v = sample_visible(params.b.expand(n_chains, -1).contiguous(), sigma, generator)
    log_w = torch.zeros(n_chains, dtype=torch.float64, device=params.W.device)
    previous = betas[0]
    for beta in betas[1:]:
        weighted = tempered_weights(v, params.W, inv_var)
        x = weighted.to(torch.float64)
        log_w += (softplus(c64 + beta * x) - softplus(c64 + previous * x)).sum(dim=1)
        previous = beta
        if beta < 1.0:
            v = tempered_gibbs_step(
                v, beta, params, generator, inv_var=inv_var, sigma=sigma, weighted=weighted
            )
    return log_w


def log_mean_exp_with_stderr(log_w):
    """``log(mean(exp(log_w)))`` and its delta-method standard error."""
    n = log_w.shape[0]
    top = log_w.max()
    w = torch.exp(log_w - top)
    mean = w.mean()
    value = float(top + torch.log(mean))
    if n < 2:
        return value, float("inf")
    stderr = float(w.std(unbiased=True) / (math.sqrt(n) * mean))
    return value, stderr


def warn_if_unsure(log_z, stacklevel=3):
    """An :class:`AISWarning` that says what is unsure and what to do."""
    if not log_z.unsure:
        return
    if log_z.missed > 0.0:
        warnings.warn(
            f"AIS missed hidden modes of the model: the weight of the hidden states found by "
            f"ascent puts log Z at least {log_z.missed:.6g} nats above the AIS estimate, so "
            f"log Z is at least {log_z.value:.6g}, which log-likelihoods now use; they may still "
            f"be too high. The model's mass sits on hidden states that its training chains "
            f"never visited: score held-out rows against a simpler model, or train with more "
            f"Gibbs steps (n_gibbs_steps) or a persistent sampler.",
            AISWarning,
            stacklevel=stacklevel,
        )
        return
    warnings.warn(
        f"AIS is unsure of log Z: standard error {log_z.stderr:.3g} nats (target "
        f"{AIS_TARGET_STDERR}), effective sample size {log_z.ess:.0f} of {log_z.n_chains} "
        f"chains after {log_z.n_betas} temperatures. Log-likelihoods may be off by more than "
        f"the standard error: call log_partition('ais', n_betas=...) with more temperatures "
        f"(or n_chains=...), and log_likelihood_bounds(X) to see both sides.",
        AISWarning,
        stacklevel=stacklevel,
    )


class LikelihoodBounds(NamedTuple):
    """log p(x) per row from both sides, in nats: ``lower`` by reverse
    annealing (RAISE), ``upper`` as ``-F(x) - log Z`` with forward AIS."""

    lower: np.ndarray
    upper: np.ndarray


def check_ais_options(n_chains, n_betas):
    for name, value in (("n_chains", n_chains), ("n_betas", n_betas)):
        if value is None:
            continue
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 2:
            raise ValueError(f"{name} must be an integer of at least 2, got {value!r}")


def log_partition(params_on, shape, device, dtype, method, *, n_chains, n_betas, seed):
    """log Z by ``method`` ("auto", "exact" or "ais") of the model of ``shape``
    (M, D) whose parameters ``params_on(device, dtype)`` gives; AIS runs its
    products in ``dtype`` (torch.float32 or float64). The caller has checked
    ``n_chains`` and ``n_betas`` (:func:`check_ais_options`)."""
    method = choose_method(method, *shape)
    device = likelihood_device(device)
    if method == "exact":
        return log_partition_exact(params_on(device, torch.float64))
    with torch.inference_mode():
        generator = make_generator(device, seed)
        params = params_on(device, dtype)
        estimate = log_partition_ais(params, generator, n_chains=n_chains, n_betas=n_betas)
        # Drawn after AIS, so that its chains are those of the same seed without the check.
        n_components = params.W.shape[0]
        random = torch.rand(
            MODE_RANDOM_STARTS, n_components, generator=generator, device=device, dtype=dtype
        )
        starts = mode_starts(params, random < 0.5)
        modes = log_partition_lower_bound(params, starts, max_flips=n_components)
    if modes > estimate.value + 3.0 * estimate.stderr + MODE_MARGIN:
        return dataclasses.replace(estimate, value=modes, missed=modes - estimate.value)
    return estimate


def raise_bounds(params, X, n_betas, seed, chunk_elements, scaling=None):
    """:func:`raise_log_likelihood` over the rows of the array X in chunks,
    on the parameters' device; a float64 NumPy array. With ``scaling`` (a
    ``(shift, scale)`` pair) each chunk is first mapped to ``(X - shift) /
    scale``, the parameters' coordinates (in float64, then cast)."""
    device = params.W.device
    generator = make_generator(device, seed)
    betas = ais_schedule(n_betas)
    chunk = max(1, chunk_elements // max(X.shape[1], params.W.shape[0]))
    out = np.empty(X.shape[0])
    with torch.inference_mode():
        for start in range(0, X.shape[0], chunk):
            rows = X[start : start + chunk]
            if scaling is not None:
                rows = (rows - scaling[0]) / scaling[1]
            rows = torch.as_tensor(rows, dtype=params.W.dtype, device=device)
            out[start : start + chunk] = raise_log_likelihood(params, rows, generator, betas).cpu()
    return out


def fingerprint(arrays):
    """A digest of the parameters: a cached log Z belongs to them alone."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
