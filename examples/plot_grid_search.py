"""
Choosing the number of hidden units with GridSearchCV
=====================================================

``score`` is minus the mean squared reconstruction error, so
``GridSearchCV``'s default scoring picks the hidden size that reconstructs
held-out folds best: the seed notebook's selection, cross-validated.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.datasets import load_patches

X = load_patches(3000, random_state=0)

search = GridSearchCV(
    GaussianBernoulliRBM(n_iter=5, standardize=False, learn_sigma=False, random_state=0),
    param_grid={"n_components": [10, 25, 50, 100]},
    cv=3,
)
search.fit(X)
print("best:", search.best_params_)

sizes = search.cv_results_["param_n_components"].astype(int)
mse = -search.cv_results_["mean_test_score"]
std = search.cv_results_["std_test_score"]

# %%
fig, ax = plt.subplots(figsize=(6, 4))
ax.errorbar(sizes, mse, yerr=std, marker="o", capsize=3)
ax.set_xscale("log")
ax.set_xticks(sizes, [str(s) for s in sizes])
ax.set_xlabel("hidden units")
ax.set_ylabel("cross-validated reconstruction MSE")
ax.set_title("GridSearchCV over n_components")
ax.grid(alpha=0.3)
plt.show()
print(np.round(mse, 4))
