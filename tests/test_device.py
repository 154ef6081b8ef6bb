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
