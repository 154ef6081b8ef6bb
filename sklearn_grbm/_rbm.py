"""Gaussian-Bernoulli Restricted Boltzmann Machine: the estimator and its API."""

import dataclasses
import math
import time
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

from . import _initialization, _likelihood, _monitor, _training
from ._device import (
    compute_dtype,
    inference_device,
    is_memory_mapped,
    resolve_device,
    should_stream,
    to_numpy,
    to_tensor,
)
from ._functional import (
    RBMParams,
    free_energy,
    hidden_probs,
    mean_field_reconstruction,
    sample_visible,
    sampled_reconstruction,
    visible_mean,
)
from ._initialization import PARAMETERS
from ._random import epoch_seed, make_generator, seed_from
from ._scaling import Scaling, to_data_units
from .exceptions import DivergenceError

#: Rows of a chunk in transform/score_samples/...: this many elements at most.
_CHUNK_ELEMENTS = 2**22


class GaussianBernoulliRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Gaussian-Bernoulli Restricted Boltzmann Machine (GRBM).

    Real-valued Gaussian visible units of learned (or fixed) standard
    deviation and binary hidden units, trained by contrastive divergence or
    its persistent and tempered variants with Adam or SGD, on PyTorch (CUDA,
    Apple MPS or CPU). With sigma = exp(s) per visible unit::

        E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c.h - sum_ij h_j W_ji v_i / sigma_i^2

    so ``p(h_j = 1 | v) = sigmoid(c_j + sum_i W_ji v_i / sigma_i^2)`` and
    ``p(v | h) = Normal(b + W^T h, diag(sigma^2))``. The user guide has the
    mathematics and the training advice.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    learning_rate : float, default=1e-3
        Step size of the optimizer.
    batch_size : int or "auto", default="auto"
        Rows per minibatch; each epoch shuffles the rows and splits them into
        ``ceil(n_samples / batch_size)`` minibatches of nearly equal size.
        ``"auto"``, when standardising: ``ceil(n_samples / 50)``, at least 16
        and at most 128, so that an epoch is 50 updates on data of 800 to
        6,400 rows (Adam moves the parameters by about ``learning_rate`` an
        update: at 128 rows, 25 epochs of 1,257 digits are 250 updates and
        leave the model near its start), ``ceil(n_samples / 100)``, 8 to 128,
        with the ``"ais"`` sampler, whose updates anneal at least 128 chains
        however few the rows and so cost the same on fewer rows; otherwise
        the seed notebook's 128. ``n_samples`` is the rows of each
        :meth:`fit` or :meth:`partial_fit` call, less any
        ``validation_fraction``.
    n_iter : int, default=25
        Passes over the training data (epochs) in :meth:`fit`.
    n_gibbs_steps : int or "auto", default="auto"
        Steps of the sampler per update: k in CD-k. ``"auto"``: for
        ``"cd"`` when standardising and for ``"ais"``, as many as cost
        ``16384`` multiply-adds per row (``M * D`` each), from 1 to 100, so
        CD-1 on images and long chains where they are cheap (100 for 64
        units in 2-D, 16 for 16 units on 64 columns); otherwise 1 (without
        standardising, the notebook's CD-1).
    sampler : {"auto", "cd", "pcd", "pt", "langevin", "exact", "ais"}, default="auto"
        The negative phase of training: a Markov chain kernel (a ``method``
        of :meth:`sample`) and where its chains start. ``"auto"``, when
        standardising: ``"exact"`` for small models (at most 10 hidden
        units), ``"ais"`` for data of one or two columns (and ``n_components *
        n_features`` at most 163, where 100 steps cost what one does on
        images), ``"cd"`` otherwise; without standardising ``"cd"``.
        ``"exact"``: independent draws from the model itself, its 2^M hidden
        states enumerated (at most 12 hidden units), so each update follows
        the likelihood's own gradient. ``"ais"``: annealed importance
        sampling, chains started afresh from the W = 0 model and annealed to
        it in ``n_gibbs_steps`` tempered Gibbs steps (at least 128 chains an
        update, one a row on larger minibatches), their draws weighted by
        their importance weights: unlike chains started at the data, they
        reach separated modes in the model's own proportions (unbiased as the
        annealing lengthens; useless where the weights degenerate, as on
        images).
        ``"cd"``: Gibbs from
        the minibatch. ``"pcd"``: Gibbs on persistent chains carried across
        minibatches, epochs and :meth:`partial_fit` calls. ``"pt"``:
        parallel tempering (Cho, Ilin and Raiko 2011), persistent chains at
        ``n_temperatures`` inverse temperatures from 1 to 0 (weights beta W)
        with swaps between neighbours. ``"langevin"``: Gibbs-Langevin (Liao
        et al. 2022) from the minibatch.
    n_temperatures : int, default=10
        Tempered chains per sample of ``"pt"``.
    n_langevin_steps : int, default=10
        Langevin steps per Gibbs step of ``"langevin"``.
    langevin_step_size : float, default=0.1
        Langevin step relative to each visible variance, below 2: a step
        moves ``v`` by ``-step (v - b - W^T h) + sqrt(2 step) sigma noise``.
    langevin_adjust : bool, default=False
        Metropolis-Hastings correction of every Langevin step (MALA); without
        it the conditional variance is inflated by ``1 / (1 - step / 2)``.
    weight_scale : float or "auto", default="auto"
        Scale of the initial weights (in training coordinates): their
        standard deviation with ``"normal"``, the norm of each row over
        ``sqrt(n_features)`` with ``"orthogonal"``. ``"auto"``: Glorot's
        ``1 / sqrt(n_features + n_components)`` when standardising (small
        models: rows of norm 2, two standard deviations), the seed
        notebook's 0.01 otherwise.
    weight_init : {"auto", "normal", "orthogonal"} or ndarray, default="auto"
        Initial weights. ``"auto"``: ``"orthogonal"`` for small models (at
        most 10 hidden units, when standardising), else ``"normal"``.
        ``"normal"``: ``W ~ Normal(0, weight_scale^2)``.
        ``"orthogonal"``: rows in opposite pairs ``+q, -q`` of random
        orthonormal directions, which spreads the one-unit components evenly
        (whitened data with heavy-tailed sources). An array of shape
        (n_components, n_features) starts from the given W, in the data's
        units (as ``KMeans(init=array)``).
    hidden_bias_init : {"auto", "zeros", "anchored"}, default="auto"
        Initial hidden biases. ``"anchored"`` (Melchior, Wang and Wiskott):
        each one-unit mixture component starts at 1% of the weight of the
        all-off one, which lets training leave the single Gaussian.
        ``"auto"``: ``"anchored"`` for small models, else ``"zeros"``. With
        ``"zeros"``, CD and ``standardize=True`` the visible biases start at
        ``-W^T 1 / 2`` in training coordinates, which puts the start's
        mixture of means ``b + W^T h`` symmetric about the data's mean, and a
        learned sigma starts at ``sqrt(sigma^2 - sum_j W_ji^2 / 4)``, less the
        spread of those means, so that the start has the data's variance.
    standardize : bool, default=True
        Train on each column centred and divided by its standard deviation
        (constant columns take the others' root-mean-square), with the
        parameters mapped back exactly to the data's units; the model then
        does not depend on the units of X (fitting ``a * X + t`` shifts the
        log-likelihoods by ``-sum(log a)``). :meth:`partial_fit` keeps the
        statistics of every row it has seen. ``standardize=False,
        learn_sigma=False, sigma=1.0`` is the seed notebook's model.
    learn_sigma : bool, default=True
        Whether to learn the log standard deviations; if False, sigma stays
        at ``sigma``.
    sigma : float, default=1.0
        Initial (or fixed) standard deviation of the visible units: in units
        of each column's standard deviation when ``standardize``, in the
        data's units otherwise. A learned sigma with the centred start (see
        ``hidden_bias_init``) starts below it by the spread of the means, and
        with the ``"ais"`` sampler at half of it (off the Gaussian's saddle
        point, where W's gradient vanishes).
    sigma_learning_rate : float, "auto" or None, default="auto"
        Step size for the log standard deviations; None: ``learning_rate``.
        ``"auto"``: ``10 * learning_rate``, at most 1e-2, with the ``"ais"``
        sampler (sigma has to fall to the width of separated modes once W has
        grown; a larger step swings it by more than a minibatch's noise
        allows), ``learning_rate`` otherwise.
    max_update_norm : float or None, default=None
        If set, each step's change of each row of W is scaled down to at most
        this L2 norm.
    calibrate_sigma : bool, default=True
        With ``learn_sigma``, end each epoch by rescaling all sigmas by one
        common factor and shifting the hidden biases, both chosen to maximise
        the exact likelihood of the epoch's first 4,096 rows (W and b held),
        where the hidden states are few enough to enumerate: every epoch up
        to 19 units, every 2nd, 4th and 9th epoch (and the ``n_iter``-th) at
        20, 21 and 22 units, never above. CD leaves the hidden biases far
        from the likelihood's optimum and sigma a little too small on some
        data, which costs hundreds of nats (600 per natural patch with 16
        units, 42 to 48 per FashionMNIST image with 20 to 22; see the user guide).
        One calibration costs about ``2^M M^2``: 0.06 s at 16 units, 0.8 s
        at 19, 1.5 s at 20, 4 s at 21, 13 s at 22 (3,443 images, 2 cores).
    mode_negatives : bool or "auto", default="auto"
        Whether each minibatch's negatives gain a draw from each hidden mode
        that outweighs the data's hidden states, weighted by its share of
        their mass. The modes are the local maxima of the hidden states'
        weight (v integrated out) found by ascent at each epoch's start and
        every 50 updates (from the heaviest so far). CD's
        chains, a step from the data, never weigh the model's heaviest states
        against the rest, and on images those pile up most of its mass (log Z
        hundreds of nats above what the data's states hold, which AIS misses
        too). ``"auto"``: on with ``"cd"`` when standardising data of at least
        128 columns (on the digits' 64 they cost 9 nats), except where
        ``calibrate_sigma`` fits the hidden biases exactly (learned sigma,
        ``n_components <= 22``), which does their work better
        (16 units: 667 against 585 nats per natural patch). Adds about a third
        to an epoch on images (3,443 and 60,000 of them: 1.33x and 1.38x).
    learning_rate_schedule : {"auto", "step", "decay", "constant"}, default="auto"
        How the step sizes (``learning_rate`` and ``sigma_learning_rate``)
        change over the epochs. ``"step"``: a tenth of them from epoch
        ``ceil(2 n_iter / 3) + 1`` on, so that the last epochs settle instead
        of swinging between modes. ``"decay"``: the same as ``"step"`` up to
        25 epochs (the default ``n_iter``); a longer fit is the 25-epoch fit
        continued, the tenth falling as ``25 / epoch`` from epoch 26 on, so
        that more epochs add ever smaller steps instead of a longer stretch
        at the full step, in which CD's bias drifts the model away from the
        data. ``"constant"``: the same step throughout. ``"auto"``:
        ``"decay"`` with ``"cd"`` when standardising, ``"step"`` with the
        ``"ais"`` sampler, whose importance-weighted updates are noisy, and
        ``"constant"`` with the others and for the seed notebook's training
        (the user guide's "Learning-rate schedule"). :meth:`partial_fit`
        counts its calls as epochs against ``n_iter`` and keeps the
        schedule's low step past it, so that ``fit`` is still ``n_iter``
        calls of it; over chunks, choose ``"step"`` and set ``n_iter`` to the
        number of calls (``"decay"`` counts each call as an epoch), or
        ``"constant"`` (the first call past ``n_iter`` warns, a
        :class:`FitQualityWarning`).
    optimizer : {"adam", "sgd"}, default="adam"
        Adam (betas 0.9, 0.999, eps 1e-8) or SGD with ``momentum``.
    momentum : float, default=0.9
        Momentum of ``"sgd"``.
    weight_decay : float, default=0.0
        L2 penalty on W.
    validation_fraction : float, default=0.0
        Fraction of the rows of each :meth:`fit` or :meth:`partial_fit` call
        held out (the same rows every epoch) to record the free-energy gap:
        mean F of the held-out rows minus mean F of as many training rows; a
        gap that keeps growing means overfitting.
    device : str or torch.device, default="auto"
        ``"auto"``: CUDA, then Apple's MPS, then the CPU; or a torch device
        string. An explicit device that is not there raises a ``ValueError``.
    out_of_core : bool or "auto", default="auto"
        Whether to leave the training data in host memory (or on disk) and
        copy each minibatch to the device. ``"auto"``: on an accelerator,
        when X is memory-mapped or would fill half the device's free memory.
        The trained model does not depend on it.
    verbose : int, default=0
        Above 0, one line per epoch: reconstruction error, range of sigma,
        free-energy gap and time; above 1, progress within epochs too.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and a private ``torch.Generator`` (the global
        torch seed is never touched); an int gives bit-identical fits on the
        CPU.

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
    sigma_floor_ : ndarray of shape (n_features,)
        Lower bound kept on ``sigma_``, in the data's units: 1% of each
        column's standard deviation (``standardize``), else 1% of the
        root-mean-square one.
    history_ : dict of lists
        Per epoch: ``"reconstruction_error"`` (mean squared error, in the
        data's units, of the training rows' one-step reconstructions ``b +
        W^T h``, h sampled), ``"free_energy_gap"`` (NaN without held-out
        rows), ``"sigma_min"``, ``"sigma_median"``, ``"sigma_max"`` (in units
        of each column's standard deviation when ``standardize``),
        ``"learning_rate"`` (the epoch's step of W, after
        ``learning_rate_schedule``) and ``"seconds"``.
    reconstruction_error_curve_ : list of float
        ``history_["reconstruction_error"]``.
    n_iter_ : int
        Epochs trained so far (``fit`` resets it).
    device_ : str
        The device the last fit ran on.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string names.
    random_state_ : RandomState instance
        The fit's random generator; :meth:`gibbs` and :meth:`sample` draw
        their seeds from it.

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
    >>> X = np.random.RandomState(0).normal(size=(200, 4)) * [1, 10, 100, 1000]
    >>> rbm = GaussianBernoulliRBM(n_components=3, n_iter=5, random_state=0).fit(X)
    >>> rbm.transform(X).shape
    (200, 3)
    >>> bool(np.all(np.isfinite(rbm.score_samples(X))))
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "sampler": [StrOptions(set(_training.SAMPLERS) | {"auto"})],
        "n_temperatures": [Interval(Integral, 2, None, closed="left")],
        "n_langevin_steps": [Interval(Integral, 1, None, closed="left")],
        "langevin_step_size": [Interval(Real, 0, 2, closed="neither")],
        "langevin_adjust": ["boolean"],
        "weight_scale": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "weight_init": [StrOptions({"auto", "normal", "orthogonal"}), "array-like"],
        "hidden_bias_init": [StrOptions({"auto", "zeros", "anchored"})],
        "standardize": ["boolean"],
        "learn_sigma": ["boolean"],
        "sigma_learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
            None,
        ],
        "max_update_norm": [Interval(Real, 0, None, closed="neither"), None],
        "calibrate_sigma": ["boolean"],
        "mode_negatives": ["boolean", StrOptions({"auto"})],
        "learning_rate_schedule": [StrOptions({"auto", "constant", "step", "decay"})],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions({"adam", "sgd"})],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
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
        batch_size="auto",
        n_iter=25,
        n_gibbs_steps="auto",
        sampler="auto",
        n_temperatures=10,
        n_langevin_steps=10,
        langevin_step_size=0.1,
        langevin_adjust=False,
        weight_scale="auto",
        weight_init="auto",
        hidden_bias_init="auto",
        standardize=True,
        learn_sigma=True,
        sigma=1.0,
        sigma_learning_rate="auto",
        max_update_norm=None,
        calibrate_sigma=True,
        mode_negatives="auto",
        learning_rate_schedule="auto",
        optimizer="adam",
        momentum=0.9,
        weight_decay=0.0,
        validation_fraction=0.0,
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
        self.standardize = standardize
        self.learn_sigma = learn_sigma
        self.sigma = sigma
        self.sigma_learning_rate = sigma_learning_rate
        self.max_update_norm = max_update_norm
        self.calibrate_sigma = calibrate_sigma
        self.mode_negatives = mode_negatives
        self.learning_rate_schedule = learning_rate_schedule
        self.optimizer = optimizer
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.device = device
        self.out_of_core = out_of_core
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    @_monitor.all_or_nothing
    def fit(self, X, y=None):
        """Fit the model to X: ``n_iter`` epochs from a fresh start (bit for
        bit ``n_iter`` calls of :meth:`partial_fit` on a fresh model, on the CPU).

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

        Warns
        -----
        FitQualityWarning
            When most learned sigmas end at their floor, or when the model
            scores its training rows below a diagonal Gaussian of its family
            (W = 0, b the column means, sigma the fixed one or the columns'
            spreads): the user guide's "Watching training" explains both
            checks.
        """
        memory_mapped = is_memory_mapped(X)
        X = validate_data(self, X, dtype=(np.float64, np.float32))
        state = self._initial_state(X)
        self._train(X, state, n_epochs=self.n_iter, memory_mapped=memory_mapped, whole_fit=True)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_monitor.all_or_nothing
    def partial_fit(self, X, y=None):
        """Fit the model with one pass (epoch) over X in minibatches.

        The optimizer state (Adam's moments or SGD's momentum), the persistent
        chains and the random stream carry over from earlier calls.

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
        memory_mapped = is_memory_mapped(X)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=first_call)
        if first_call:
            state = self._initial_state(X)
        else:
            X = X.astype(self.components_.dtype, copy=False)
            state = _initialization.with_more_rows(self._current_state(), X)
        self._train(X, state, n_epochs=1, memory_mapped=memory_mapped)
        return self

    def _initial_state(self, X):
        """The training state of a fresh fit (NumPy, training coordinates)."""
        self.random_state_ = check_random_state(self.random_state)
        self.n_iter_ = 0
        self.history_ = {key: [] for key in _monitor.HISTORY_KEYS}
        return _initialization.initial_state(
            X,
            n_components=self.n_components,
            weight_init=self.weight_init,
            weight_scale=self.weight_scale,
            hidden_bias_init=self.hidden_bias_init,
            standardize=self.standardize,
            sigma=self.sigma,
            learn_sigma=self.learn_sigma,
            random_state=self.random_state_,
            sampler=_training.resolve_sampler(
                self.sampler, self.n_components, X.shape[1], self.standardize
            ),
        )

    def _current_state(self):
        """The training state to continue from. If the fitted attributes were
        set by hand since the last fit, training continues from them (mapped to
        training coordinates), with a fresh optimizer."""
        state = self._training_state
        if state["fingerprint"] != self._parameter_fingerprint():
            attributes = (self.components_, self.intercept_visible_, self.intercept_hidden_)
            state = _initialization.from_attributes(state, *attributes, self.sigma_)
        return state

    def _state_to_device(self, state, device, dtype, sampler):
        """NumPy training state -> parameters, optimizer state and chains on
        ``device`` (the chains only if they suit ``sampler``, resolved)."""
        options = (self.optimizer, sampler, self.n_temperatures)
        return _training.state_to_device(state, device, dtype, *options)

    def _state_from_device(self, state, params, opt_state, chains, np_dtype):
        """Inverse of :meth:`_state_to_device`: a new NumPy training state."""
        return _training.state_from_device(state, params, opt_state, chains, np_dtype)

    def _kernel_options(self):
        return _training.KernelOptions.from_params(self.get_params())

    def _train(self, X, state, *, n_epochs, memory_mapped=False, whole_fit=False):
        """Train ``n_epochs`` on X from ``state`` (NumPy); commit only on
        success. A ``whole_fit`` (``fit``, not one ``partial_fit`` call of a
        stream, whose first calls are expected to trail) is held to the
        diagonal Gaussian."""
        device = resolve_device(self.device)
        dtype = compute_dtype(X.dtype, device)
        X, X_held_out = _monitor.split_validation(X, self.validation_fraction, state["seed"])
        scale = state["scaling"][1]
        stream = should_stream(self.out_of_core, X, device, memory_mapped)
        rows = _training.training_rows(X, device, dtype, state["scaling"], stream=stream)
        held_out = None
        if X_held_out is not None:
            held_out = _training.training_rows(X_held_out, device, dtype, state["scaling"])
        config = _training.TrainingConfig.from_params(self.get_params(), *X.shape)
        params, opt_state, chains = self._state_to_device(state, device, dtype, config.sampler)
        start_log_sigma = params.log_sigma.clone()
        log_sigma_floor = to_tensor(np.log(state["sigma_floor"] / scale), device, dtype)
        squared_scale = to_tensor(
            scale**2, device, torch.float32 if device.type == "mps" else torch.float64
        )
        history = {key: list(self.history_.get(key, ())) for key in _monitor.HISTORY_KEYS}
        name, n_iter_start = type(self).__name__, self.n_iter_
        modes = state.get("modes")  # absent from states saved before 2026-12-06
        if modes is not None:
            modes = to_tensor(modes, device, dtype, copy=True)
        for epoch in range(n_iter_start, n_iter_start + n_epochs):
            start = time.perf_counter()
            generator = make_generator(device, epoch_seed(state["seed"], epoch))
            on_batch = _monitor.progress_printer(name, epoch + 1) if self.verbose > 1 else None
            epoch_config = config.at_epoch(epoch)
            squared_error, chains, modes = _training.run_epoch(
                rows,
                params,
                opt_state,
                chains,
                epoch_config,
                generator,
                log_sigma_floor=log_sigma_floor,
                modes=modes,
                on_batch=on_batch,
            )
            gap = _monitor.free_energy_gap(params, rows, held_out)
            record = _monitor.epoch_record(
                squared_error,
                squared_scale,
                X.size,
                params,
                gap,
                epoch_config.learning_rate,
                time.perf_counter() - start,
            )
            if not (math.isfinite(record["reconstruction_error"]) and _training.all_finite(params)):
                raise DivergenceError.in_epoch(epoch + 1, self.learning_rate)
            for key, value in record.items():
                history[key].append(value)
            if self.verbose:
                print(_monitor.epoch_line(name, epoch + 1, record), flush=True)
        new_state = self._state_from_device(state, params, opt_state, chains, X.dtype)
        new_state["modes"] = None if modes is None else to_numpy(modes, X.dtype)
        self._commit(new_state, history, n_iter_start + n_epochs, device)
        if self.learn_sigma:
            floor = state["sigma_floor"]
            _monitor.warn_if_degenerate(
                new_state["params"]["log_sigma"], np.log(floor / scale), floor
            )
        if whole_fit and n_epochs > 0:
            work = 4.0 * n_epochs * X.size * self.n_components
            log_jacobian = -float(np.log(np.broadcast_to(scale, (X.shape[1],))).sum())
            _monitor.warn_if_below_gaussian(
                params,
                rows,
                start_log_sigma,
                log_sigma_floor,
                self.learn_sigma,
                work,
                state["seed"],
                log_jacobian=log_jacobian,
            )
        past_horizon = n_epochs > 0 and n_iter_start == config.n_iter
        if config.learning_rate_schedule in ("step", "decay") and past_horizon:
            _monitor.warn_past_schedule(config.learning_rate_schedule, config.n_iter)

    def _commit(self, state, history, n_iter, device):
        """Set the fitted attributes (data units) from a training state."""
        mapped = to_data_units(
            *(state["params"][name].astype(np.float64) for name in PARAMETERS),
            state["scaling"],
        )
        np_dtype = state["params"]["W"].dtype
        W, b, c, log_sigma = (value.astype(np_dtype) for value in mapped)
        self.components_, self.intercept_visible_, self.intercept_hidden_ = W, b, c
        self.sigma_ = np.exp(log_sigma)
        self.sigma_floor_ = state["sigma_floor"]
        self._n_features_out = self.n_components
        self.history_ = history
        self.reconstruction_error_curve_ = history["reconstruction_error"]
        self.n_iter_ = n_iter
        self.device_ = str(device)
        self._log_partition_cache = None
        self._training_state = dict(state, fingerprint=self._parameter_fingerprint())

    # ---------------------------------------------------------------- inference

    def _params_on(self, device, dtype):
        return RBMParams(
            W=to_tensor(self.components_, device, dtype),
            b=to_tensor(self.intercept_visible_, device, dtype),
            c=to_tensor(self.intercept_hidden_, device, dtype),
            log_sigma=to_tensor(np.log(self.sigma_), device, dtype),
        )

    def _map_rows(self, X, fn, n_columns):
        """Apply ``fn(rows, params)`` to X in chunks; memory is bounded by the chunk."""
        device = inference_device(self.device)
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
        """Hidden activation probabilities ``p(h = 1 | v = X)``, shape
        (n_samples, n_components), in the dtype of X."""
        X = self._validate_X(X)
        return self._map_rows(
            X, lambda v, p: hidden_probs(v, p.W, p.c, p.inv_var), self.n_components
        )

    def inverse_transform(self, H):
        """Mean of ``p(v | h = H)``, ``b + H W``, for hidden states or
        probabilities H of shape (n_samples, n_components)."""
        check_is_fitted(self)
        H = check_array(H, dtype=(np.float64, np.float32), input_name="H")
        if H.shape[1] != self.n_components:
            raise ValueError(
                f"H has {H.shape[1]} columns, but {type(self).__name__} has "
                f"{self.n_components} hidden units (n_components)"
            )
        return self._map_rows(H, lambda h, p: visible_mean(h, p.W, p.b), self.n_features_in_)

    def reconstruct(self, X):
        """Deterministic mean-field reconstruction ``inverse_transform(transform(X))``."""
        X = self._validate_X(X)
        return self._map_rows(X, mean_field_reconstruction, X.shape[1])

    def score(self, X, y=None):
        """Minus the mean squared error of the mean-field reconstruction of X.

        Higher is better, so ``GridSearchCV`` maximises it; to select models
        by likelihood, score with the mean of :meth:`score_samples` (see the
        user guide). ``y`` is ignored.
        """
        X = self._validate_X(X)
        squared = self._map_rows(
            X, lambda v, p: (mean_field_reconstruction(v, p) - v).pow_(2).sum(dim=1), None
        )
        return -float(np.sum(squared, dtype=np.float64) / X.size)

    def free_energy(self, X):
        """Free energy ``F(x)`` of each row, so that ``log p(x) = -F(x) - log Z``."""
        X = self._validate_X(X)
        return self._map_rows(X, free_energy, None)

    def score_samples(self, X):
        """Log-likelihood ``log p(x)`` of each row, in nats.

        ``log Z`` comes from :meth:`log_partition` (``method="auto"``): exact
        enumeration of the 2^M hidden states when that is affordable, AIS
        otherwise, computed once per fitted model and cached; a value computed
        by an explicit :meth:`log_partition` call is used as is. An unsure AIS
        estimate raises an :class:`~sklearn_grbm.AISWarning`; see also
        :meth:`log_likelihood_bounds`.
        """
        X = self._validate_X(X)
        log_z = self.log_partition().value
        neg_free_energy = -self._map_rows(X, free_energy, None).astype(np.float64)
        return (neg_free_energy - log_z).astype(X.dtype, copy=False)

    def log_partition(self, method="auto", *, n_chains=None, n_betas=None, random_state=None):
        """The log partition function log Z of the fitted model, in nats.

        Cached with a fingerprint of the parameters; :meth:`score_samples`
        uses the last value computed here, so ``log_partition("ais",
        n_chains=1000)`` first makes later log-likelihoods use that estimate.
        The user guide explains the estimators and how far to trust them.

        Parameters
        ----------
        method : {"auto", "exact", "ais"}, default="auto"
            How log Z is computed (``sampler`` trains and ``sample(method=)``
            draws; this estimates). ``"exact"``: all 2^M hidden states, in
            float64 (at most 30 units). ``"ais"``: annealed importance
            sampling from the W = 0 model. ``"auto"``: the cached value, else
            exact when ``2^M M D <= 4e9`` multiply-adds, else AIS.
        n_chains : int or None, default=None
            AIS chains. None: 100, with more added while the standard error
            is above 0.05 nats when ``n_betas`` is given.
        n_betas : int or None, default=None
            AIS inverse temperatures. None: as many as 2e10 multiply-adds
            allow (1,000 to 5,000), doubled up to three times while the
            standard error is above 0.05 nats.
        random_state : int, RandomState instance or None, default=None
            Seed of the AIS chains; None: the estimator's ``random_state``.

        Returns
        -------
        log_z : LogPartition
            ``value`` (nats), ``stderr`` (0 when exact) and ``method``; for
            AIS also ``ess``, ``n_chains``, ``n_betas`` and ``missed``: after
            AIS the hidden states of largest exact weight are found by ascent
            (from every unit on, every unit off and random states), and where
            their summed weight, a lower bound on log Z, exceeds the AIS
            estimate by more than three standard errors and 0.1 nats, ``value`` is that
            weight, ``missed`` the nats by which AIS fell short, and an
            :class:`~sklearn_grbm.AISWarning` says so.
        """
        check_is_fitted(self)
        _likelihood.check_ais_options(n_chains, n_betas)
        _likelihood.choose_method(method, *self.components_.shape)  # a bad method raises
        key = self._parameter_fingerprint()
        cache = getattr(self, "_log_partition_cache", None)
        if method == "auto" and cache is not None and cache[0] == key:
            result = _likelihood.LogPartition(*cache[1:])
            _likelihood.warn_if_unsure(result)
            return result
        result = self._estimate_log_z(method, n_chains, n_betas, random_state)
        # Plain builtins, so that pickle and skops carry the value as data.
        self._log_partition_cache = (key, *dataclasses.astuple(result))
        _likelihood.warn_if_unsure(result)
        return result

    def _estimation_coordinates(self):
        """``(params_on, scaling)``: the model in its training coordinates and
        the map ``v' = (v - shift) / scale`` to them.

        log Z and the likelihood bounds are estimated there and mapped back by
        the Jacobian ``sum(log scale)``. Their annealing path (weights
        ``beta W``, the same b, c and sigma) depends on where the origin of the
        coordinates is; at the data's mean it does not depend on the data's
        units, so the same seed gives the same estimate in any units (the user
        guide measures it against the pixels' origin). A model that was never
        fitted here (attributes set by hand) is its own coordinates.
        """
        if getattr(self, "_training_state", None) is None:
            return self._params_on, Scaling.identity(self.components_.shape[1])
        state = self._current_state()
        arrays = [state["params"][name] for name in PARAMETERS]

        def params_on(device, dtype):
            return RBMParams(*(to_tensor(array, device, dtype) for array in arrays))

        return params_on, Scaling(*state["scaling"])

    def _estimate_log_z(self, method, n_chains, n_betas, random_state):
        params_on, scaling = self._estimation_coordinates()
        result = _likelihood.log_partition(
            params_on,
            self.components_.shape,
            inference_device(self.device),
            torch.float32 if self.components_.dtype == np.float32 else torch.float64,
            method,
            n_chains=n_chains,
            n_betas=n_betas,
            seed=seed_from(self.random_state if random_state is None else random_state),
        )
        return dataclasses.replace(result, value=result.value + _log_jacobian(scaling))

    def log_likelihood_bounds(self, X, *, n_betas=None, random_state=None):
        """log p(x) of each row from both sides, in nats.

        ``lower`` anneals in reverse from each row (RAISE, Burda, Grosse and
        Salakhutdinov 2015), ``upper`` is ``-F(x) - log Z`` with log Z from
        forward AIS (which underestimates it); both follow the path of the
        GRBMs with weights beta W. In expectation ``lower <= log p(x) <=
        upper`` and the gap closes as the annealing gets longer; a wide gap
        says the log-likelihoods are not to be trusted to that width.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        n_betas : int or None, default=None
            Inverse temperatures of both annealings; None: those the default
            :meth:`log_partition` run ends with.
        random_state : int, RandomState instance or None, default=None
            Seed of both; None: the estimator's ``random_state``.

        Returns
        -------
        bounds : LikelihoodBounds
            ``lower`` and ``upper``, arrays of shape (n_samples,).
        """
        X = self._validate_X(X)
        _likelihood.check_ais_options(None, n_betas)
        seed = seed_from(self.random_state if random_state is None else random_state)
        log_z = self._estimate_log_z("ais", None, n_betas, seed)
        _likelihood.warn_if_unsure(log_z)
        upper = -self._map_rows(X, free_energy, None).astype(np.float64) - log_z.value
        device = _likelihood.likelihood_device(inference_device(self.device))
        params_on, scaling = self._estimation_coordinates()
        params = params_on(device, compute_dtype(X.dtype, device))
        lower = _likelihood.raise_bounds(
            params, X, log_z.n_betas, seed, _CHUNK_ELEMENTS, scaling=scaling
        )
        lower -= _log_jacobian(scaling)
        return _likelihood.LikelihoodBounds(lower.astype(X.dtype), upper.astype(X.dtype))

    def _parameter_fingerprint(self):
        arrays = (self.components_, self.intercept_hidden_, self.intercept_visible_, self.sigma_)
        return _likelihood.fingerprint(arrays)

    # ----------------------------------------------------------------- sampling

    def _generator_for(self, device, random_state):
        """A generator for a sampling call: ``random_state``, or the model's own."""
        return make_generator(
            device, seed_from(self.random_state_ if random_state is None else random_state)
        )

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
        generator = self._generator_for(inference_device(self.device), random_state)
        options = self._kernel_options()
        return self._map_rows(
            X, lambda v, p: _training.KERNELS["gibbs"](v, p, 1, generator, options).v, X.shape[1]
        )

    def sample(self, n_samples=1, *, n_steps=1000, mean=False, method="gibbs", random_state=None):
        """Draw visible vectors from the model by Markov chain Monte Carlo.

        Each chain starts from ``Normal(b, diag(sigma^2))`` (the model with
        W = 0) and runs ``n_steps`` steps; its last visible state is returned.

        Parameters
        ----------
        n_samples : int, default=1
            Number of independent chains, one sample each.
        n_steps : int, default=1000
            Steps per chain.
        mean : bool, default=False
            Return the mean ``b + W^T h`` of ``p(v | h)`` at the last step
            instead of a draw from it (the sample without its noise).
        method : {"gibbs", "pt", "langevin", "exact", "ais"}, default="gibbs"
            The kernel (the ones ``sampler`` trains with; ``"cd"`` and
            ``"pcd"`` use ``"gibbs"``). ``"pt"``: parallel tempering over
            ``n_temperatures`` chains per sample, which moves between modes
            far sooner at ``n_temperatures`` times the cost. ``"langevin"``:
            Gibbs-Langevin with the estimator's Langevin settings.
            ``"exact"``: independent draws from the model itself (at most 12
            hidden units; ``n_steps`` does not matter). ``"ais"``: annealed
            importance sampling over ``n_steps`` temperatures, the weighted
            chains resampled in proportion to their weights (so draws repeat
            where the weights are uneven).
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
        if method not in _training.KERNELS:
            raise ValueError(f"method must be one of {sorted(_training.KERNELS)}, got {method!r}")
        device = inference_device(self.device)
        np_dtype = self.components_.dtype
        params = self._params_on(device, compute_dtype(np_dtype, device))
        generator = self._generator_for(device, random_state)
        with torch.inference_mode():
            start = sample_visible(
                params.b.expand(int(n_samples), -1).contiguous(), params.sigma, generator
            )
            chains = _training.KERNELS[method](
                start,
                params,
                int(n_steps),
                generator,
                self._kernel_options(),
            )
            if chains.weights is not None:
                index = torch.multinomial(
                    chains.weights, int(n_samples), replacement=True, generator=generator
                )
                chains = chains._replace(v=chains.v[index], p=chains.p[index])
            v = sampled_reconstruction(chains.p, params, generator) if mean else chains.v
        return to_numpy(v, np_dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _log_jacobian(scaling):
    """``sum(log scale)``: log p(v) = log p'(v') - this, log Z = log Z' + this."""
    return float(np.sum(np.log(scaling.scale)))
