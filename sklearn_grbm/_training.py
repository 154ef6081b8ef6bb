"""One epoch of training, entirely on the device, and the table of samplers.

The estimator owns validation, NumPy conversion and reporting; this module
only sees tensors: the training rows (already on the device, or streamed),
the parameters, the optimizer state and the persistent chains.

Every Markov chain kernel has one signature and lives in ``KERNELS``; a
training sampler (``SAMPLERS``) is a kernel plus where its chains start: at
the minibatch (CD-style) or where the previous update left them
(persistent). :meth:`GaussianBernoulliRBM.sample` draws with the same kernels.
"""

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import torch

from . import _optim
from ._device import to_numpy, to_tensor
from ._functional import (
    RBMParams,
    annealed_chains,
    contrastive_gradients,
    gibbs_chain,
    gibbs_langevin_chain,
    hidden_probs,
    hidden_probs_scaled,
    hidden_state_log_weights,
    parallel_tempering,
    sample_visible,
    sampled_reconstruction,
    temperature_ladder,
    visible_mean,
)
from ._initialization import PARAMETERS, is_small_model
from ._likelihood import (
    calibrated_temperature,
    calibration_interval,
    hidden_modes,
    hidden_states,
    mode_starts,
)


class KernelOptions(NamedTuple):
    """The settings of the kernels other than the number of steps."""

    n_temperatures: int
    n_langevin_steps: int
    langevin_step_size: float
    langevin_adjust: bool

    @classmethod
    def from_params(cls, params):
        """From the estimator's ``get_params()``."""
        return cls(
            n_temperatures=int(params["n_temperatures"]),
            n_langevin_steps=int(params["n_langevin_steps"]),
            langevin_step_size=float(params["langevin_step_size"]),
            langevin_adjust=bool(params["langevin_adjust"]),
        )


class Negative(NamedTuple):
    """What a kernel leaves: the chains' new state, their samples at the
    model's temperature (``v``, ``v / sigma^2`` and ``p(h = 1 | v)``), the
    first step's ``b + W^T h`` when the chains started from the caller's
    ``p_start`` (the sampled reconstruction of the data, for free), else None,
    and the samples' importance weights (summing to one), or None for equal
    weights."""

    chains: torch.Tensor
    v: torch.Tensor
    v_scaled: torch.Tensor
    p: torch.Tensor
    first_mean: torch.Tensor | None
    weights: torch.Tensor | None = None


def gibbs_kernel(chains, params, n_steps, generator, options, *, p_start=None, parity=0):
    """Block Gibbs sampling; ``chains`` (n, D)."""
    p = hidden_probs(chains, params.W, params.c, params.inv_var) if p_start is None else p_start
    v, v_scaled, p, first_mean = gibbs_chain(p, params, n_steps, generator)
    return Negative(v, v, v_scaled, p, first_mean if p_start is not None else None)


def tempered_kernel(chains, params, n_steps, generator, options, *, p_start=None, parity=0):
    """Parallel tempering over ``options.n_temperatures`` inverse temperatures
    from 1 to 0; ``chains`` (K, n, D), or (n, D) to start every temperature
    there. Swaps start with the pairs of parity ``parity``."""
    if chains.dim() == 2:
        chains = chains.expand(options.n_temperatures, -1, -1).clone()
    betas = temperature_ladder(options.n_temperatures, chains.dtype, chains.device)
    chains = parallel_tempering(chains, betas, params, n_steps, generator, first_parity=parity)
    v_scaled = chains[0] * params.inv_var
    return Negative(
        chains, chains[0], v_scaled, hidden_probs_scaled(v_scaled, params.W, params.c), None
    )


def langevin_kernel(chains, params, n_steps, generator, options, *, p_start=None, parity=0):
    """Gibbs-Langevin sampling (Liao et al. 2022); ``chains`` (n, D)."""
    v, p = gibbs_langevin_chain(
        chains,
        params,
        n_steps,
        generator,
        n_langevin_steps=options.n_langevin_steps,
        step_size=options.langevin_step_size,
        adjust=options.langevin_adjust,
    )
    return Negative(v, v, v * params.inv_var, p, None)


