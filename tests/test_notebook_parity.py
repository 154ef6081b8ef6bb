"""The notebook's model reproduces the notebook's loop on the notebook's data
(the embedded FashionMNIST images), and the defaults reconstruct better."""

import pytest

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.datasets import load_fashion_mnist_subset
from sklearn_grbm.experiment import protocol_mse

from .notebook_loop import run_notebook


@pytest.fixture(scope="module")
def fashion():
    X_train, _ = load_fashion_mnist_subset(subset="train", return_X_y=True)
    X_test, _ = load_fashion_mnist_subset(subset="test", return_X_y=True)
    return X_train, X_test


@pytest.mark.parametrize("n_hidden", [10, 100])
def test_notebook_options_match_the_notebook_loop_on_its_data(fashion, n_hidden):
    X, X_test = fashion
    _, notebook_mse = run_notebook(X, X_test, n_hidden, epochs=3, seed=0)
    options = dict(n_components=n_hidden, standardize=False, learn_sigma=False, random_state=0)
    ours = GaussianBernoulliRBM(n_iter=3, **options).fit(X)
    our_mse = protocol_mse(ours, X_test, random_state=0)
    untrained = GaussianBernoulliRBM(n_iter=0, **options).fit(X)
    assert protocol_mse(untrained, X_test, random_state=0) > 1.5 * notebook_mse
    assert abs(our_mse - notebook_mse) < 0.02 * notebook_mse, (our_mse, notebook_mse)


def test_the_defaults_reconstruct_better_than_the_notebook_loop(fashion):
    X, X_test = fashion
    _, notebook_mse = run_notebook(X, X_test, 250, epochs=3, seed=0)
    ours = GaussianBernoulliRBM(n_components=250, n_iter=3, random_state=0).fit(X)
    assert protocol_mse(ours, X_test, random_state=0) <= 1.02 * notebook_mse
