"""
Sampling from a trained model
=============================

``sample`` runs block Gibbs chains (h given v, then v given h) from the model
with W = 0 and returns the last visible state. ``mean=True`` returns the mean
of p(v | h) at that step, the sample without its pixel noise. Here the
defaults' model of scikit-learn's digits after 100 epochs (learned sigma),
after 10, 100 and 2000 Gibbs steps.
"""

import matplotlib.pyplot as plt

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.datasets import load_digits_images
from sklearn_grbm.plotting import image_grid

X, _ = load_digits_images()
rbm = GaussianBernoulliRBM(n_components=64, n_iter=100, random_state=0).fit(X)
print(f"log p(x) on the training digits: {rbm.score_samples(X).mean():.1f} nats")

# %%
steps = (10, 100, 2000)
fig, axes = plt.subplots(1, len(steps) + 1, figsize=(12, 3.5), layout="constrained")
axes[0].imshow(image_grid(X[:36], (8, 8)), cmap="gray", vmin=0, vmax=1)
axes[0].set_title("training digits")
for ax, n_steps in zip(axes[1:], steps):
    samples = rbm.sample(36, n_steps=n_steps, mean=True, random_state=0)
    ax.imshow(image_grid(samples.clip(0, 1), (8, 8)), cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"samples after {n_steps} steps")
for ax in axes:
    ax.set_axis_off()
plt.show()