def exact_kernel(chains, params, n_steps, generator, options, *, p_start=None, parity=0):
    """Independent draws from the model itself: h from its marginal over the
    2^M enumerated hidden states, then v from ``p(v | h)``. ``chains`` (n, D)
    only say how many; there is no chain, so ``n_steps`` does not matter."""
    check_exact_sampling(params.W.shape[0])
    n_states = 2 ** params.W.shape[0]
    (states,) = hidden_states(params.W, n_states, width=1)
    states = states.to(params.W.dtype)
    # Non-finite weights (a diverging fit, caught at the epoch's end) draw uniformly.
    log_weights = torch.nan_to_num(hidden_state_log_weights(states, params), 0.0, 0.0, 0.0)
    probs = torch.softmax(log_weights, dim=0)
    index = torch.multinomial(probs, chains.shape[0], replacement=True, generator=generator)
    h = states.index_select(0, index)
    v = sample_visible(visible_mean(h, params.W, params.b), params.sigma, generator)
    v_scaled = v * params.inv_var
    return Negative(v, v, v_scaled, hidden_probs_scaled(v_scaled, params.W, params.c), None)


def annealed_kernel(chains, params, n_steps, generator, options, *, p_start=None, parity=0):
    """Annealed importance sampling: each chain starts afresh from the W = 0
    model and takes ``n_steps`` Gibbs steps at inverse temperatures rising
    evenly to 1; its importance weight corrects for the annealing being
    finite. Unlike chains started at the data, the weighted draws reach every
    mode in the model's own proportions. ``chains`` (n, D) only say how many."""
    v, log_w = annealed_chains(params, generator, chains.shape[0], n_steps)
    # Non-finite weights (a diverging fit, caught at the epoch's end) count equally.
    weights = torch.softmax(torch.nan_to_num(log_w, 0.0, 0.0, 0.0), dim=0)
    v_scaled = v * params.inv_var
    p = hidden_probs_scaled(v_scaled, params.W, params.c)
    return Negative(v, v, v_scaled, p, None, weights)


#: ``sample(method=...)``: the Markov chain kernels by name.
KERNELS = {
    "gibbs": gibbs_kernel,
    "pt": tempered_kernel,
    "langevin": langevin_kernel,
    "exact": exact_kernel,
    "ais": annealed_kernel,
}


#: ``mode_negatives="auto"`` is on for CD when standardising data of at
#: least MODE_NEGATIVES_MIN_FEATURES columns. On 784-pixel images CD-1 leaves
#: most of the model's mass on a few hidden states (a hundred units on) that
#: its chains, a step from the data, never weigh against the rest: 150 to 930
#: nats of log Z that AIS misses too. On the 64 columns of the digits the
#: ascent's modes are where AIS goes as well, and weighing them in costs 9 nats
#: (the user guide's "Hidden modes").
MODE_NEGATIVES_MIN_FEATURES = 128
#: Each epoch's ascent to the hidden modes starts from every unit on, every
#: unit off, the heaviest MODE_CARRIED modes of the epoch before and
#: MODE_NEGATIVE_RANDOM_STARTS random states.
MODE_NEGATIVE_RANDOM_STARTS, MODE_CARRIED = 4, 8
#: The first MODE_REFERENCE_ROWS rows of each minibatch, their hidden states
#: thresholded, stand for the part of the model the data visit.
MODE_REFERENCE_ROWS = 16
#: The ascent runs again every MODE_SEARCH_INTERVAL updates (from the
#: heaviest modes so far): a mode that grows between two searches takes no
#: part in the negatives until the next. 50 is once an epoch for the defaults
#: on up to 6,400 rows (``batch_size="auto"``). On 60,000 patches (469
#: updates an epoch, 250 units, 25 epochs) searching once an epoch left
#: -6 and 84 held-out nats (seeds 0, 1; most of log Z on modes AIS missed,
#: by 629 and 472 nats), every 100 updates 352 and 14, every 50: 358 and 358.
MODE_SEARCH_INTERVAL = 50


def resolve_mode_negatives(value, sampler, n_features, standardize, calibrated=False):
    """Whether ``mode_negatives=value`` adds draws from the hidden modes, with
    ``sampler`` (resolved); ``calibrated``: whether the fit's epochs end by
    fitting the hidden biases exactly (``calibrate_sigma``, few hidden units,
    every epoch or every few)."""
    if value == "auto":
        return (
            standardize
            and sampler == "cd"
            and n_features >= MODE_NEGATIVES_MIN_FEATURES
            and not calibrated
        )
    return bool(value)


