"""Where training starts: the sigma floor, the initial weights and biases.

Everything here is in training coordinates (see ``_scaling``) and NumPy
float64; the estimator casts to the data's dtype.
"""

import math

import numpy as np

from ._random import seed_from
from ._scaling import (
    Scaling,
    column_scales,
    column_statistics,
    combine_statistics,
    overall_scale,
    to_training_units,
)

#: sigma never falls below this fraction of its column's scale: the column's
#: standard deviation when standardising, else the root-mean-square column
#: standard deviation (of the first data the model was fitted on).
SIGMA_FLOOR_FRACTION = 1e-2

#: ``hidden_bias_init="anchored"``: log of each one-hidden-unit component's
#: initial weight relative to the all-off component's.
ANCHOR_RATIO_LOG = math.log(0.01)

#: The names of the trained parameters, in RBMParams' order.
PARAMETERS = ("W", "b", "c", "log_sigma")


def sigma_floor(std, largest):
    """The floor of sigma without standardising, in the data's units, tied to
    its scale (never zero)."""
    return SIGMA_FLOOR_FRACTION * overall_scale(std, largest)


#: ``weight_scale="auto"`` without standardising: the seed notebook's, in the
#: data's units (its model and training exactly).
NOTEBOOK_WEIGHT_SCALE = 0.01

#: Small models: at most this many hidden units, when standardising. Their
#: 2^M hidden states are few enough that ``sampler="auto"`` draws the
#: negative phase exactly from the model, and ``"auto"`` starts them spread.
SMALL_MODEL_MAX_COMPONENTS = 10
#: ``weight_scale="auto"`` of a small model: each row's norm, in standard
#: deviations of the (standardised) data.
SMALL_MODEL_ROW_NORM = 2.0

#: A learned sigma of an annealed fit (``sampler="ais"``: many hidden units on
#: one or two columns) starts at this fraction of ``sigma``. At the data's
#: spread, with W small, the model sits at the Gaussian's saddle point: the
#: data have no variance left over for W to explain, so W's gradient vanishes
#: to first order and the fit leaves the Gaussian only as updates add up. On
#: 20,000 rows (157 updates an epoch) it left within 6 epochs; on 2,000 (50
#: updates) no fit of the three Gaussians did in 30 epochs at lr 1e-2 (the user
#: guide's "Well separated modes"). Narrower than the data, the model has
#: variance to explain from the first update.
AIS_SIGMA_START = 0.5


def is_small_model(n_components, standardize):
    """Whether the ``"auto"`` options treat the model as small (see above)."""
    return bool(standardize) and n_components <= SMALL_MODEL_MAX_COMPONENTS


def resolve_start(weight_init, hidden_bias_init, n_components, standardize):
    """``weight_init`` and ``hidden_bias_init`` with ``"auto"`` resolved.

    A small model is a mixture of at most 2^10 Gaussians with a shared
    diagonal covariance, trained by exact maximum likelihood; like a mixture
    it starts with its components apart: its one-unit components in opposite
    pairs along orthonormal directions (``"orthogonal"``), SMALL_MODEL_ROW_NORM
    standard deviations out, each at 1% of the weight of the all-off one
    (``"anchored"``). Started at zero biases and small random weights, its
    components are nearly equal and symmetric about the mean, and on data
    whose structure is in its tails (whitened heavy-tailed sources) exact
    maximum likelihood never leaves the Gaussian. Larger models start as
    Glorot's normal weights and zero biases.
    """
    small = is_small_model(n_components, standardize)
    if isinstance(weight_init, str) and weight_init == "auto":
        weight_init = "orthogonal" if small else "normal"
    if hidden_bias_init == "auto":
        hidden_bias_init = "anchored" if small else "zeros"
    return weight_init, hidden_bias_init


