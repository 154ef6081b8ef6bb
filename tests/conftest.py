import os

import numpy as np
import pytest


@pytest.fixture
def device_transfers(monkeypatch):
    """Shapes of every array the estimator moves to its device, in order."""
    from sklearn_grbm import _device, _rbm, _training

    shapes = []
    original = _device.to_tensor

    def counting(array, device, dtype, **kwargs):
        shapes.append(np.shape(array))
        return original(array, device, dtype, **kwargs)

    for module in (_rbm, _training):
        monkeypatch.setattr(module, "to_tensor", counting)
    return shapes


def pytest_configure(config):
    # Under pytest-xdist each worker is one of several processes on the
    # machine: one torch thread each, or their thread pools fight over the
    # cores (a fit of 64 units on 2 columns is no faster on two threads).
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)