def search_modes(params, carried, generator):
    """The hidden modes (k, M) an epoch's negatives weigh: the local maxima
    of the hidden states' weight (:func:`hidden_modes`) reached from every
    unit on, every unit off, the ``carried`` modes of the epoch before (or
    None) and MODE_NEGATIVE_RANDOM_STARTS random states."""
    n_components = params.W.shape[0]
    shape = (MODE_NEGATIVE_RANDOM_STARTS, n_components)
    uniform = torch.rand(shape, generator=generator, dtype=params.W.dtype, device=params.W.device)
    extra = (uniform < 0.5).to(params.W.dtype)
    if carried is not None and carried.shape[1] == n_components:
        extra = torch.cat([carried, extra])
    return hidden_modes(params, mode_starts(params, extra))


def heaviest(modes, params, k):
    """The ``k`` heaviest rows of ``modes`` at ``params``, to carry to the next epoch."""
    weights = hidden_state_log_weights(modes, params)
    return modes.index_select(0, weights.topk(min(k, modes.shape[0])).indices)


def with_mode_negatives(negative, modes, p_pos, params, generator, *, inv_var=None):
    """``negative`` with one draw of v from ``p(v | h)`` at each hidden mode
    heavier than the average hidden state of the data, weighted by its share
    of the mass of the modes and the data's states together.

    The data's part is the summed weight of the thresholded ``p(h | v)`` of
    the minibatch's first MODE_REFERENCE_ROWS rows; the chains' draws share
    it equally. A mode that outweighs the data's states by many nats thus
    takes nearly all the negative phase, which pushes it down, as the
    likelihood's gradient would, until it weighs no more than they do; CD's
    chains alone never see it. No host sync: a mode too light gets weight 0.
    ``inv_var``: ``1 / sigma^2``, where the caller has it.
    """
    inv_var = params.inv_var if inv_var is None else inv_var
    reference = (p_pos[:MODE_REFERENCE_ROWS] > 0.5).to(modes.dtype)
    n_reference = reference.shape[0]
    states = torch.cat([reference, modes])
    shift = states @ params.W  # the means of p(v | h) less b: the modes' draws need them
    log_weights = hidden_state_log_weights(states, params, shift, inv_var=inv_var)
    average = torch.logsumexp(log_weights[:n_reference], dim=0) - math.log(n_reference)
    light = log_weights <= average
    light[:n_reference] = False
    # The shares of the data's states and the heavy modes, in one softmax.
    shares = torch.softmax(log_weights.masked_fill_(light, -math.inf), dim=0)
    data_share = shares[:n_reference].sum()
    if negative.weights is None:
        n_chains = negative.v.shape[0]
        chain_weights = data_share.mul(1.0 / n_chains).expand(n_chains)
    else:
        chain_weights = negative.weights * data_share
    weights = torch.cat([chain_weights, shares[n_reference:]])
    v = sample_visible(shift[n_reference:].add_(params.b), params.sigma, generator)
    v_scaled = v * inv_var
    return negative._replace(
        v=torch.cat([negative.v, v]),
        v_scaled=torch.cat([negative.v_scaled, v_scaled]),
        p=torch.cat([negative.p, hidden_probs_scaled(v_scaled, params.W, params.c)]),
        weights=weights,
    )


#: Annealed training (``sampler="ais"``) draws at least this many chains an
#: update, whatever the minibatch's rows: the importance weights normalise
#: over the chains, and a few chains weigh the modes by chance. On 1,000 rows
#: of the three Gaussians, 10 a minibatch, at lr 1e-2, one chain a row left
#: all three fits at the single Gaussian (5.85 nats), 64 chains one of three,
#: 128 none (3.99 to 4.12 at lr 1e-3 and 1e-2). An update then costs
#: what it does on large data (128 rows a minibatch), about twice 20 chains'.
AIS_TRAINING_CHAINS = 128


class Sampler(NamedTuple):
    kernel: str
    persistent: bool
    #: Chains an update at least (a fresh start each time, so only their
    #: number matters), or None: one chain per row of the minibatch.
    min_chains: int | None = None


