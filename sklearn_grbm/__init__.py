"""Gaussian-Bernoulli restricted Boltzmann machines for scikit-learn, on PyTorch."""

from ._rbm import GaussianBernoulliRBM
from .exceptions import AISWarning, DeviceWarning, DivergenceError, FitQualityWarning

__version__ = "0.2.0"

__all__ = [
    "AISWarning",
    "DeviceWarning",
    "DivergenceError",
    "FitQualityWarning",
    "GaussianBernoulliRBM",
    "__version__",
]
