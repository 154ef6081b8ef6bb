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
