"""Figures of a GRBM experiment, with matplotlib alone (no torchvision).

Every function returns a new pyplot figure (so notebooks and the example
gallery show it); save it with ``fig.savefig(path)``, close it with
``matplotlib.pyplot.close(fig)``. Headless, select the Agg backend.
"""

import math

import numpy as np


def _figure(width, height):
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(width, height), layout="constrained")


def image_grid(images, image_shape, n_cols=None, pad=1, fill=np.nan):
    """Tile rows of ``images`` (each of ``prod(image_shape)`` values) into one array."""
    images = np.asarray(images, dtype=np.float64)
    n = images.shape[0]
    height, width = image_shape
    n_cols = n_cols or int(math.ceil(math.sqrt(n)))
    n_rows = int(math.ceil(n / n_cols))
    grid = np.full((n_rows * (height + pad) - pad, n_cols * (width + pad) - pad), fill)
    for k, image in enumerate(images.reshape(n, height, width)):
        r, c = divmod(k, n_cols)
        grid[
            r * (height + pad) : r * (height + pad) + height,
            c * (width + pad) : c * (width + pad) + width,
        ] = image
    return grid


def _show(ax, grid, title, **kwargs):
    ax.imshow(np.ma.masked_invalid(grid), interpolation="nearest", **kwargs)
    ax.set_title(title)
    ax.set_axis_off()


def plot_reconstructions(
    originals, reconstructions, image_shape, *, n_images=32, title="Reconstruction"
):
    """Originals beside their reconstructions, in the same grey scale."""
    originals, reconstructions = originals[:n_images], reconstructions[:n_images]
    low = float(min(originals.min(), 0.0))
    high = float(max(originals.max(), 1.0 if low >= 0 else originals.max()))
    n_cols = int(math.ceil(math.sqrt(len(originals))))
    fig = _figure(8, 4.3)
    left, right = fig.subplots(1, 2)
    style = dict(cmap="gray", vmin=low, vmax=high)
    _show(left, image_grid(originals, image_shape, n_cols), "Original", **style)
    _show(
        right, image_grid(np.clip(reconstructions, low, high), image_shape, n_cols), title, **style
    )
    return fig


def plot_filters(components, image_shape, *, n_filters=100, title="Learned filters (rows of W)"):
    """The weights of each hidden unit as an image, each on its own symmetric scale."""
    W = np.asarray(components, dtype=np.float64)[:n_filters]
    scale = np.abs(W).max(axis=1, keepdims=True)
    normalised = W / np.where(scale > 0, scale, 1.0)
    fig = _figure(6, 6)
    _show(
        fig.subplots(), image_grid(normalised, image_shape), title, cmap="RdBu_r", vmin=-1, vmax=1
    )
    return fig


def plot_samples(samples, image_shape, *, value_range=(0.0, 1.0), title="Samples from the model"):
    """Visible vectors drawn from the model, as images."""
    fig = _figure(6, 6)
    low, high = value_range if value_range is not None else (None, None)
    grid = image_grid(np.clip(samples, low, high) if value_range else samples, image_shape)
    _show(fig.subplots(), grid, title, cmap="gray", vmin=low, vmax=high)
    return fig


def plot_training_curves(curves, *, title="Training reconstruction error"):
    """One line per entry of ``curves`` (label -> per-epoch values)."""
    fig = _figure(6, 4)
    ax = fig.subplots()
    for label, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=str(label))
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE (one-step sampled reconstruction)")
    ax.set_title(title)
    ax.legend(title="hidden units")
    ax.grid(alpha=0.3)
    return fig


def plot_mse_vs_size(rows, *, title="Test reconstruction error against hidden size"):
    """Test MSE (mean-field and the notebook's protocol) per hidden size."""
    sizes = [row["n_components"] for row in rows]
    fig = _figure(6, 4)
    ax = fig.subplots()
    ax.plot(sizes, [row["mse"] for row in rows], marker="o", label="mean-field")
    ax.plot(sizes, [row["protocol_mse"] for row in rows], marker="s", label="notebook protocol")
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("hidden units")
    ax.set_ylabel("test MSE")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return fig
