import numpy as np
import pytest


@pytest.fixture
def device_transfers(monkeypatch):
    """Shapes of every array the estimator moves to its device, in order."""
    from sklearn_grbm import _rbm

    shapes = []
    original = _rbm.to_tensor

    def counting(array, device, dtype, **kwargs):
        shapes.append(np.shape(array))
        return original(array, device, dtype, **kwargs)

    monkeypatch.setattr(_rbm, "to_tensor", counting)
    return shapes
