import matplotlib
import numpy as np

from sklearn_grbm import plotting

matplotlib.use("Agg")


def test_image_grid_tiles_rows():
    images = np.arange(3 * 4, dtype=float).reshape(3, 4)
    grid = plotting.image_grid(images, (2, 2), n_cols=2, pad=1)
    assert grid.shape == (5, 5)
    np.testing.assert_array_equal(grid[:2, :2], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(grid[:2, 3:], [[4, 5], [6, 7]])
    np.testing.assert_array_equal(grid[3:, :2], [[8, 9], [10, 11]])
    assert np.isnan(grid[3:, 3:]).all() and np.isnan(grid[2]).all()


def test_every_figure_renders(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.rand(10, 16)
    rows = [
        {"n_components": 5, "mse": 0.1, "protocol_mse": 0.11},
        {"n_components": 10, "mse": 0.05, "protocol_mse": 0.06},
    ]
    figures = [
        plotting.plot_reconstructions(X, X * 0.9, (4, 4)),
        plotting.plot_filters(rng.normal(size=(6, 16)), (4, 4)),
        plotting.plot_samples(X, (4, 4)),
        plotting.plot_training_curves({5: [0.3, 0.2], 10: [0.25, 0.1]}),
        plotting.plot_mse_vs_size(rows),
    ]
    import matplotlib.pyplot as plt

    for k, figure in enumerate(figures):
        path = tmp_path / f"{k}.png"
        figure.savefig(path)
        plt.close(figure)
        assert path.stat().st_size > 1000
    assert plt.get_fignums() == []
