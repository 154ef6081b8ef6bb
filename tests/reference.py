"""SPEC.md's formulas in NumPy float64: the independent reference of the tests."""

import itertools

import numpy as np
from scipy.special import expit, logsumexp


def all_hidden_states(n_components):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n_components)))


def energy(v, h, W, b, c, sigma):
    """E(v, h) for one v (D,) and many h (S, M)."""
    var = sigma**2
    return np.sum((v - b) ** 2 / (2 * var)) - h @ c - h @ (W @ (v / var))


def hidden_probs(V, W, c, sigma):
    return expit(c + (V / sigma**2) @ W.T)


def visible_mean(H, W, b):
    return b + H @ W


def free_energy(V, W, b, c, sigma):
    var = sigma**2
    visible = np.sum((V - b) ** 2 / (2 * var), axis=1)
    return visible - np.logaddexp(0.0, c + (V / var) @ W.T).sum(axis=1)


def log_partition(W, b, c, sigma):
    """Exact log Z by SPEC.md's closed form over all 2^M hidden states."""
    D = b.shape[0]
    H = all_hidden_states(W.shape[0])
    shifted = b + H @ W
    terms = H @ c + np.sum((shifted**2 - b**2) / (2 * sigma**2), axis=1)
    return 0.5 * D * np.log(2 * np.pi) + np.sum(np.log(sigma)) + logsumexp(terms)


def log_likelihood(V, W, b, c, sigma):
    return -free_energy(V, W, b, c, sigma) - log_partition(W, b, c, sigma)


def random_model(n_components, n_features, seed, scale=1.0):
    rng = np.random.RandomState(seed)
    W = scale * rng.normal(size=(n_components, n_features))
    b = rng.normal(size=n_features)
    c = rng.normal(size=n_components)
    sigma = np.exp(rng.uniform(-0.7, 0.5, size=n_features))
    return W, b, c, sigma