#: ``sampler=...``: the negative phase of training, a kernel and where it starts.
SAMPLERS = {
    "cd": Sampler("gibbs", persistent=False),
    "pcd": Sampler("gibbs", persistent=True),
    "pt": Sampler("pt", persistent=True),
    "langevin": Sampler("langevin", persistent=False),
    "exact": Sampler("exact", persistent=False),
    "ais": Sampler("ais", persistent=False, min_chains=AIS_TRAINING_CHAINS),
}

#: ``sampler="exact"`` enumerates at most this many hidden states (M <= 12);
#: ``sampler="auto"`` picks it for small models (M <= 10, standardising: per
#: update at most about 3 times the work of a CD-1 step on 128 rows, for
#: unbiased draws from the model, so the likelihood's own gradient).
EXACT_SAMPLER_MAX_STATES = 2**12
#: ``n_gibbs_steps="auto"``, with CD when standardising: as many steps as fit
#: in AUTO_GIBBS_WORK multiply-adds of ``W`` per row (``M D`` each), from 1 up
#: to AUTO_GIBBS_MAX_STEPS. Images (M D of 2 10^4 and more) get CD-1; models
#: of few columns get long chains for the price, which reach separated modes.
AUTO_GIBBS_WORK = 2**14
AUTO_GIBBS_MAX_STEPS = 100


#: ``sampler="auto"`` anneals (``"ais"``) on data of at most AIS_MAX_FEATURES
#: columns where CD would get the longest chains (``n_components * n_features
#: * AUTO_GIBBS_MAX_STEPS <= AUTO_GIBBS_WORK``). From three columns on, CD's
#: 100 steps score as well or better and the importance weights degenerate: on
#: five 10-D blobs, 16 units, annealing scores 19 to 28 nats below the
#: Gaussian at lr 1e-2, CD-100 12 to 13 above (the user guide's "Well
#: separated modes"). With annealing, ``sigma_learning_rate="auto"`` is this
#: many times the ``learning_rate``, up to AIS_SIGMA_STEP_MAX: sigma must fall
#: to the modes' width once W has grown, and at the learning rate of W that
#: took more than the default epochs (the user guide's "Well separated
#: modes"); but a step of 0.1 at lr 1e-2 swings sigma by a tenth per update,
#: and on fewer than 10,000 rows (few, small minibatches) those swings kept
#: every fit of the three Gaussians at the single Gaussian for 30 epochs.
AIS_SIGMA_STEP, AIS_SIGMA_STEP_MAX = 10.0, 1e-2
AIS_MAX_FEATURES = 2


