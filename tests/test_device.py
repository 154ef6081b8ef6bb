"""Devices: resolution, fallbacks with DeviceWarning, transfers, GPU-fitted models on a CPU."""

import pickle

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal

from sklearn_grbm import DeviceWarning, GaussianBernoulliRBM, _device

from .helpers import Xdigits, assert_same_model, small


def test_auto_device_is_cpu_here_and_prefers_cuda(monkeypatch):
    assert str(_device.resolve_device("auto")) == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _device.resolve_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(_device, "_mps_available", lambda: True)
    assert _device.resolve_device("auto").type == "mps"


def test_unavailable_explicit_device_fails_clearly(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(_device, "_mps_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        GaussianBernoulliRBM(device="cuda").fit(Xdigits[:20])
    with pytest.raises(ValueError, match="MPS"):
        GaussianBernoulliRBM(device="mps").fit(Xdigits[:20])
    with pytest.raises(ValueError, match="not a torch device"):
        GaussianBernoulliRBM(device="gpu").fit(Xdigits[:20])


def test_log_partition_falls_back_to_the_cpu_from_mps(monkeypatch):
    # MPS has no float64: exact enumeration and AIS weights run on the CPU, with the CPU's
    # random stream (the model is fitted on the CPU so the reference is one, also on a GPU host).
    from sklearn_grbm import _rbm

    rbm = small(n_components=6, device="cpu").fit(Xdigits[:200])
    exact, ais = rbm.log_partition("exact").value, rbm.log_partition("ais", random_state=0).value
    monkeypatch.setattr(_rbm, "inference_device", lambda device: torch.device("mps"))
    assert rbm.log_partition("exact").value == exact
    assert rbm.log_partition("ais", random_state=0).value == ais


def test_cpu_device_objects_and_strings(monkeypatch):
    a = small(device="cpu").fit(Xdigits[:100])
    b = small(device=torch.device("cpu")).fit(Xdigits[:100])
    assert a.device_ == b.device_ == "cpu"
    assert_same_model(a, b)


def test_gpu_fitted_model_loads_and_runs_without_gpu(monkeypatch):
    # A model fitted on CUDA holds only NumPy state; emulate one and load it
    # where torch sees no GPU (fitted on the CPU, so that the reference is the CPU's
    # arithmetic on a GPU host too).
    rbm = small(device="cpu").fit(Xdigits[:100])
    expected = rbm.transform(Xdigits[:10])
    rbm.set_params(device="cuda")
    rbm.device_ = "cuda:0"
    blob = pickle.dumps(rbm)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = pickle.loads(blob)
    with pytest.warns(DeviceWarning, match="computing on the CPU"):
        assert_array_equal(loaded.transform(Xdigits[:10]), expected)
    with pytest.raises(ValueError, match="CUDA is not available"):
        loaded.partial_fit(Xdigits[:100])
    loaded.set_params(device="auto").partial_fit(Xdigits[:100])
    assert loaded.device_ == "cpu"


def test_training_data_goes_to_the_device_once_per_fit(device_transfers):
    small(n_iter=1, batch_size=10).fit(Xdigits[:200])
    per_fit = len(device_transfers)
    device_transfers.clear()
    small(n_iter=4, batch_size=10).fit(Xdigits[:200])
    assert device_transfers.count((200, 64)) == 1
    # The data, the parameters and the per-column constants; nothing per batch or epoch.
    assert len(device_transfers) == per_fit <= 9


def test_float64_on_mps_is_computed_in_float32_with_a_device_warning():
    with pytest.warns(DeviceWarning, match="MPS has no float64"):
        assert _device.compute_dtype(np.float64, torch.device("mps")) == torch.float32
    assert _device.compute_dtype(np.float32, torch.device("cpu")) == torch.float32
    assert _device.compute_dtype(np.float64, torch.device("cpu")) == torch.float64
    assert issubclass(DeviceWarning, UserWarning)


def test_onednn_products_set_the_mode_only_within_the_block():
    matmul = torch.backends.mkldnn.matmul
    before = matmul.fp32_precision
    with pytest.raises(RuntimeError, match="inside"):
        with _device.onednn_products():
            assert matmul.fp32_precision == "bf16"
            raise RuntimeError("inside")
    assert matmul.fp32_precision == before


def test_the_probe_tells_float32_products_from_bfloat16_ones():
    assert _device.computes_in_float32(torch.mm)
    assert not _device.computes_in_float32(lambda a, b: (a.bfloat16() @ b.bfloat16()).float())
    assert not _device.computes_in_float32(lambda a, b: (a @ b) * (1 + 1e-4))
    # whatever it finds here, onednn's products under the mode are what it says
    if _device.onednn_float32_is_exact():
        with _device.onednn_products():
            assert _device.computes_in_float32(torch.mm)


@pytest.mark.parametrize("exact", [True, False])
def test_training_products_only_for_large_float32_cpu_models_where_exact(monkeypatch, exact):
    monkeypatch.setattr(_device, "onednn_float32_is_exact", lambda: exact)
    cpu, large = torch.device("cpu"), _device.ONEDNN_MIN_WEIGHTS

    def mode(*args):
        with _device.training_products(*args):
            return torch.backends.mkldnn.matmul.fp32_precision

    before = torch.backends.mkldnn.matmul.fp32_precision
    assert mode(cpu, torch.float32, large) == ("bf16" if exact else before)
    assert mode(cpu, torch.float32, large - 1) == before
    assert mode(cpu, torch.float64, large) == before
    assert mode(torch.device("cuda"), torch.float32, large) == before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_fit_trains_under_the_products_it_chose_and_restores_the_mode(monkeypatch, dtype):
    from sklearn_grbm import _training

    seen, run_epoch = [], _training.run_epoch

    def recording(*args, **kwargs):
        seen.append(torch.backends.mkldnn.matmul.fp32_precision)
        return run_epoch(*args, **kwargs)

    monkeypatch.setattr(_training, "run_epoch", recording)
    monkeypatch.setattr(_device, "onednn_float32_is_exact", lambda: True)
    before = torch.backends.mkldnn.matmul.fp32_precision
    X = np.random.default_rng(0).normal(size=(64, 2**10)).astype(dtype)
    rbm = GaussianBernoulliRBM(n_components=32, n_iter=2, random_state=0).fit(X)
    assert seen == (["bf16"] * 2 if dtype == np.float32 else [before] * 2)
    assert torch.backends.mkldnn.matmul.fp32_precision == before
    assert np.all(np.isfinite(rbm.components_))


def test_fits_on_onednn_products_are_the_same_bit_for_bit():
    X = np.random.default_rng(1).normal(size=(96, 2**10)).astype(np.float32)
    assert 32 * X.shape[1] >= _device.ONEDNN_MIN_WEIGHTS
    first, second = (
        GaussianBernoulliRBM(n_components=32, n_iter=2, random_state=3).fit(X) for _ in range(2)
    )
    assert_same_model(first, second)


def test_no_onednn_products_where_torch_has_no_such_setting(monkeypatch):
    class OldMkldnn:  # older torch: no backends.mkldnn.matmul
        @staticmethod
        def is_available():
            return True

    monkeypatch.setattr(torch.backends, "mkldnn", OldMkldnn)
    _device.onednn_float32_is_exact.cache_clear()
    try:
        assert not _device.onednn_float32_is_exact()
    finally:
        monkeypatch.undo()
        _device.onednn_float32_is_exact.cache_clear()
