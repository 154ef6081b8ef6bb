"""Gaussian-Bernoulli restricted Boltzmann machines for scikit-learn, on PyTorch."""

from ._rbm import DivergenceError, GaussianBernoulliRBM

__version__ = "0.1.0"

__all__ = ["GaussianBernoulliRBM", "DivergenceError", "__version__"]