def resolve_weight_scale(weight_scale, n_components, n_features, standardize):
    """``weight_scale``, with ``"auto"`` resolved.

    In standardised coordinates every column has unit variance, so Glorot's
    ``1 / sqrt(n_features + n_components)`` gives each unit an input
    ``W_j . v`` of standard deviation about ``sqrt(D / (D + M))`` on
    uncorrelated data: large enough that the hidden units see the data's
    structure from the first update (a tiny W sits near the Gaussian's
    saddle point, where the gradient on W vanishes to first order on
    uncorrelated columns), small enough that the model starts near the
    Gaussian. Without standardising the data's units are arbitrary; the
    notebook's 0.01 is kept. Small models: rows of norm SMALL_MODEL_ROW_NORM
    (see :func:`resolve_start`).
    """
    if weight_scale != "auto":
        return float(weight_scale)
    if not standardize:
        return NOTEBOOK_WEIGHT_SCALE
    if is_small_model(n_components, standardize):
        return SMALL_MODEL_ROW_NORM / math.sqrt(n_features)
    return 1.0 / math.sqrt(n_features + n_components)


def initial_weights(init, scale, n_components, n_features, random_state):
    """Initial W of shape (n_components, n_features).

    ``"normal"``: i.i.d. Normal(0, scale^2) entries. ``"orthogonal"``: rows
    that come in opposite pairs of random orthonormal directions, each of the
    norm ``scale * sqrt(n_features)`` that normal rows have on average. An
    array is used as given (a copy).
    """
    if not isinstance(init, str):
        return np.array(init, dtype=np.float64)
    if init == "normal":
        return random_state.normal(0.0, scale, (n_components, n_features))
    blocks = []
    while sum(len(block) for block in blocks) < n_components:
        Q, R = np.linalg.qr(random_state.normal(size=(n_features, n_features)))
        Q *= np.where(np.diag(R) < 0, -1.0, 1.0)  # uniform (Haar) rotation
        blocks.append(np.stack([Q.T, -Q.T], axis=1).reshape(2 * n_features, n_features))
    return np.concatenate(blocks)[:n_components] * (scale * math.sqrt(n_features))


def anchored_hidden_biases(W, b, sigma):
    """``c`` that puts each one-hidden-unit component at ``exp(ANCHOR_RATIO_LOG)``
    of the weight of the all-off component (Melchior, Wang and Wiskott)."""
    return ANCHOR_RATIO_LOG - (np.sum(W**2 / sigma**2, axis=1) + 2.0 * W @ (b / sigma**2)) / 2.0


def centred_visible_biases(W):
    """``b`` that puts the model's mean at the data's (zero in training
    coordinates) when the hidden biases start at zero.

    With ``c = 0`` and ``b = -W^T 1 / 2`` the weight of each hidden state is
    that of its complement, ``p(h) = p(1 - h)``, and their means ``b + W^T h``
    are opposite: the start is symmetric about the data's mean, exactly.
    With ``b = 0`` instead its mean is ``W^T 1 / 2`` to first order, about
    ``sqrt(M / (4 (D + M)))`` standard deviations off in every column (0.46
    on 13 columns and 64 units: nearly a nat below the Gaussian), which a fit
    of few minibatches cannot undo: CD's chains start at the data, and only
    the difference its one step makes pulls the model's mean. Annealing
    (``sampler="ais"``, few columns) draws its negative samples from the
    model and corrects the mean from the first updates; there the centred
    start let the three separated Gaussians' fits put all their mass on one
    mode (the user guide), so it starts at ``b = 0``.
    """
    return -0.5 * W.sum(axis=0)


def variance_matched_sigma(W, sigma):
    """Initial sigma per column for the centred start, so that its marginal
    variance is ``sigma^2``, not ``sigma^2`` plus the spread of its means.

    With ``c = 0`` and the centred ``b`` each hidden unit is on half the time,
    so the means ``b + W^T h`` spread by about ``sum_j W_ji^2 / 4`` in
    column i (0.2 with Glorot's weights on 64 units and 13 columns), which
    the start adds to ``sigma^2``. Taking it out of ``sigma^2`` (leaving at
    least a quarter of it, so sigma starts at ``sigma / 2`` or above) starts
    the model at the data's variance when ``sigma`` is 1.
    """
    spread = 0.25 * np.sum(W**2, axis=0)
    return np.sqrt(np.maximum(sigma**2 - spread, 0.25 * sigma**2))


