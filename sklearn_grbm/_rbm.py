"""Gaussian-Bernoulli Restricted Boltzmann Machine."""

import functools
import hashlib
import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _optim
from ._device import compute_dtype, make_generator, resolve_device, to_numpy, to_tensor
from ._functional import (
    RBMParams,
    free_energy,
    gibbs_chain,
    gibbs_langevin_chain,
    hidden_probs,
    parallel_tempering,
    sample_hidden,
    sample_visible,
    temperature_ladder,
    visible_mean,
)
from ._likelihood import (
    LogPartition,
    exact_is_affordable,
    log_partition_ais,
    log_partition_exact,
)
from ._training import DeviceRows, StreamedRows, TrainingConfig, all_finite, run_epoch

#: sigma never falls below this fraction of the root-mean-square column
#: standard deviation of the first data the model was fitted on.
SIGMA_FLOOR_FRACTION = 1e-2

#: Rows of a chunk in transform/score_samples/...: this many elements at most.
_CHUNK_ELEMENTS = 2**22

_SEED_MAX = np.iinfo(np.int32).max

#: ``hidden_bias_init="anchored"``: log of each one-hidden-unit component's
#: initial weight relative to the all-off component's.
ANCHOR_RATIO_LOG = math.log(0.01)

#: ``log_partition(method="exact")`` refuses more hidden units than this.
MAX_EXACT_COMPONENTS = 30


class DivergenceError(FloatingPointError, ValueError, RuntimeError):
    """Training produced non-finite parameters (the learning rate is too large).

    A subclass of ``FloatingPointError``, ``ValueError`` and ``RuntimeError`` so
    that any of them catches it.
    """


def _all_or_nothing(method):
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


def _seed_from(random_state):
    """An int seed: the int itself, else one drawn from the RandomState."""
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        return int(random_state)
    return check_random_state(random_state).randint(_SEED_MAX)


def _chains_fit(chains, sampler, n_temperatures):
    """Whether persistent chains carried over suit the sampler now set."""
    if chains is None or sampler == "cd":
        return False
    if sampler == "pcd":
        return chains.ndim == 2
    return chains.ndim == 3 and chains.shape[0] == n_temperatures


def _is_memory_mapped(X):
    """Whether X is (a view of) a memory-mapped file."""
    import mmap

    while isinstance(X, np.ndarray):
        if isinstance(X, np.memmap) or isinstance(X.base, mmap.mmap):
            return True
        X = X.base
    return False


def _should_stream(out_of_core, X, device, memory_mapped):
    """Whether to leave X on the host and copy each minibatch (``out_of_core``)."""
    if out_of_core != "auto":
        return bool(out_of_core)
    if device.type == "cpu":
        return False
    if memory_mapped:
        return True
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return X.nbytes > 0.5 * free
    return False


