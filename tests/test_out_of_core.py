"""Memory-mapped data, streamed minibatches and chunked training."""

import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_grbm import GaussianBernoulliRBM, _device
from sklearn_grbm.datasets import load_digits_images


@pytest.fixture
def digits_memmap(tmp_path):
    X, _ = load_digits_images(dtype=np.float32)
    path = tmp_path / "digits.npy"
    np.save(path, X)
    return np.load(path, mmap_mode="r"), X


def test_memmap_is_recognised(digits_memmap):
    X_map, X = digits_memmap
    assert _device.is_memory_mapped(X_map) and _device.is_memory_mapped(X_map[10:20])
    assert not _device.is_memory_mapped(X)


@pytest.mark.parametrize("sampler", ["cd", "pcd"])
def test_streamed_and_resident_fits_are_identical(digits_memmap, sampler, device_transfers):
    X_map, X = digits_memmap
    params = dict(n_components=16, n_iter=3, batch_size=50, sampler=sampler, random_state=0)
    resident = GaussianBernoulliRBM(out_of_core=False, **params).fit(X)
    assert X.shape in device_transfers
    device_transfers.clear()
    streamed = GaussianBernoulliRBM(out_of_core=True, **params).fit(X_map)
    assert X.shape not in device_transfers  # the whole array never went to the device
    for name in ("components_", "intercept_hidden_", "intercept_visible_", "sigma_"):
        assert_array_equal(getattr(streamed, name), getattr(resident, name))
    assert streamed.reconstruction_error_curve_ == resident.reconstruction_error_curve_


def test_auto_uses_cpu_data_in_place(digits_memmap):
    X_map, _ = digits_memmap
    import torch

    cpu = torch.device("cpu")
    assert not _device.should_stream("auto", X_map, cpu, memory_mapped=True)
    assert _device.should_stream(True, X_map, cpu, memory_mapped=True)
    assert not _device.should_stream(False, X_map, cpu, memory_mapped=True)
    fake_gpu = torch.device("meta")
    assert _device.should_stream("auto", X_map, fake_gpu, memory_mapped=True)
    assert not _device.should_stream("auto", X_map, fake_gpu, memory_mapped=False)


def test_large_memmap_is_never_loaded_whole(tmp_path):
    n, d = 300_000, 64
    path = tmp_path / "big.npy"
    writer = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    rng = np.random.RandomState(0)
    for start in range(0, n, 50_000):
        writer[start : start + 50_000] = rng.rand(50_000, d)
    writer.flush()
    del writer
    X = np.load(path, mmap_mode="r")
    tracemalloc.start()
    rbm = GaussianBernoulliRBM(n_components=8, n_iter=1, batch_size=1000, random_state=0).fit(X)
    H = rbm.transform(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert H.shape == (n, 8)
    # The data are 77 MB; the fit and the chunked transform hold far less
    # beside the (n, 8) output.
    assert peak - H.nbytes < 0.5 * X.nbytes, peak


def test_partial_fit_over_memmap_chunks_matches_fit(digits_memmap):
    X_map, X = digits_memmap
    # Exact sampling: its gradient noise is small enough that two fits from one
    # seed agree to a few percent (PCD's gains vary from 10 to 16 nats between
    # seeds of one recipe, which hid a chunking error of that size).
    params = dict(
        n_components=12, batch_size=128, learning_rate=1e-2, sampler="exact", random_state=0
    )
    fitted = GaussianBernoulliRBM(n_iter=15, **params).fit(X)
    chunked = GaussianBernoulliRBM(**params)
    for _ in range(15):
        for start in range(0, len(X_map), 600):
            chunked.partial_fit(X_map[start : start + 600])
    assert chunked._training_state["optimizer"]["step"] == 15 * 3 * 5
    untrained = GaussianBernoulliRBM(n_iter=0, **params).fit(X).score_samples(X).mean()
    gain_fit = fitted.score_samples(X).mean() - untrained
    gain_chunked = chunked.score_samples(X).mean() - untrained
    # seeds 0-5: gains 20.5 to 21.2 nats, chunked within 0.7 of fit
    assert gain_fit > 15 and abs(gain_chunked - gain_fit) < 0.1 * gain_fit, (
        gain_fit,
        gain_chunked,
    )
    assert_allclose(chunked.score(X), fitted.score(X), rtol=0.1)