def _scaling_and_floor(statistics, standardize, n_features):
    _, mean, std, largest = statistics
    if standardize:
        scaling = Scaling(mean, column_scales(std, largest))
        return scaling, SIGMA_FLOOR_FRACTION * scaling.scale
    return Scaling.identity(n_features), np.full(n_features, sigma_floor(std, largest))


def initial_state(
    X,
    *,
    n_components,
    weight_init,
    weight_scale,
    hidden_bias_init,
    standardize,
    sigma,
    random_state,
    sampler="cd",
    learn_sigma=False,
):
    """The training state of a fresh fit: the parameters in training
    coordinates (in X's dtype), the column statistics, the scaling and the
    sigma floor. ``random_state`` is a RandomState, from which the weights and
    then the fit's seed are drawn; ``sampler`` (resolved) is the one that
    will train, which decides whether the visible biases start centred (and,
    with ``learn_sigma``, sigma below ``sigma`` by the spread of the means)
    and whether a learned sigma starts at AIS_SIGMA_START of ``sigma``.
    """
    n_features = X.shape[1]
    statistics = (X.shape[0], *column_statistics(X))
    scaling, floor = _scaling_and_floor(statistics, standardize, n_features)
    scale = resolve_weight_scale(weight_scale, n_components, n_features, standardize)
    weight_init, hidden_bias_init = resolve_start(
        weight_init, hidden_bias_init, n_components, standardize
    )
    W = initial_weights(weight_init, scale, n_components, n_features, random_state)
    if W.shape != (n_components, n_features):
        raise ValueError(
            f"weight_init has shape {W.shape}, but the model needs "
            f"(n_components, n_features) = ({n_components}, {n_features})"
        )
    if not isinstance(weight_init, str):
        W = W / scaling.scale  # given in the data's units
    log_sigma = np.full(n_features, math.log(sigma))
    if learn_sigma and sampler == "ais":
        log_sigma += math.log(AIS_SIGMA_START)
    centred = standardize and hidden_bias_init == "zeros" and sampler == "cd"
    b = centred_visible_biases(W) if centred else np.zeros(n_features)
    if centred and learn_sigma:
        log_sigma = np.log(variance_matched_sigma(W, sigma))
    c = np.zeros(n_components)
    if hidden_bias_init == "anchored":
        c = anchored_hidden_biases(W, b, np.exp(log_sigma))
    return {
        "params": {
            name: value.astype(X.dtype) for name, value in zip(PARAMETERS, (W, b, c, log_sigma))
        },
        "optimizer": None,
        "chains": None,
        "modes": None,
        "seed": seed_from(random_state),
        "statistics": statistics,
        "standardize": bool(standardize),
        # plain arrays, so that pickle and skops carry them as data
        "scaling": tuple(scaling),
        "sigma_floor": floor,
    }


def with_more_rows(state, X):
    """The state after ``partial_fit`` sees the rows X: the column statistics
    of every row seen so far (as ``StandardScaler.partial_fit`` keeps them),
    and the scaling and sigma floor they give. The parameters, Adam's moments
    and the persistent chains stay as they are in training coordinates, so
    the model in the data's units follows the statistics (an early chunk's
    spread does not stay the model's). When the statistics do not move (the
    same rows again), nothing changes, bit for bit."""
    statistics = combine_statistics(state["statistics"], (X.shape[0], *column_statistics(X)))
    old = Scaling(*state["scaling"])
    new, floor = _scaling_and_floor(statistics, state["standardize"], X.shape[1])
    state = dict(state, statistics=statistics)
    if np.allclose(new.shift, old.shift, rtol=1e-9, atol=0) and np.allclose(
        new.scale, old.scale, rtol=1e-9, atol=0
    ):
        return state
    return dict(state, scaling=tuple(new), sigma_floor=floor)


def from_attributes(state, W, b, c, sigma):
    """``state`` with the parameters given in the data's units (fitted
    attributes set by hand), in its training coordinates, and a fresh optimizer."""
    public = (np.asarray(a, dtype=np.float64) for a in (W, b, c, np.log(sigma)))
    mapped = to_training_units(*public, state["scaling"])
    params = {name: value.astype(W.dtype) for name, value in zip(PARAMETERS, mapped)}
    return dict(state, params=params, optimizer=None)
