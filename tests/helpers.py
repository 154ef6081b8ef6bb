"""What several test files share: the digits, a small estimator, model equality."""

from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits

from sklearn_grbm import GaussianBernoulliRBM

Xdigits = load_digits().data / 16.0

FITTED = ("components_", "intercept_hidden_", "intercept_visible_", "sigma_")


def small(**params):
    """A quick estimator: 16 hidden units, batch 20, 5 epochs, seeded."""
    defaults = dict(n_components=16, batch_size=20, n_iter=5, random_state=42)
    defaults.update(params)
    return GaussianBernoulliRBM(**defaults)


def assert_same_model(a, b):
    for name in FITTED:
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
