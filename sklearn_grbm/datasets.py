"""Data sets that need no download.

``load_patches`` cuts grey square patches out of the two photographs that
ship with scikit-learn (``sklearn.datasets.load_sample_images``, which needs
pillow): real natural-image data with the shape of FashionMNIST (28 x 28 =
784 features, values in [0, 1]) when ``patch_size=28``.
"""

import numpy as np
from sklearn.utils import check_random_state

#: Fraction of each photograph's columns, on the right, kept for test patches.
TEST_FRACTION = 0.25

_LUMINANCE = np.array([0.299, 0.587, 0.114])


def _grey_photographs():
    from sklearn.datasets import load_sample_images

    try:
        images = load_sample_images().images
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_patches needs pillow to read scikit-learn's sample "
            "photographs: pip install pillow"
        ) from exc
    return [np.asarray(image, dtype=np.float64) @ _LUMINANCE / 255.0 for image in images]


def load_patches(n_samples=10000, *, patch_size=28, subset="train", random_state=0, dtype=np.float32):
    """Random grey patches of scikit-learn's sample photographs, in [0, 1].

    Train and test patches come from disjoint parts of each photograph (the
    right-most quarter of its columns is kept for ``subset="test"``), so test
    patches share no pixel with training patches.

    Parameters
    ----------
    n_samples : int, default=10000
        Number of patches.
    patch_size : int, default=28
        Side of the square patches; each row has ``patch_size ** 2`` features.
    subset : {"train", "test"}, default="train"
        Which part of the photographs to cut from.
    random_state : int, RandomState instance or None, default=0
        Chooses the photograph and position of each patch.
    dtype : numpy dtype, default=np.float32

    Returns
    -------
    X : ndarray of shape (n_samples, patch_size ** 2)
        Row-major flattened patches.
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    rng = check_random_state(random_state)
    regions = []
    for photo in _grey_photographs():
        split = int(round(photo.shape[1] * (1.0 - TEST_FRACTION)))
        regions.append(photo[:, :split] if subset == "train" else photo[:, split:])
    if any(min(region.shape) < patch_size for region in regions):
        raise ValueError(f"patch_size={patch_size} is larger than the photographs allow")
    which = rng.randint(len(regions), size=n_samples)
    X = np.empty((n_samples, patch_size * patch_size), dtype=dtype)
    for k, region in enumerate(regions):
        rows = np.flatnonzero(which == k)
        tops = rng.randint(region.shape[0] - patch_size + 1, size=rows.size)
        lefts = rng.randint(region.shape[1] - patch_size + 1, size=rows.size)
        for row, top, left in zip(rows, tops, lefts):
            X[row] = region[top : top + patch_size, left : left + patch_size].ravel()
    return X
