"""The notebook's defaults reproduce the notebook: its own loop, side by side."""

import pytest

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.datasets import load_patches
from sklearn_grbm.experiment import protocol_mse
from tests.notebook_loop import run_notebook


@pytest.mark.parametrize("n_hidden", [10, 100])
def test_fixed_sigma_matches_the_notebook_loop(n_hidden):
    X, X_test = load_patches(6000), load_patches(2000, subset="test")
    _, notebook_mse = run_notebook(X, X_test, n_hidden, epochs=4, seed=0)
    ours = GaussianBernoulliRBM(
        n_components=n_hidden, n_iter=4, standardize=False, learn_sigma=False, random_state=0
    ).fit(X)
    our_mse = protocol_mse(ours, X_test, random_state=0)
    untrained = GaussianBernoulliRBM(
        n_components=n_hidden, n_iter=0, standardize=False, learn_sigma=False, random_state=0
    ).fit(X)
    assert protocol_mse(untrained, X_test, random_state=0) > 1.5 * notebook_mse
    assert abs(our_mse - notebook_mse) < 0.05 * notebook_mse, (our_mse, notebook_mse)
