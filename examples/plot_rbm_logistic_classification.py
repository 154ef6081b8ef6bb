"""
RBM features for digit classification
=====================================

The Gaussian-Bernoulli counterpart of scikit-learn's
``plot_rbm_logistic_classification.py``: a ``Pipeline`` of ``StandardScaler``,
the RBM and ``LogisticRegression``, against logistic regression on the raw
pixels. With Gaussian visible units the RBM takes the standardised pixels as
they are; no binarisation is needed.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.plotting import plot_filters

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

rbm = GaussianBernoulliRBM(
    n_components=256, n_iter=40, learning_rate=3e-3, batch_size=32, random_state=0
)
with_rbm = make_pipeline(StandardScaler(), rbm, LogisticRegression(max_iter=2000))
with_rbm.fit(X_train, y_train)

raw = LogisticRegression(max_iter=5000).fit(X_train, y_train)

print(f"logistic regression on raw pixels: {accuracy_score(y_test, raw.predict(X_test)):.3f}")
print(
    f"scaler + GRBM + logistic regression: {accuracy_score(y_test, with_rbm.predict(X_test)):.3f}"
)

# %%
# The first 64 of the 256 filters learned on the standardised digits.
fig = plot_filters(rbm.components_, (8, 8), n_filters=64)
plt.show()
