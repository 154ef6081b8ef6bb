"""Data sets for the experiments.

* ``load_patches``: grey square patches cut out of the two photographs that
  ship with scikit-learn (``sklearn.datasets.load_sample_images``, which needs
  pillow): real natural-image data with the shape of FashionMNIST (28 x 28 =
  784 features, values in [0, 1]) when ``patch_size=28``. No download.
* ``load_fashion_mnist_subset``: 4,443 real FashionMNIST images with their
  labels, shipped with the package (MIT licence, Zalando SE). No download.
* ``load_digits_images``: scikit-learn's 8 x 8 digits scaled to [0, 1].
* ``load_fashion_mnist``: FashionMNIST from a cache directory of IDX files,
  downloaded with torchvision or OpenML when online.
* ``load_array_file``: a user's ``.npy``, ``.npz`` or ``.csv`` file.
* ``load_dataset``: any of them by name, split into train and test.
"""

import gzip
import os
import struct
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state

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


def load_patches(
    n_samples=10000, *, patch_size=28, subset="train", random_state=0, dtype=np.float32
):
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


FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

#: The default split of the embedded subset: the last this many rows are the test set.
FASHION_MNIST_SUBSET_TEST = 1000


def load_fashion_mnist_subset(*, subset="all", return_X_y=False, dtype=np.float32):
    """Load the 4,443 real FashionMNIST images that ship with the package.

    The first 4,443 images of the Fashion-MNIST test set and their labels,
    unchanged (MIT licence, Copyright (c) 2017 Zalando SE; the licence file
    is beside the data in ``sklearn_grbm/data``). Nothing is downloaded.

    =================   ==============
    Classes                         10
    Samples per class       415 to 470
    Samples total                4,443
    Dimensionality                 784
    Features            pixels, [0, 1]
    =================   ==============

    Parameters
    ----------
    subset : {"all", "train", "test"}, default="all"
        The default split: ``"train"`` is the first 3,443 images,
        ``"test"`` the last 1,000 (every class has 87 to 114 of them).
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    dtype : numpy dtype, default=np.float32
        ``np.uint8`` returns the pixels as distributed (0..255); a float
        dtype divides them by 255, as torchvision's ``ToTensor`` does.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (n_samples, 784), ``target`` (n_samples,) class labels 0..9,
        ``images`` (n_samples, 28, 28), ``target_names`` (the ten class
        names), ``DESCR`` (what the subset is and where it comes from).
    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from sklearn_grbm.datasets import load_fashion_mnist_subset
    >>> fashion = load_fashion_mnist_subset()
    >>> fashion.data.shape, fashion.target.shape, fashion.images.shape
    ((4443, 784), (4443,), (4443, 28, 28))
    >>> str(fashion.target_names[fashion.target[0]])
    'Ankle boot'
    >>> X_train, y_train = load_fashion_mnist_subset(subset="train", return_X_y=True)
    >>> X_train.shape, float(X_train.max())
    ((3443, 784), 1.0)
    """
    if subset not in ("all", "train", "test"):
        raise ValueError(f"subset must be 'all', 'train' or 'test', got {subset!r}")
    data_dir = resources.files("sklearn_grbm") / "data"
    with resources.as_file(data_dir / "fashion_mnist_subset.npz") as path:
        with np.load(path, allow_pickle=False) as archive:
            X, y = archive["X"], archive["y"].astype(np.int64)
    rows = {
        "all": slice(None),
        "train": slice(0, len(X) - FASHION_MNIST_SUBSET_TEST),
        "test": slice(len(X) - FASHION_MNIST_SUBSET_TEST, None),
    }[subset]
    X, y = X[rows], y[rows]
    X = X if np.dtype(dtype) == np.uint8 else (X / 255.0).astype(dtype)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        images=X.reshape(-1, 28, 28),
        target_names=np.array(FASHION_MNIST_CLASSES),
        DESCR=(data_dir / "fashion_mnist_subset.rst").read_text(encoding="utf-8"),
    )