def resolve_gibbs_steps(steps, sampler, n_components, n_features, standardize):
    """The steps per update ``n_gibbs_steps=steps`` means with ``sampler``
    (resolved), ``"auto"`` resolved: long chains for CD when standardising and
    for annealing, since the other samplers' chains persist or cost more per
    step."""
    if steps != "auto":
        return int(steps)
    if not (sampler == "ais" or (standardize and sampler == "cd")):
        return 1
    return int(min(AUTO_GIBBS_MAX_STEPS, max(1, AUTO_GIBBS_WORK // (n_components * n_features))))


def resolve_sampler(name, n_components, n_features, standardize):
    """The sampler ``sampler=name`` trains with (``"auto"`` resolved)."""
    if name == "auto":
        if is_small_model(n_components, standardize):
            return "exact"
        few_columns = (
            n_features <= AIS_MAX_FEATURES
            and n_components * n_features * AUTO_GIBBS_MAX_STEPS <= AUTO_GIBBS_WORK
        )
        return "ais" if standardize and few_columns else "cd"
    if name == "exact":
        check_exact_sampling(n_components)
    return name


def resolve_sigma_learning_rate(value, sampler, learning_rate):
    """The step of log sigma ``sigma_learning_rate=value`` means with ``sampler``
    (resolved); None: the optimizer's one step for all."""
    if value == "auto":
        if sampler == "ais":
            return min(AIS_SIGMA_STEP * learning_rate, AIS_SIGMA_STEP_MAX)
        return None
    return None if value is None else float(value)


#: ``batch_size="auto"`` when standardising: this many minibatches an epoch,
#: of AUTO_BATCH_SIZE_RANGE rows at least and at most.
AUTO_BATCHES_PER_EPOCH = 50
AUTO_BATCH_SIZE_RANGE = (16, 128)
#: ... and this many, of AIS_BATCH_SIZE_RANGE rows, when annealing
#: (``sampler="ais"``): an update anneals AIS_TRAINING_CHAINS chains however
#: few its rows, and those fits are short of updates, not of rows. On 2,000
#: rows of the three Gaussians at lr 1e-3, 50 minibatches of 40 ended at
#: 5.27, 4.23 and 4.92 nats, 100 of 20 at 4.14, 4.09 and 4.13; on 1,000 rows
#: 63 minibatches of 16 (the floor of 16) at 4.75, 4.16 and 4.30, 100 of 10
#: at 4.12, 4.07 and 4.09 (128 chains each).
AIS_BATCHES_PER_EPOCH = 100
AIS_BATCH_SIZE_RANGE = (8, 128)


def resolve_batch_size(batch_size, n_samples, standardize, sampler="cd"):
    """The rows per minibatch ``batch_size=batch_size`` means on ``n_samples`` rows.

    ``"auto"`` is the seed notebook's 128 without standardising. When
    standardising it is ``ceil(n_samples / AUTO_BATCHES_PER_EPOCH)`` within
    AUTO_BATCH_SIZE_RANGE: Adam moves each parameter by about the step size
    per update, so at a fixed batch size an epoch of 1,257 digits (10
    updates) trains a tenth of what an epoch of 12,800 images does, and 25
    epochs leave small data near the start (the user guide's "Batch size").
    With ``sampler="ais"`` (resolved) it is AIS_BATCHES_PER_EPOCH minibatches
    of AIS_BATCH_SIZE_RANGE rows.
    """
    if batch_size != "auto":
        return int(batch_size)
    low, high = AUTO_BATCH_SIZE_RANGE
    if not standardize:
        return high
    n_batches = AUTO_BATCHES_PER_EPOCH
    if sampler == "ais":
        n_batches, (low, high) = AIS_BATCHES_PER_EPOCH, AIS_BATCH_SIZE_RANGE
    return int(min(high, max(low, math.ceil(n_samples / n_batches))))


def resolve_learning_rate_schedule(schedule, sampler, standardize):
    """The schedule ``learning_rate_schedule=schedule`` means with ``sampler``
    (resolved). ``"auto"`` is ``"step"`` for annealing, whose importance
    weights make the updates noisy enough to swing between modes at the last
    epochs; ``"decay"`` for CD when standardising, whose minibatch updates
    keep W moving at Adam's step size (a tenth of it for the last third gains
    50 to 85 nats on natural patches) and whose bias drifts the model away
    from the data for as long as the step stays up (FashionMNIST, 250 units,
    100 epochs by AIS: "step" ends 119 nats below the 25-epoch fit, "decay" 14
    above); ``"constant"`` for exact sampling, whose
    gradient is quiet, for the persistent samplers, and for the seed
    notebook's training (the user guide's "Learning-rate schedule")."""
    if schedule == "auto":
        if sampler == "cd" and standardize:
            return "decay"
        return "step" if sampler == "ais" else "constant"
    return schedule


def check_exact_sampling(n_components):
    if 2**n_components > EXACT_SAMPLER_MAX_STATES:
        raise ValueError(
            f"exact sampling enumerates 2^n_components hidden states; n_components="
            f"{n_components} is above {EXACT_SAMPLER_MAX_STATES.bit_length() - 1}"
        )


def get_sampler(name):
    try:
        return SAMPLERS[name]
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}") from None


def chains_suit(chains, sampler, n_temperatures):
    """Whether persistent chains carried over suit the sampler now set."""
    if chains is None or not get_sampler(sampler).persistent:
        return False
    if get_sampler(sampler).kernel == "pt":
        return chains.ndim == 3 and chains.shape[0] == n_temperatures
    return chains.ndim == 2


#: Rows of each epoch (its first minibatches) that sigma's temperature is fitted to.
CALIBRATION_ROWS = 4096


@dataclass(frozen=True)
class TrainingConfig:
    learning_rate: float
    batch_size: int
    n_gibbs_steps: int
    sampler: str
    learn_sigma: bool
    momentum: float
    weight_decay: float
    kernel: KernelOptions
    sigma_learning_rate: float | None
    max_update_norm: float | None
    #: Whether the epoch ends by calibrating; for the whole fit (from
    #: ``from_params``), whether any epoch does. ``at_epoch`` sets it per epoch.
    calibrate_sigma: bool
    #: Epochs between calibrations (``calibration_interval``), None: none.
    calibration_interval: int | None
    mode_negatives: bool
    learning_rate_schedule: str
    n_iter: int

    @classmethod
    def from_params(cls, params, n_samples, n_features):
        """From the estimator's ``get_params()`` and the training data's shape."""

        def optional(name):
            return None if params[name] is None else float(params[name])

        sizes = (params["n_components"], n_features, params["standardize"])
        sampler = resolve_sampler(params["sampler"], *sizes)
        learning_rate = float(params["learning_rate"])
        # Every how many epochs end by calibrating: the modes depend on it too.
        interval = None
        if params["calibrate_sigma"] and params["learn_sigma"]:
            interval = calibration_interval(params["n_components"])
        calibrate = interval is not None
        return cls(
            learning_rate=learning_rate,
            batch_size=resolve_batch_size(
                params["batch_size"], n_samples, params["standardize"], sampler
            ),
            n_gibbs_steps=resolve_gibbs_steps(params["n_gibbs_steps"], sampler, *sizes),
            sampler=sampler,
            learn_sigma=bool(params["learn_sigma"]),
            momentum=float(params["momentum"]),
            weight_decay=float(params["weight_decay"]),
            kernel=KernelOptions.from_params(params),
            sigma_learning_rate=resolve_sigma_learning_rate(
                params["sigma_learning_rate"], sampler, learning_rate
            ),
            max_update_norm=optional("max_update_norm"),
            calibrate_sigma=calibrate,
            calibration_interval=interval,
            mode_negatives=resolve_mode_negatives(
                params["mode_negatives"],
                sampler,
                n_features,
                params["standardize"],
                calibrated=calibrate,
            ),
            learning_rate_schedule=resolve_learning_rate_schedule(
                params["learning_rate_schedule"], sampler, params["standardize"]
            ),
            n_iter=int(params["n_iter"]),
        )

    def at_epoch(self, epoch):
        """This config for epoch ``epoch`` (from 0): the step sizes of the
        schedule, and whether the epoch ends by calibrating (every
        ``calibration_interval``-th epoch, and the ``n_iter``-th)."""
        interval = self.calibration_interval
        calibrate = interval is not None and (
            (epoch + 1) % interval == 0 or epoch + 1 == self.n_iter
        )
        factor = _optim.learning_rate_factor(self.learning_rate_schedule, epoch, self.n_iter)
        if factor == 1.0 and calibrate == self.calibrate_sigma:
            return self
        sigma_rate = self.sigma_learning_rate
        return replace(
            self,
            learning_rate=self.learning_rate * factor,
            sigma_learning_rate=None if sigma_rate is None else sigma_rate * factor,
            calibrate_sigma=calibrate,
        )


#: float64 rows in training coordinates are rounded to multiples of
#: 1 / STANDARDISED_GRID standard deviations (a millionth). ``X`` and
#: ``a * X + t`` then standardise to the same bits but where a value falls
#: within rounding of a grid point (a chance of about 1e-10 per value), so
#: they train the same fit: the hidden-mode negatives amplify a difference of
#: one rounding (1e-16) into different fits within ten epochs, as two seeds.
#: float32 rows are left as they are: their own rounding (1e-7 of a value) is
#: coarser than a grid could absorb, and ``a * X + t`` in float32 is other data.
STANDARDISED_GRID = 2.0**20


class DeviceRows:
    """Training rows resident on the device: a minibatch is an index_select,
    then the per-column map to training coordinates, if any."""

    def __init__(self, X, shift=None, inv_scale=None):
        self.X, self.shift, self.inv_scale = X, shift, inv_scale
        self.shape = tuple(X.shape)

    def _scaled(self, batch):
        if self.shift is None:
            return batch
        batch = batch.sub_(self.shift).mul_(self.inv_scale)
        if batch.dtype == torch.float64:
            batch = batch.mul_(STANDARDISED_GRID).round_().div_(STANDARDISED_GRID)
        return batch

    def minibatches(self, order, n_batches):
        for rows in torch.tensor_split(order, n_batches):
            yield self._scaled(self.X.index_select(0, rows))


class StreamedRows(DeviceRows):
    """Training rows left in host memory or a memmap; each minibatch is
    gathered there and copied to the device on its own (out-of-core)."""

    def __init__(self, X, device, dtype, shift=None, inv_scale=None):
        super().__init__(X, shift, inv_scale)
        self.device, self.dtype = device, dtype

    def minibatches(self, order, n_batches):
        pinned = self.device.type == "cuda"
        for rows in np.array_split(order.cpu().numpy(), n_batches):
            batch = torch.from_numpy(np.take(self.X, rows, axis=0))
            if pinned:
                batch = batch.pin_memory()
            yield self._scaled(batch.to(self.device, self.dtype, non_blocking=pinned))


def training_rows(X, device, dtype, scaling, *, stream=False):
    """``X`` as minibatch source in training coordinates (``scaling``, a
    ``(shift, scale)`` pair): on the device, or streamed from the host."""
    shift, scale = scaling
    affine = {}
    if np.any(shift != 0) or np.any(scale != 1):
        affine = dict(
            shift=to_tensor(shift, device, dtype), inv_scale=to_tensor(1.0 / scale, device, dtype)
        )
    if stream:
        return StreamedRows(X, device, dtype, **affine)
    return DeviceRows(to_tensor(X, device, dtype), **affine)


def run_epoch(
    rows,
    params,
    opt_state,
    chains,
    config,
    generator,
    *,
    log_sigma_floor,
    modes=None,
    on_batch=None,
):
    """One shuffled pass over ``rows`` in minibatches.

    Both kinds of rows split the same permutation the same way, so on the CPU
    a streamed fit and a resident one are bit for bit the same.

    Parameters
    ----------
    rows : DeviceRows or StreamedRows
    params : RBMParams
        Updated in place.
    opt_state : dict
        From ``_optim.init_state``; updated in place.
    chains : Tensor or None
        Persistent chains of a persistent sampler (the kernel's shape), or
        None to start them at the first minibatch.
    log_sigma_floor : Tensor (D,)
        ``log_sigma`` is kept above it.
    modes : Tensor or None
        With ``config.mode_negatives``, the hidden modes the epoch before
        carried over (its heaviest), where this epoch's ascent starts too.
    on_batch : callable or None
        Called as ``on_batch(i, n_batches)`` after each minibatch.

    With ``config.calibrate_sigma`` (learned sigma, one enumeration of the
    hidden states affordable, and this epoch one of every
    ``config.calibration_interval``: :meth:`TrainingConfig.at_epoch`), the
    epoch ends by rescaling every sigma by one
    common factor and shifting the hidden biases, by the exact maximum
    likelihood of (up to CALIBRATION_ROWS of) the epoch's rows with W and b
    held: CD's hidden biases leave much of the model's mass on states no
    training row visits, and its sigma too sharp on some data (the user
    guide's "Longer training" table).

    Returns
    -------
    squared_error : Tensor (D,)
        Per column, the sum over the epoch's rows of ``(v - b - W^T h)^2``, h
        sampled from ``p(h | v)`` with the parameters of the moment each
        minibatch was used. A device tensor: reading it is the epoch's only
        host sync.
    chains : Tensor or None
        The persistent chains after the epoch.
    modes : Tensor or None
        With ``config.mode_negatives``, the heaviest hidden modes at the
        epoch's end, for the next epoch.

    With ``config.mode_negatives``, each minibatch's negatives gain a draw
    from every hidden mode found at the epoch's start (:func:`search_modes`),
    and again every MODE_SEARCH_INTERVAL updates, that outweighs the data's
    hidden states (:func:`with_mode_negatives`).
    """
    n_samples, n_features = rows.shape
    n_batches = max(1, math.ceil(n_samples / config.batch_size))
    device = params.W.device
    sampler = get_sampler(config.sampler)
    kernel = KERNELS[sampler.kernel]
    order = torch.randperm(n_samples, generator=generator, device=device)
    # float64 sums, except on MPS, which has no float64.
    sum_dtype = torch.float32 if device.type == "mps" else torch.float64
    squared_error = torch.zeros(n_features, dtype=sum_dtype, device=device)
    named = params._asdict()
    train_names = ("W", "b", "c", "log_sigma") if config.learn_sigma else ("W", "b", "c")
    step_options = dict(learning_rate=config.learning_rate, momentum=config.momentum)
    if config.sigma_learning_rate is not None:
        step_options["learning_rates"] = {"log_sigma": config.sigma_learning_rate}
    if config.max_update_norm is not None:
        step_options["max_row_norms"] = {"W": config.max_update_norm}
    calibrate = config.calibrate_sigma
    calibration_rows = []
    if config.mode_negatives:
        modes = search_modes(params, modes, generator)
    for i, v_pos in enumerate(rows.minibatches(order, n_batches)):
        if config.mode_negatives and i > 0 and i % MODE_SEARCH_INTERVAL == 0:
            modes = search_modes(params, heaviest(modes, params, MODE_CARRIED), generator)
        if calibrate and i * config.batch_size < CALIBRATION_ROWS:
            calibration_rows.append(v_pos.clone())
        inv_var = params.inv_var
        vs_pos = v_pos * inv_var
        p_pos = hidden_probs_scaled(vs_pos, params.W, params.c)
        if sampler.persistent:
            start, p_start = (v_pos if chains is None else chains), None
        else:
            start, p_start = v_pos, p_pos
            if sampler.min_chains is not None and v_pos.shape[0] < sampler.min_chains:
                start = v_pos.new_empty((sampler.min_chains, n_features))
        negative = kernel(
            start,
            params,
            config.n_gibbs_steps,
            generator,
            config.kernel,
            p_start=p_start,
            parity=opt_state["step"] % 2,
        )
        chains = negative.chains if sampler.persistent else None
        if config.mode_negatives:
            negative = with_mode_negatives(
                negative, modes, p_pos, params, generator, inv_var=inv_var
            )
        recon = negative.first_mean
        if recon is None:
            recon = sampled_reconstruction(p_pos, params, generator)
        squared_error += (recon - v_pos).square_().sum(dim=0, dtype=sum_dtype)
        grads = contrastive_gradients(
            vs_pos,
            p_pos,
            negative.v_scaled,
            negative.p,
            params,
            inv_var=inv_var,
            learn_sigma=config.learn_sigma,
            weight_decay=config.weight_decay,
            weights_neg=negative.weights,
        )
        _optim.step(opt_state, {name: named[name] for name in train_names}, grads, **step_options)
        if config.learn_sigma:
            params.log_sigma.clamp_(min=log_sigma_floor)
        if on_batch is not None:
            on_batch(i, n_batches)
    if calibrate and all_finite(params):
        shift, hidden_shift = calibrated_temperature(params, torch.cat(calibration_rows))
        params.log_sigma.add_(shift).clamp_(min=log_sigma_floor)
        params.c.add_(hidden_shift)
    if config.mode_negatives:
        modes = heaviest(modes, params, MODE_CARRIED)
    return squared_error, chains, modes


def all_finite(params):
    """Whether every parameter tensor is free of NaN and infinity."""
    return all(bool(torch.isfinite(t).all()) for t in params)


def state_to_device(state, device, dtype, optimizer, sampler, n_temperatures):
    """A NumPy training state's parameters, optimizer state and chains on
    ``device`` (fresh optimizer state for another optimizer, no chains for a
    sampler they do not suit)."""
    params = RBMParams(
        *(to_tensor(state["params"][name], device, dtype, copy=True) for name in PARAMETERS)
    )
    saved = state["optimizer"]
    if saved is None or saved["kind"] != optimizer:
        opt_state = _optim.init_state(optimizer, params._asdict())
    else:
        opt_state = _optim.state_from_numpy(saved, device, dtype)
    chains = state["chains"]
    if chains_suit(chains, sampler, n_temperatures):
        chains = to_tensor(chains, device, dtype, copy=True)
    else:
        chains = None
    return params, opt_state, chains


def state_from_device(state, params, opt_state, chains, np_dtype):
    """Inverse of :func:`state_to_device`: a new NumPy training state."""
    return dict(
        state,
        params={name: to_numpy(t, np_dtype) for name, t in zip(PARAMETERS, params)},
        optimizer=_optim.state_to_numpy(opt_state),
        chains=None if chains is None else to_numpy(chains, np_dtype),
    )
