"""
Quick start
===========

Fit a Gaussian-Bernoulli RBM to 28 x 28 grey patches of natural images (the
shape of FashionMNIST, cut from scikit-learn's sample photographs), then look
at what it learned: reconstructions of held-out patches and the filters of
its hidden units.
"""

import matplotlib.pyplot as plt

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.datasets import load_patches
from sklearn_grbm.experiment import protocol_mse
from sklearn_grbm.plotting import plot_filters, plot_reconstructions

X_train = load_patches(10000, random_state=0)
X_test = load_patches(1000, subset="test", random_state=1)

# The seed notebook's model: sigma fixed at 1, CD-1, Adam 1e-3, batch 128.
rbm = GaussianBernoulliRBM(
    n_components=250, n_iter=10, standardize=False, learn_sigma=False, random_state=0
)
rbm.fit(X_train)

print(f"fitted on {rbm.device_} in {rbm.n_iter_} epochs")
print(f"test MSE (mean-field reconstruction): {-rbm.score(X_test):.4f}")
print(f"test MSE (the notebook's protocol):   {protocol_mse(rbm, X_test, random_state=0):.4f}")

# %%
# Held-out patches and their mean-field reconstructions ``b + W^T p(h | x)``.
fig = plot_reconstructions(X_test[:32], rbm.reconstruct(X_test[:32]), (28, 28))
plt.show()

# %%
# Each hidden unit's weights, as an image: smooth, oriented patterns.
fig = plot_filters(rbm.components_, (28, 28), n_filters=64)
plt.show()