def load_digits_images(dtype=np.float32):
    """scikit-learn's 1,797 8 x 8 digits, pixels scaled from 0..16 to [0, 1].

    Returns
    -------
    X : ndarray of shape (1797, 64)
    y : ndarray of shape (1797,)
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(dtype), y


# ------------------------------------------------------------------- IDX files

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path):
    """Read an IDX file (the MNIST / FashionMNIST format), gzipped or not.

    Returns
    -------
    array : ndarray
        Of the shape and type the file's header declares.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    type_code, n_dims = data[2], data[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX data type 0x{type_code:02x}")
    shape = struct.unpack(f">{n_dims}I", data[4 : 4 + 4 * n_dims])
    dtype = np.dtype(_IDX_DTYPES[type_code])
    offset = 4 + 4 * n_dims
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - offset != expected:
        raise ValueError(
            f"{path}: header declares {shape} but the file has {len(data) - offset} bytes of data"
        )
    return (
        np.frombuffer(data, dtype=dtype, offset=offset)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def default_data_home():
    """``$SKLEARN_GRBM_DATA``, else ``~/.cache/sklearn_grbm``."""
    return Path(os.environ.get("SKLEARN_GRBM_DATA", Path.home() / ".cache" / "sklearn_grbm"))


def _find_idx(directory, stem):
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    return None


def _download_fashion_mnist(directory):
    """Fill ``directory`` with the four IDX files; torchvision, then OpenML."""
    errors = []
    try:
        import torchvision

        # torchvision keeps its files in root/FashionMNIST/raw: root is data_home.
        root = str(directory.parent.parent)
        torchvision.datasets.FashionMNIST(root=root, train=True, download=True)
        torchvision.datasets.FashionMNIST(root=root, train=False, download=True)
        return
    except ImportError as exc:
        errors.append(f"torchvision: {exc}")
    except Exception as exc:  # network errors come in many types
        errors.append(f"torchvision: {type(exc).__name__}: {exc}")
    try:
        from sklearn.datasets import fetch_openml

        X, y = fetch_openml(
            "Fashion-MNIST",
            version=1,
            as_frame=False,
            return_X_y=True,
            data_home=str(directory.parent),
        )
        _write_fashion_mnist_idx(
            directory, np.asarray(X, dtype=np.uint8), np.asarray(y).astype(np.uint8)
        )
        return
    except Exception as exc:
        errors.append(f"OpenML: {type(exc).__name__}: {exc}")
    raise ConnectionError(
        "Could not download FashionMNIST (this machine looks offline or cannot reach "
        "the servers). Tried " + "; ".join(errors) + f". Put the four IDX files "
        f"({', '.join(sum(FASHION_MNIST_FILES.values(), ()))}, optionally .gz) in "
        f"{directory}, or use the embedded natural image patches (dataset 'patches')."
    )


def write_idx(path, array):
    """Write ``array`` as an IDX file (gzipped if ``path`` ends in ``.gz``)."""
    array = np.asarray(array)
    big_endian = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    codes = {np.dtype(dtype): code for code, dtype in _IDX_DTYPES.items()}
    if big_endian not in codes:
        raise ValueError(f"IDX cannot hold dtype {array.dtype}")
    header = bytes([0, 0, codes[big_endian], array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(header + np.ascontiguousarray(array, dtype=big_endian).tobytes())


def _write_fashion_mnist_idx(directory, X, y):
    directory.mkdir(parents=True, exist_ok=True)
    images = X.reshape(-1, 28, 28)
    for subset, rows in (("train", slice(0, 60000)), ("test", slice(60000, None))):
        image_file, label_file = FASHION_MNIST_FILES[subset]
        write_idx(directory / f"{image_file}.gz", images[rows])
        write_idx(directory / f"{label_file}.gz", y[rows])


def load_fashion_mnist(subset="train", *, data_home=None, download=True, dtype=np.float32):
    """FashionMNIST, pixels scaled to [0, 1] as torchvision's ``ToTensor`` does.

    The IDX files are read from ``data_home/FashionMNIST/raw`` (torchvision's
    layout); if they are missing and ``download`` is true they are fetched
    with torchvision or, without it, from OpenML.

    Parameters
    ----------
    subset : {"train", "test"}
    data_home : str or path, default=None
        Cache directory; None: :func:`default_data_home`.
    download : bool, default=True
        Whether to download missing files. Offline, a ``ConnectionError``
        names the cause and where to put the files by hand.
    dtype : numpy dtype, default=np.float32

    Returns
    -------
    X : ndarray of shape (60000 or 10000, 784)
    y : ndarray of shape (60000 or 10000,)
    """
    if subset not in FASHION_MNIST_FILES:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
    directory = Path(data_home or default_data_home()) / "FashionMNIST" / "raw"
    image_stem, label_stem = FASHION_MNIST_FILES[subset]
    if _find_idx(directory, image_stem) is None or _find_idx(directory, label_stem) is None:
        if not download:
            raise FileNotFoundError(
                f"FashionMNIST IDX files not found in {directory} and download=False"
            )
        _download_fashion_mnist(directory)
    images = read_idx(_find_idx(directory, image_stem))
    labels = read_idx(_find_idx(directory, label_stem))
    return (images.reshape(len(images), -1) / 255.0).astype(dtype), labels.astype(np.int64)


# ------------------------------------------------------------------- user files


def load_array_file(path, dtype=np.float32):
    """Rows of a ``.npy``, ``.npz`` (array ``X``, else the first) or ``.csv`` file.

    A CSV may have one header line; every other value must be a number.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such data file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        X = np.load(path, allow_pickle=False)
    elif suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            if not archive.files:
                raise ValueError(f"{path} holds no arrays")
            X = archive["X"] if "X" in archive.files else archive[archive.files[0]]
    elif suffix == ".csv":
        with open(path) as handle:
            first = handle.readline()
        try:
            [float(value) for value in first.strip().split(",")]
            skip = 0
        except ValueError:
            skip = 1
        X = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
    else:
        raise ValueError(f"{path}: unsupported file type {suffix!r}; use .npy, .npz or .csv")
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"{path}: expected a 2-D array of shape (n_samples, n_features), got shape {X.shape}"
        )
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"{path}: expected numbers, got dtype {X.dtype}")
    return X.astype(dtype)


def load_dataset(name, *, n_train=None, n_test=None, random_state=0, data_home=None, download=True):
    """A named data set as ``(X_train, X_test, image_shape)``.

    Parameters
    ----------
    name : str
        ``"fashion-mnist-subset"`` (the embedded images, their default
        split), ``"patches"``, ``"digits"``, ``"fashion-mnist"`` (the full
        set, downloaded), or a path to a ``.npy``, ``.npz`` or ``.csv`` file
        (split 80/20 at random).
    n_train, n_test : int or None
        Sizes; None: the whole set (patches: 20,000 and 5,000).

    Returns
    -------
    X_train, X_test : ndarray
    image_shape : tuple or None
        Shape of one row as an image, when it is one.
    """
    rng = check_random_state(random_state)
    if name == "fashion-mnist-subset":
        X_train, _ = load_fashion_mnist_subset(subset="train", return_X_y=True)
        X_test, _ = load_fashion_mnist_subset(subset="test", return_X_y=True)
        return X_train[:n_train], X_test[:n_test], (28, 28)
    if name == "patches":
        X_train = load_patches(n_train or 20000, random_state=rng)
        X_test = load_patches(n_test or 5000, subset="test", random_state=rng)
        return X_train, X_test, (28, 28)
    if name == "digits":
        X, _ = load_digits_images()
        order = rng.permutation(len(X))
        split = int(0.8 * len(X))
        X_train, X_test = X[order[:split]], X[order[split:]]
        shape = (8, 8)
    elif name == "fashion-mnist":
        X_train, _ = load_fashion_mnist("train", data_home=data_home, download=download)
        X_test, _ = load_fashion_mnist("test", data_home=data_home, download=download)
        shape = (28, 28)
    else:
        X = load_array_file(name)
        order = rng.permutation(len(X))
        split = max(1, int(0.8 * len(X)))
        X_train, X_test = X[order[:split]], X[order[split:]]
        side = int(round(np.sqrt(X.shape[1])))
        shape = (side, side) if side * side == X.shape[1] else None
    if n_train:
        X_train = X_train[:n_train]
    if n_test:
        X_test = X_test[:n_test]
    return X_train, X_test, shape
