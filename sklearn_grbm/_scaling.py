"""Per-column affine scaling: the statistics of the data, and the exact map of
the parameters between training coordinates and the data's units.

With ``standardize=True`` the model trains on ``v' = (v - shift) / scale``.
The GRBM family is closed under such maps: the model with parameters
``(W', b', c', sigma')`` on ``v'`` is, on ``v``, the GRBM with

    sigma = scale sigma'        b = shift + scale b'
    W     = W' scale            c = c' - W (shift / sigma^2)

(``W' scale`` scales column i of W' by scale_i), and the energy is unchanged,
so ``log p(v) = log p'(v') - sum_i log scale_i``. The user guide derives it.
"""

import warnings
from typing import NamedTuple

import numpy as np
import torch

#: Rows of a chunk in column_statistics: this many elements at most.
CHUNK_ELEMENTS = 2**22


class Scaling(NamedTuple):
    """``v' = (v - shift) / scale``, per column, in float64."""

    shift: np.ndarray
    scale: np.ndarray

    @classmethod
    def identity(cls, n_features):
        return cls(np.zeros(n_features), np.ones(n_features))


def column_statistics(X):
    """Mean, standard deviation and largest absolute value of each column.

    Two passes over chunks of rows, so a memmap is never loaded whole. Each
    chunk is reduced in the data's dtype (a float64 copy of float32 data would
    cost as much as a tenth of an epoch) and the chunk sums are accumulated in
    float64.
    """
    n_samples, n_features = X.shape
    chunk_rows = max(1, (CHUNK_ELEMENTS // 4) // max(1, n_features))
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    starts = range(0, n_samples, chunk_rows)

    def chunk(start):
        # A host tensor over the rows' memory: no copy of float rows, and a
        # read-only memmap is only read here.
        rows = np.asarray(X[start : start + chunk_rows], dtype=dtype)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not writable.*")
            return torch.as_tensor(rows)

    total = torch.zeros(n_features, dtype=torch.float64)
    largest = torch.zeros(n_features, dtype=torch.float64)
    for start in starts:
        rows = chunk(start)
        total += rows.sum(dim=0)
        largest = torch.maximum(largest, rows.abs().amax(dim=0).to(torch.float64))
    mean = total / n_samples
    squares = torch.zeros(n_features, dtype=torch.float64)
    mean_in_dtype = mean.to(getattr(torch, np.dtype(dtype).name))
    for start in starts:
        squares += (chunk(start) - mean_in_dtype).square_().sum(dim=0)
    return mean.numpy(), torch.sqrt(squares / n_samples).numpy(), largest.numpy()


def to_data_units(W, b, c, log_sigma, scaling):
    """Parameters in training coordinates -> the same model in the data's units."""
    shift, scale = scaling
    sigma = np.exp(log_sigma) * scale
    W_data = W * scale
    return W_data, shift + scale * b, c - W_data @ (shift / sigma**2), np.log(sigma)


def to_training_units(W, b, c, log_sigma, scaling):
    """Inverse of :func:`to_data_units`."""
    shift, scale = scaling
    sigma = np.exp(log_sigma)
    return W / scale, (b - shift) / scale, c + W @ (shift / sigma**2), log_sigma - np.log(scale)


def combine_statistics(first, second):
    """Column statistics ``(count, mean, std, largest)`` of two sets of rows
    together, from each set's own (Chan, Golub and LeVeque's update)."""
    n_a, mean_a, std_a, largest_a = first
    n_b, mean_b, std_b, largest_b = second
    n = n_a + n_b
    delta = mean_b - mean_a
    m2 = n_a * std_a**2 + n_b * std_b**2 + delta**2 * (n_a * n_b / n)
    return n, mean_a + delta * (n_b / n), np.sqrt(m2 / n), np.maximum(largest_a, largest_b)


#: A column whose standard deviation is below this fraction of its largest
#: absolute value is constant (up to rounding).
CONSTANT_RELATIVE_STD = 1e-6


def overall_scale(std, largest):
    """One scale for all columns: the root-mean-square column standard
    deviation, or the largest absolute value when every column is constant."""
    scale = float(np.sqrt(np.mean(np.square(std))))
    if not scale > 0:
        scale = float(np.max(largest)) or 1.0
    return scale


def column_scales(std, largest):
    """Each column's standard deviation; constant columns get the overall scale."""
    constant = std <= CONSTANT_RELATIVE_STD * largest
    if np.all(constant):
        return np.full_like(std, overall_scale(std, largest))
    fallback = float(np.sqrt(np.mean(np.square(std[~constant]))))
    return np.where(constant, fallback, std)