def _sigma_floor(X):
    """A floor for sigma tied to the scale of ``X`` (never zero).

    Two passes over chunks of rows, so a memmap is never loaded whole. Each
    chunk is reduced in the data's dtype (a float64 copy of float32 data would
    make this cost as much as a tenth of an epoch) and the chunk sums are
    accumulated in float64.
    """
    n_samples, n_features = X.shape
    chunk_rows = max(1, (_CHUNK_ELEMENTS // 4) // max(1, n_features))
    dtype = np.float32 if X.dtype == np.float32 else np.float64

    def chunk(start):
        # A host tensor over the rows' memory (no device transfer, and no copy
        # of float rows); a read-only memmap is only read here.
        rows = np.asarray(X[start : start + chunk_rows], dtype=dtype)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not writable.*")
            return torch.as_tensor(rows)

    starts = range(0, n_samples, chunk_rows)
    total = torch.zeros(n_features, dtype=torch.float64)
    for start in starts:
        total += chunk(start).sum(dim=0)  # summed in the chunk's dtype, accumulated in float64
    mean = (total / n_samples).to(chunk(0).dtype)
    squares = torch.zeros(n_features, dtype=torch.float64)
    for start in starts:
        squares += (chunk(start) - mean).square_().sum(dim=0)
    scale = float(torch.sqrt(torch.mean(squares / n_samples)))
    if not scale > 0:  # every column constant
        scale = max(float(chunk(start).abs().max()) for start in starts) or 1.0
    return SIGMA_FLOOR_FRACTION * scale


def _initial_weights(kind, scale, n_components, n_features, random_state):
    """Initial W: i.i.d. Normal(0, scale^2) entries, or ("orthogonal") rows
    that come in opposite pairs of random orthonormal directions, each of the
    norm ``scale * sqrt(n_features)`` that normal rows have on average."""
    if kind == "normal":
        return random_state.normal(0.0, scale, (n_components, n_features))
    blocks = []
    while sum(len(block) for block in blocks) < n_components:
        Q, R = np.linalg.qr(random_state.normal(size=(n_features, n_features)))
        Q *= np.where(np.diag(R) < 0, -1.0, 1.0)  # uniform (Haar) rotation
        blocks.append(np.stack([Q.T, -Q.T], axis=1).reshape(2 * n_features, n_features))
    return np.concatenate(blocks)[:n_components] * (scale * math.sqrt(n_features))


class GaussianBernoulliRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Gaussian-Bernoulli Restricted Boltzmann Machine (GRBM).

    A Restricted Boltzmann Machine with real-valued Gaussian visible units of
    learnable (or fixed) standard deviation and binary hidden units, trained by
    contrastive divergence (CD-k) or persistent contrastive divergence (PCD)
    with Adam or SGD, on a PyTorch backend (CUDA, Apple MPS or CPU).

    The energy, with sigma = exp(s) per visible unit, is::

        E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c.h
                  - sum_ij h_j W_ji v_i / sigma_i^2

    so that ``p(h_j = 1 | v) = sigmoid(c_j + sum_i W_ji v_i / sigma_i^2)`` and
    ``p(v | h) = Normal(b + W^T h, diag(sigma^2))``.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.

    learning_rate : float, default=1e-3
        Step size of the optimizer.

    batch_size : int, default=128
        Number of rows per minibatch. The rows of each epoch are shuffled and
        split into ``ceil(n_samples / batch_size)`` minibatches of nearly equal
        size.

    n_iter : int, default=25
        Number of passes over the training data (epochs) in :meth:`fit`.

    n_gibbs_steps : int, default=1
        Number of Gibbs steps per update: k in CD-k, or the steps the
        persistent chains advance per update in PCD.

    sampler : {"cd", "pcd", "pt", "langevin"}, default="cd"
        How the negative (model) samples are drawn. ``"cd"``: chains start at
        the minibatch (contrastive divergence). ``"pcd"``: persistent chains,
        one per row of the first minibatch, carried across minibatches, epochs
        and :meth:`partial_fit` calls. ``"pt"``: parallel tempering (Cho,
        Ilin and Raiko 2011): persistent chains at ``n_temperatures`` inverse
        temperatures from 1 down to 0, each a GRBM with weights beta W, with
        Metropolis swaps between neighbours after every Gibbs step; the
        negative samples come from the chains at temperature 1.

        ``"langevin"``: Gibbs-Langevin sampling (Liao, Kornblith, Ren, Fleet
        and Hinton 2022), started at the minibatch like CD: hidden units by
        Gibbs, visible units by ``n_langevin_steps`` Langevin steps given them.

    n_temperatures : int, default=10
        Number of tempered chains per sample for ``sampler="pt"``.

    n_langevin_steps : int, default=10
        Langevin steps per Gibbs step for ``sampler="langevin"``.

    langevin_step_size : float, default=0.1
        Langevin step relative to each visible variance: a step moves ``v`` by
        ``-step (v - b - W^T h) + sqrt(2 step) sigma noise``, the per-sample
        energy gradient preconditioned by ``sigma^2``. Must be below 2.

    langevin_adjust : bool, default=False
        Metropolis-Hastings correction of every Langevin step (MALA), which
        makes the visible updates exact; unadjusted, they inflate the
        conditional variance by ``1 / (1 - langevin_step_size / 2)``.

    weight_scale : float, default=0.01
        Scale of the initial weights: their standard deviation,
        ``W ~ Normal(0, weight_scale^2)``, with ``weight_init="normal"``; the
        norm of each row divided by ``sqrt(n_features)`` with
        ``weight_init="orthogonal"``. 0.01 is the seed notebook's.

    weight_init : {"normal", "orthogonal"}, default="normal"
        Initial weights. ``"normal"``: ``W ~ Normal(0, weight_scale^2)``, the
        seed notebook's. ``"orthogonal"``: the rows come in opposite pairs
        ``+q, -q`` of random orthonormal directions (a fresh random basis for
        every ``2 n_features`` rows), each of norm ``weight_scale *
        sqrt(n_features)``, the average norm of a normal row. For whitened
        data with symmetric, heavy-tailed sources, such as natural image
        patches, this spreads the one-unit components evenly around the
        anchor, so that no two units start in the same direction and compete
        for it (see the user guide).

    hidden_bias_init : {"zeros", "anchored"}, default="zeros"
        Initial hidden biases. ``"zeros"``: the seed notebook's.
        ``"anchored"``: the recipe of Melchior, Wang and Wiskott: seen as a
        mixture of Gaussians, the GRBM's component with only hidden unit j
        on starts at 1% of the weight of the all-off "anchor" component,
        ``c_j = log(0.01) - (|w_j|^2 + 2 b.w_j) / (2 sigma^2)``. With
        weights large enough to spread the components (``weight_scale``
        about 2 / sqrt(n_features) for whitened data, best with
        ``weight_init="orthogonal"``), this lets CD leave the single-Gaussian
        solution where small random weights keep it (see the user guide).

    learn_sigma : bool, default=True
        Whether to learn the log standard deviation of each visible unit. If
        False, sigma stays at ``sigma``.

    sigma : float, default=1.0
        Initial standard deviation of every visible unit when learned; the
        fixed standard deviation otherwise. ``learn_sigma=False, sigma=1.0`` is
        the seed notebook's model.

    sigma_learning_rate : float or None, default=None
        Step size of the optimizer for the log standard deviations, when
        learned; None uses ``learning_rate``. A smaller step for sigma keeps
        it from shrinking faster than the weights can spread the components
        early in training.

    max_update_norm : float or None, default=None
        If set, every optimizer step is scaled down, hidden unit by hidden
        unit, so that the change of each row of W (one unit's weight vector)
        has an L2 norm of at most this value; None: no limit. Keeps a few
        noisy CD updates from throwing large anchored weights off.

    optimizer : {"adam", "sgd"}, default="adam"
        ``"adam"`` (betas 0.9, 0.999, eps 1e-8) or ``"sgd"`` with ``momentum``.

    momentum : float, default=0.9
        Momentum of ``optimizer="sgd"``; unused by Adam.

    weight_decay : float, default=0.0
        L2 penalty on the weights ``W`` (added to their gradient).

    device : str or torch.device, default="auto"
        Where to compute: ``"auto"`` picks CUDA, then Apple's MPS, then the
        CPU; or any torch device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``,
        ``"mps"``). An explicit device that is not available raises a
        ``ValueError`` in :meth:`fit`.

    out_of_core : bool or "auto", default="auto"
        Whether to leave the training data in host memory (or on disk, for a
        ``np.memmap``) and copy each minibatch to the device on its own,
        instead of moving the whole array to the device once per fit.
        ``"auto"`` streams on an accelerator when the data is memory-mapped or
        would take more than half of the device's free memory; on the CPU the
        data is used in place (zero-copy, a memmap is read lazily) and nothing
        is streamed. The trained model does not depend on this choice.

    verbose : int, default=0
        If positive, print one line per epoch with the training reconstruction
        error and the time; above 1, also the progress within each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation (NumPy) and a private
        ``torch.Generator`` for shuffling and Gibbs sampling; the global torch
        seed is never touched. An int gives bit-identical fits on the CPU.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix W.

    intercept_hidden_ : ndarray of shape (n_components,)
        Biases c of the hidden units.

    intercept_visible_ : ndarray of shape (n_features,)
        Biases b of the visible units (the mean of ``p(v | h = 0)``).

    sigma_ : ndarray of shape (n_features,)
        Standard deviation of each visible unit.

    sigma_floor_ : float
        The lower bound kept on ``sigma_`` while it is learned: 1% of the
        root-mean-square column standard deviation of the first training data,
        so that constant or quantised columns cannot collapse it.

    reconstruction_error_curve_ : list of float
        One value per epoch: the mean squared error between each training
        minibatch and its one-step reconstruction ``b + W^T h`` with ``h``
        sampled from ``p(h | v)``, accumulated during the epoch at no extra
        cost. The same quantity the ``verbose`` lines print.

    n_iter_ : int
        Number of epochs trained so far (``fit`` resets it).

    device_ : str
        The device the last fit actually ran on.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when ``X``
        has feature names that are all strings.

    random_state_ : RandomState instance
        The random generator of the fit, from which later calls to
        :meth:`partial_fit`, :meth:`gibbs` and :meth:`sample` draw seeds.

    See Also
    --------
    sklearn.neural_network.BernoulliRBM : RBM with binary visible units.
    sklearn.decomposition.PCA : A linear dimensionality reduction.

    References
    ----------
    N. Wang, J. Melchior, L. Wiskott. Gaussian-binary restricted Boltzmann
    machines on modeling natural image statistics. arXiv:1401.5900.

    K. Cho, A. Ilin, T. Raiko. Improved learning of Gaussian-Bernoulli
    restricted Boltzmann machines. ICANN 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_grbm import GaussianBernoulliRBM
    >>> X = np.random.RandomState(0).normal(size=(200, 4))
    >>> rbm = GaussianBernoulliRBM(n_components=3, n_iter=5, device="cpu",
    ...                            random_state=0).fit(X)
    >>> rbm.transform(X).shape
    (200, 3)
    >>> bool(np.all(np.isfinite(rbm.score_samples(X))))
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "sampler": [StrOptions({"cd", "pcd", "pt", "langevin"})],
        "n_temperatures": [Interval(Integral, 2, None, closed="left")],
        "n_langevin_steps": [Interval(Integral, 1, None, closed="left")],
        "langevin_step_size": [Interval(Real, 0, 2, closed="neither")],
        "langevin_adjust": ["boolean"],
        "weight_scale": [Interval(Real, 0, None, closed="neither")],
        "weight_init": [StrOptions({"normal", "orthogonal"})],
        "hidden_bias_init": [StrOptions({"zeros", "anchored"})],
        "learn_sigma": ["boolean"],
        "sigma_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "max_update_norm": [Interval(Real, 0, None, closed="neither"), None],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions({"adam", "sgd"})],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "out_of_core": ["boolean", StrOptions({"auto"})],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=1e-3,
        batch_size=128,
        n_iter=25,
        n_gibbs_steps=1,
        sampler="cd",
        n_temperatures=10,
        n_langevin_steps=10,
        langevin_step_size=0.1,
        langevin_adjust=False,
        weight_scale=0.01,
        weight_init="normal",
        hidden_bias_init="zeros",
        learn_sigma=True,
        sigma=1.0,
        sigma_learning_rate=None,
        max_update_norm=None,
        optimizer="adam",
        momentum=0.9,
        weight_decay=0.0,
        device="auto",
        out_of_core="auto",
        verbose=0,
        random_state=None,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.n_gibbs_steps = n_gibbs_steps
        self.sampler = sampler
        self.n_temperatures = n_temperatures
        self.n_langevin_steps = n_langevin_steps
        self.langevin_step_size = langevin_step_size
        self.langevin_adjust = langevin_adjust
        self.weight_scale = weight_scale
        self.weight_init = weight_init
        self.hidden_bias_init = hidden_bias_init
        self.learn_sigma = learn_sigma
        self.sigma = sigma
        self.sigma_learning_rate = sigma_learning_rate
        self.max_update_norm = max_update_norm
        self.optimizer = optimizer
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.device = device
        self.out_of_core = out_of_core
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    @_all_or_nothing
    def fit(self, X, y=None):
        """Fit the model to the data X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. float32 stays float32; other numbers become float64.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : GaussianBernoulliRBM
            The fitted model.
        """
        memory_mapped = _is_memory_mapped(X)
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        self.random_state_ = check_random_state(self.random_state)
        state = self._initial_state(X)
        self.n_iter_ = 0
        self._train(X, state, n_epochs=self.n_iter, curve=[], memory_mapped=memory_mapped)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_all_or_nothing
    def partial_fit(self, X, y=None):
        """Fit the model with one pass over X in minibatches.

        The optimizer state (Adam's moments or SGD's momentum) and the
        persistent chains carry over from earlier calls.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : GaussianBernoulliRBM
            The fitted model.
        """
        first_call = not hasattr(self, "components_")
        memory_mapped = _is_memory_mapped(X)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=first_call)
        if first_call:
            self.random_state_ = check_random_state(self.random_state)
            state = self._initial_state(X)
            self.n_iter_ = 0
            curve = []
        else:
            X = X.astype(self.components_.dtype, copy=False)
            state = self._current_state()
            curve = list(self.reconstruction_error_curve_)
        self._train(X, state, n_epochs=1, curve=curve, memory_mapped=memory_mapped)
        return self

    def _initial_state(self, X):
        n_features = X.shape[1]
        W = _initial_weights(self.weight_init, self.weight_scale, self.n_components, n_features, self.random_state_)
        b = np.zeros(n_features)
        c = np.zeros(self.n_components)
        if self.hidden_bias_init == "anchored":
            c += ANCHOR_RATIO_LOG - (np.sum(W**2, axis=1) + 2.0 * W @ b) / (2.0 * self.sigma**2)
        return {
            "W": W.astype(X.dtype),
            "b": b.astype(X.dtype),
            "c": c.astype(X.dtype),
            "log_sigma": np.full(n_features, math.log(self.sigma), dtype=X.dtype),
            "optimizer": None,
            "chains": None,
            "sigma_floor": _sigma_floor(X),
        }

    def _current_state(self):
        return {
            "W": self.components_,
            "b": self.intercept_visible_,
            "c": self.intercept_hidden_,
            "log_sigma": np.log(self.sigma_),
            "optimizer": self._optimizer_state,
            "chains": self._persistent_chains,
            "sigma_floor": self.sigma_floor_,
        }

    def _train(self, X, state, *, n_epochs, curve, memory_mapped=False):
        """Train ``n_epochs`` on X from ``state`` (NumPy); commit only on success."""
        device = resolve_device(self.device)
        dtype = compute_dtype(X.dtype, device)
        if _should_stream(self.out_of_core, X, device, memory_mapped):
            rows = StreamedRows(X, device, dtype)
        else:
            rows = DeviceRows(to_tensor(X, device, dtype))
        params = {
            name: to_tensor(state[name], device, dtype, copy=True)
            for name in ("W", "b", "c", "log_sigma")
        }
        opt = state["optimizer"]
        if opt is None or opt["kind"] != self.optimizer:
            opt_state = _optim.init_state(self.optimizer, params)
        else:
            opt_state = _optim.state_from_numpy(opt, device, dtype)
        chains = state["chains"]
        if not _chains_fit(chains, self.sampler, self.n_temperatures):
            chains = None
        if chains is not None:
            chains = to_tensor(chains, device, dtype, copy=True)
        config = TrainingConfig(
            learning_rate=float(self.learning_rate),
            batch_size=int(self.batch_size),
            n_gibbs_steps=int(self.n_gibbs_steps),
            sampler=self.sampler,
            learn_sigma=bool(self.learn_sigma),
            optimizer=self.optimizer,
            momentum=float(self.momentum),
            weight_decay=float(self.weight_decay),
            log_sigma_floor=math.log(state["sigma_floor"]),
            n_temperatures=int(self.n_temperatures),
            n_langevin_steps=int(self.n_langevin_steps),
            langevin_step_size=float(self.langevin_step_size),
            langevin_adjust=bool(self.langevin_adjust),
            sigma_learning_rate=None if self.sigma_learning_rate is None else float(self.sigma_learning_rate),
            max_update_norm=None if self.max_update_norm is None else float(self.max_update_norm),
        )
        generator = make_generator(device, self.random_state_.randint(_SEED_MAX))
        n_iter_start = self.n_iter_
        for epoch in range(1, n_epochs + 1):
            start = time.perf_counter()
            on_batch = self._progress_printer(n_iter_start + epoch) if self.verbose > 1 else None
            error, chains = run_epoch(rows, params, opt_state, chains, config, generator, on_batch)
            error = float(error)
            if not (math.isfinite(error) and all_finite(params)):
                raise DivergenceError(
                    f"Training diverged: the parameters became non-finite (NaN or "
                    f"inf) in epoch {n_iter_start + epoch}. Try a smaller "
                    f"learning_rate (now {self.learning_rate:g}), or scale the data "
                    f"(e.g. StandardScaler). The model was left as it was before "
                    f"this call."
                )
            curve.append(error)
            if self.verbose:
                print(
                    f"[{type(self).__name__}] Iteration {n_iter_start + epoch}, "
                    f"reconstruction error = {error:.4f}, "
                    f"time = {time.perf_counter() - start:.2f}s",
                    flush=True,
                )

        np_dtype = X.dtype
        self.components_ = to_numpy(params["W"], np_dtype)
        self.intercept_hidden_ = to_numpy(params["c"], np_dtype)
        self.intercept_visible_ = to_numpy(params["b"], np_dtype)
        self.sigma_ = to_numpy(torch.exp(params["log_sigma"]), np_dtype)
        self.sigma_floor_ = state["sigma_floor"]
        self._optimizer_state = _optim.state_to_numpy(opt_state)
        self._persistent_chains = None if chains is None else to_numpy(chains, np_dtype)
        self._n_features_out = self.n_components
        self.reconstruction_error_curve_ = curve
        self.n_iter_ = n_iter_start + n_epochs
        self.device_ = str(device)
        self._log_partition_cache = None

    def _progress_printer(self, epoch):
        name = type(self).__name__

        def on_batch(i, n_batches):
            step = max(1, n_batches // 10)
            if (i + 1) % step == 0 and i + 1 < n_batches:
                print(
                    f"[{name}] Iteration {epoch}: {i + 1}/{n_batches} minibatches",
                    flush=True,
                )

        return on_batch

    # ---------------------------------------------------------------- inference

    def _inference_device(self):
        """The device for inference: ``device`` if available, else the CPU.

        A model fitted on a GPU and loaded where there is none still works.
        """
        try:
            return resolve_device(self.device)
        except ValueError as exc:
            warnings.warn(f"{exc}; computing on the CPU instead", UserWarning, stacklevel=3)
            return torch.device("cpu")

    def _params_on(self, device, dtype):
        return RBMParams(
            W=to_tensor(self.components_, device, dtype),
            b=to_tensor(self.intercept_visible_, device, dtype),
            c=to_tensor(self.intercept_hidden_, device, dtype),
            log_sigma=to_tensor(np.log(self.sigma_), device, dtype),
        )

    def _map_rows(self, X, fn, n_columns):
        """Apply ``fn(rows, params)`` to X in chunks; memory is bounded by the chunk."""
        device = self._inference_device()
        dtype = compute_dtype(X.dtype, device)
        params = self._params_on(device, dtype)
        width = max(X.shape[1], self.components_.shape[0], n_columns or 1)
        chunk = max(1, _CHUNK_ELEMENTS // width)
        shape = (X.shape[0], n_columns) if n_columns else (X.shape[0],)
        out = np.empty(shape, dtype=X.dtype)
        with torch.inference_mode():
            for start in range(0, X.shape[0], chunk):
                rows = to_tensor(X[start : start + chunk], device, dtype)
                out[start : start + chunk] = to_numpy(fn(rows, params), X.dtype)
        return out

    def _validate_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=(np.float64, np.float32), reset=False)

    def transform(self, X):
        """Hidden activation probabilities ``p(h = 1 | v = X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data to transform.

        Returns
        -------
        H : ndarray of shape (n_samples, n_components)
            Latent representation of the data, in the dtype of X.
        """
        X = self._validate_X(X)
        return self._map_rows(
            X, lambda v, p: hidden_probs(v, p.W, p.c, p.inv_var), self.n_components
        )

    def inverse_transform(self, H):
        """Mean of ``p(v | h = H)``: ``b + H W``.

        Parameters
        ----------
        H : array-like of shape (n_samples, n_components)
            Hidden states or probabilities.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        H = check_array(H, dtype=(np.float64, np.float32), input_name="H")
        if H.shape[1] != self.n_components:
            raise ValueError(
                f"H has {H.shape[1]} columns, but {type(self).__name__} has "
                f"{self.n_components} hidden units (n_components)"
            )
        return self._map_rows(H, lambda h, p: visible_mean(h, p.W, p.b), self.n_features_in_)

    def reconstruct(self, X):
        """Deterministic mean-field reconstruction ``inverse_transform(transform(X))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features)
        """
        X = self._validate_X(X)
        return self._map_rows(X, _mean_field_reconstruction, X.shape[1])

    def score(self, X, y=None):
        """Minus the mean squared error of the mean-field reconstruction of X.

        Higher is better, so ``GridSearchCV`` maximises it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        y : Ignored

        Returns
        -------
        score : float
        """
        X = self._validate_X(X)
        squared = self._map_rows(
            X,
            lambda v, p: (_mean_field_reconstruction(v, p) - v).pow_(2).sum(dim=1),
            None,
        )
        return -float(np.sum(squared, dtype=np.float64) / X.size)

    def free_energy(self, X):
        """Free energy ``F(x)`` of each row, so that ``log p(x) = -F(x) - log Z``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        F : ndarray of shape (n_samples,)
        """
        X = self._validate_X(X)
        return self._map_rows(X, free_energy, None)

    def score_samples(self, X):
        """Log-likelihood ``log p(x)`` of each row, in nats.

        ``log Z`` comes from :meth:`log_partition` (``method="auto"``): exact
        enumeration of the 2^M hidden states when that is affordable, AIS
        otherwise, computed once per fitted model and cached; a value computed
        by an explicit :meth:`log_partition` call is used as is.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
        """
        X = self._validate_X(X)
        log_z = self.log_partition().value
        neg_free_energy = -self._map_rows(X, free_energy, None).astype(np.float64)
        return (neg_free_energy - log_z).astype(X.dtype, copy=False)

    def log_partition(self, method="auto", *, n_chains=None, n_betas=None, random_state=None):
        """The log partition function log Z of the fitted model, in nats.

        The result is cached with a fingerprint of the parameters, and
        :meth:`score_samples` uses the last value computed here: calling
        ``log_partition("ais", n_chains=1000)`` first makes later
        log-likelihoods use that more precise estimate.

        Parameters
        ----------
        method : {"auto", "exact", "ais"}, default="auto"
            ``"exact"`` enumerates the 2^M hidden states (on the device, in
            float64); ``"ais"`` runs annealed importance sampling from the
            W = 0 base model; ``"auto"`` returns the cached value if there is
            one, else enumerates when ``n_components <= 20`` and
            ``2^M * M * D <= 4e9`` multiply-adds (about a second on a 2-core
            CPU), else runs AIS.
        n_chains : int or None, default=None
            AIS chains. None: 100.
        n_betas : int or None, default=None
            AIS inverse temperatures, denser near 1. None: as many as about
            2e10 multiply-adds allow for the chains, between 1,000 (large
            models) and 5,000 (small ones).

            When both are None and the standard error is above 0.05 nats, the
            run is repeated with twice the temperatures, up to three times
            (more temperatures shrink both the spread and the downward bias
            of AIS). When only ``n_chains`` is None, chains are added 100 at
            a time instead, up to 1,000. The standard error measures the
            spread of the importance weights; it cannot see a mode that no
            chain reached, so on strongly multimodal models compare methods
            (a 2-D model can be checked by integration, as the tests do).
        random_state : int, RandomState instance or None, default=None
            Seed of the AIS chains; None uses the estimator's ``random_state``
            (an int there makes the estimate reproducible).

        Returns
        -------
        log_z : LogPartition
            ``value`` (nats), ``stderr`` (0 when exact; for AIS the standard
            error of the log-mean-exp of the importance weights) and
            ``method``. On models trained on digits with 12 to 20 hidden
            units, the default AIS (5,000 temperatures there) was within 0.06
            nats of the exact value in every run, and 0.02 on average (tests).
        """
        check_is_fitted(self)
        if method not in ("auto", "exact", "ais"):
            raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}")
        for name, value in (("n_chains", n_chains), ("n_betas", n_betas)):
            if value is None:
                continue
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 2:
                raise ValueError(f"{name} must be an integer of at least 2, got {value!r}")
        key = self._parameter_fingerprint()
        n_components, n_features = self.components_.shape
        if method == "auto":
            cache = getattr(self, "_log_partition_cache", None)
            if cache is not None and cache[0] == key:
                return LogPartition(*cache[1:])
            method = "exact" if exact_is_affordable(n_components, n_features) else "ais"
        device = self._inference_device()
        if method == "exact":
            if n_components > MAX_EXACT_COMPONENTS:
                raise ValueError(
                    f"method='exact' enumerates 2^n_components hidden states; "
                    f"n_components={n_components} is above {MAX_EXACT_COMPONENTS}: use 'ais'"
                )
            exact_device = torch.device("cpu") if device.type == "mps" else device
            result = log_partition_exact(self._params_on(exact_device, torch.float64))
        else:
            if device.type == "mps":  # the importance weights need float64
                device = torch.device("cpu")
            dtype = compute_dtype(self.components_.dtype, device)
            seed_source = self.random_state if random_state is None else random_state
            generator = make_generator(device, _seed_from(seed_source))
            with torch.inference_mode():
                result = log_partition_ais(
                    self._params_on(device, dtype), generator, n_chains=n_chains, n_betas=n_betas
                )
        # Plain builtins, so that pickle and skops carry the value as data.
        self._log_partition_cache = (key, result.value, result.stderr, result.method)
        return result

    def _parameter_fingerprint(self):
        digest = hashlib.blake2b(digest_size=16)
        for array in (self.components_, self.intercept_hidden_, self.intercept_visible_, self.sigma_):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    # ----------------------------------------------------------------- sampling

    def _generator_for(self, device, random_state):
        rng = self.random_state_ if random_state is None else check_random_state(random_state)
        return make_generator(device, rng.randint(_SEED_MAX))

    def gibbs(self, X, random_state=None):
        """One Gibbs step from X: sample ``h ~ p(h | X)``, then ``v ~ p(v | h)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Values of the visible layer to start from.

        random_state : int, RandomState instance or None, default=None
            Seed of this call; None continues the model's ``random_state_``,
            so successive calls differ.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
        """
        X = self._validate_X(X)
        device = self._inference_device()
        generator = self._generator_for(device, random_state)

        def step(v, p):
            start = hidden_probs(v, p.W, p.c, p.inv_var)
            return gibbs_chain(start, p, 1, generator)[0]

        return self._map_rows(X, step, X.shape[1])

    def sample(self, n_samples=1, *, n_steps=1000, mean=False, method="gibbs", random_state=None):
        """Draw visible vectors from the model by Markov chain Monte Carlo.

        Each chain starts from ``Normal(b, diag(sigma^2))`` (the model with
        W = 0) and runs ``n_steps`` steps; the last visible sample of each
        chain is returned.

        Parameters
        ----------
        n_samples : int, default=1
            Number of independent chains, one sample each.

        n_steps : int, default=1000
            Gibbs steps per chain.

        mean : bool, default=False
            Return the mean ``b + W^T h`` of ``p(v | h)`` at the last step
            instead of a draw from it: the sample without its Gaussian noise,
            which is what one usually looks at when sigma is large.

        method : {"gibbs", "pt", "langevin"}, default="gibbs"
            ``"gibbs"``: block Gibbs sampling. ``"pt"``: parallel tempering
            over ``n_temperatures`` chains per sample (weights beta W, beta
            from 1 to 0, swaps between neighbours after each step), which
            moves between the modes of a multimodal model far sooner; costs
            ``n_temperatures`` times more per step. ``"langevin"``:
            Gibbs-Langevin with ``n_langevin_steps``, ``langevin_step_size``
            and ``langevin_adjust``.

        random_state : int, RandomState instance or None, default=None
            Seed of this call; None continues the model's ``random_state_``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        for name, value in (("n_samples", n_samples), ("n_steps", n_steps)):
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if method not in ("gibbs", "pt", "langevin"):
            raise ValueError(f"method must be 'gibbs', 'pt' or 'langevin', got {method!r}")
        device = self._inference_device()
        np_dtype = self.components_.dtype
        dtype = compute_dtype(np_dtype, device)
        params = self._params_on(device, dtype)
        generator = self._generator_for(device, random_state)
        with torch.inference_mode():
            base_mean = params.b.expand(int(n_samples), -1).contiguous()
            v = sample_visible(base_mean, params.sigma, generator)
            if method == "pt":
                betas = temperature_ladder(int(self.n_temperatures), dtype, device)
                chains = v.expand(len(betas), -1, -1).contiguous()
                v = parallel_tempering(chains, betas, params, int(n_steps), generator)[0]
                p = hidden_probs(v, params.W, params.c, params.inv_var)
            elif method == "langevin":
                v, p = gibbs_langevin_chain(
                    v,
                    params,
                    int(n_steps),
                    generator,
                    n_langevin_steps=int(self.n_langevin_steps),
                    step_size=float(self.langevin_step_size),
                    adjust=bool(self.langevin_adjust),
                )
            else:
                start = hidden_probs(v, params.W, params.c, params.inv_var)
                v, p, _ = gibbs_chain(start, params, int(n_steps), generator)
            if mean:
                h = sample_hidden(p, generator)
                v = visible_mean(h, params.W, params.b)
        return to_numpy(v, np_dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _mean_field_reconstruction(v, params):
    return visible_mean(hidden_probs(v, params.W, params.c, params.inv_var), params.W, params.b)
