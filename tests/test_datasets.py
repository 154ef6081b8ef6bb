import numpy as np
import pytest

from sklearn_grbm import datasets


def test_patches_shape_range_and_determinism():
    X = datasets.load_patches(500, random_state=3)
    assert X.shape == (500, 784) and X.dtype == np.float32
    assert X.min() >= 0.0 and X.max() <= 1.0 and X.std() > 0.05
    np.testing.assert_array_equal(X, datasets.load_patches(500, random_state=3))
    assert datasets.load_patches(10, patch_size=8, dtype=np.float64).shape == (10, 64)


def test_test_patches_share_no_pixel_with_training_patches():
    photos = datasets._grey_photographs()
    split = [int(round(p.shape[1] * (1 - datasets.TEST_FRACTION))) for p in photos]
    test = datasets.load_patches(200, subset="test", patch_size=5, random_state=0)
    train_region = [p[:, :s] for p, s in zip(photos, split)]
    train_patches = {
        tuple(np.round(r[i : i + 5, j : j + 5].ravel(), 6))
        for r in train_region
        for i in range(0, r.shape[0] - 5, 7)
        for j in range(0, r.shape[1] - 5, 7)
    }
    assert not any(tuple(np.round(row, 6)) in train_patches for row in test.astype(np.float64))


@pytest.mark.parametrize("kwargs", [dict(subset="validation"), dict(n_samples=0), dict(patch_size=1000)])
def test_patches_reject_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        datasets.load_patches(**{"n_samples": 10, **kwargs})
