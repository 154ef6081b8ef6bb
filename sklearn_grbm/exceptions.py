"""The package's own exceptions and warnings."""


class DivergenceError(FloatingPointError, ValueError, RuntimeError):
    """Training produced non-finite parameters (the learning rate is too large).

    A subclass of ``FloatingPointError``, ``ValueError`` and ``RuntimeError`` so
    that any of them catches it. The model is left as it was before the call.
    """

    @classmethod
    def in_epoch(cls, epoch, learning_rate):
        return cls(
            f"Training diverged: the parameters became non-finite (NaN or inf) in epoch "
            f"{epoch}. Try a smaller learning_rate (now {learning_rate:g}), or "
            f"standardize=True. The model was left as it was before this call."
        )


class DeviceWarning(UserWarning):
    """A requested device or dtype was not available and another was used.

    Raised when a model fitted on a GPU computes on the CPU of a machine
    without one, or when float64 data is computed in float32 on Apple's MPS.
    """


class AISWarning(UserWarning):
    """An AIS estimate of log Z (and the log-likelihoods that use it) is unsure.

    Raised when the standard error stays above its 0.05-nat target after the
    default doublings of the temperatures, or when the effective sample size
    of the importance weights is a small fraction of the chains. The message
    says what to do: more temperatures or chains, and
    :meth:`~sklearn_grbm.GaussianBernoulliRBM.log_likelihood_bounds` to see how
    far apart the two sides are.
    """


class FitQualityWarning(UserWarning):
    """A fit finished but the model it trained looks degenerate, or was
    trained in a way that is likely not what was meant.

    The message names the symptom (for instance most visible standard
    deviations pressed against their floor, a model that explains its own
    training rows worse than a diagonal Gaussian (the GRBM with W = 0), or
    ``partial_fit`` called past the ``n_iter`` epochs of the step
    learning-rate schedule) and what to try.
    """
