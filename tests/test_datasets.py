import hashlib

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


@pytest.mark.parametrize(
    "kwargs", [dict(subset="validation"), dict(n_samples=0), dict(patch_size=1000)]
)
def test_patches_reject_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        datasets.load_patches(**{"n_samples": 10, **kwargs})


def write_fake_fashion_mnist(directory, n_train=12, n_test=5, gz=True):
    rng = np.random.RandomState(0)
    raw = directory / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    arrays = {}
    for subset, n in (("train", n_train), ("test", n_test)):
        image_stem, label_stem = datasets.FASHION_MNIST_FILES[subset]
        images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = rng.randint(0, 10, size=n).astype(np.uint8)
        suffix = ".gz" if gz else ""
        datasets.write_idx(raw / f"{image_stem}{suffix}", images)
        datasets.write_idx(raw / f"{label_stem}{suffix}", labels)
        arrays[subset] = (images, labels)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_reads_idx_files_offline(tmp_path, gz):
    arrays = write_fake_fashion_mnist(tmp_path, gz=gz)
    X, y = datasets.load_fashion_mnist("train", data_home=tmp_path, download=False)
    images, labels = arrays["train"]
    assert X.shape == (12, 784) and X.dtype == np.float32
    np.testing.assert_allclose(X, images.reshape(12, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    X_test, _ = datasets.load_fashion_mnist("test", data_home=tmp_path, download=False)
    assert X_test.shape == (5, 784)


def test_fashion_mnist_missing_files(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="download=False"):
        datasets.load_fashion_mnist(data_home=tmp_path, download=False)

    def offline(directory):
        raise ConnectionError("Could not download FashionMNIST (this machine looks offline)")

    monkeypatch.setattr(datasets, "_download_fashion_mnist", offline)
    with pytest.raises(ConnectionError, match="offline"):
        datasets.load_fashion_mnist(data_home=tmp_path)


def test_download_failure_names_the_offline_cause(tmp_path, monkeypatch):
    import urllib.error

    import sklearn.datasets

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", no_network)
    monkeypatch.setitem(__import__("sys").modules, "torchvision", None)  # as if not installed
    with pytest.raises(ConnectionError, match="offline") as excinfo:
        datasets.load_fashion_mnist(data_home=tmp_path)
    message = str(excinfo.value)
    assert "name resolution" in message and "patches" in message and str(tmp_path) in message


def test_openml_download_is_cached_as_idx(tmp_path, monkeypatch):
    import sklearn.datasets

    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(70000, 784)).astype(np.float64)
    y = rng.randint(0, 10, size=70000).astype(str)
    monkeypatch.setattr(sklearn.datasets, "fetch_openml", lambda *a, **k: (X, y))
    monkeypatch.setitem(__import__("sys").modules, "torchvision", None)
    X_test, y_test = datasets.load_fashion_mnist("test", data_home=tmp_path)
    np.testing.assert_allclose(X_test, X[60000:] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_test, y[60000:].astype(int))
    assert (tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte.gz").exists()


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x02ab")
    with pytest.raises(ValueError, match="magic"):
        datasets.read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")
    with pytest.raises(ValueError, match="header declares"):
        datasets.read_idx(short)


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv"])
def test_array_files(tmp_path, suffix):
    X = np.random.RandomState(0).rand(10, 4)
    path = tmp_path / f"data{suffix}"
    if suffix == ".npy":
        np.save(path, X)
    elif suffix == ".npz":
        np.savez(path, X=X, other=np.zeros(3))
    else:
        np.savetxt(path, X, delimiter=",", header="a,b,c,d", comments="")
    np.testing.assert_allclose(datasets.load_array_file(path), X.astype(np.float32), rtol=1e-6)
    X_train, X_test, shape = datasets.load_dataset(str(path))
    assert len(X_train) == 8 and len(X_test) == 2 and shape == (2, 2)


def test_array_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        datasets.load_array_file(tmp_path / "missing.npy")
    np.save(tmp_path / "flat.npy", np.arange(5.0))
    with pytest.raises(ValueError, match="2-D"):
        datasets.load_array_file(tmp_path / "flat.npy")
    (tmp_path / "x.txt").write_text("1,2")
    with pytest.raises(ValueError, match="unsupported"):
        datasets.load_array_file(tmp_path / "x.txt")


def test_load_dataset_names():
    X_train, X_test, shape = datasets.load_dataset("digits", n_train=100)
    assert X_train.shape == (100, 64) and shape == (8, 8) and X_test.max() <= 1.0
    X_train, X_test, shape = datasets.load_dataset("patches", n_train=50, n_test=20)
    assert X_train.shape == (50, 784) and X_test.shape == (20, 784) and shape == (28, 28)


def test_torchvision_download_lands_where_the_reader_looks(tmp_path, monkeypatch):
    # A stand-in for torchvision.datasets.FashionMNIST that, like the real one,
    # writes the IDX files to root/FashionMNIST/raw.
    import sys
    import types

    def fake_fashion_mnist(root, train, download):
        from pathlib import Path

        raw = Path(root) / "FashionMNIST" / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        image_stem, label_stem = datasets.FASHION_MNIST_FILES["train" if train else "test"]
        n = 6 if train else 3
        datasets.write_idx(raw / f"{image_stem}.gz", np.full((n, 28, 28), 255, dtype=np.uint8))
        datasets.write_idx(raw / f"{label_stem}.gz", np.arange(n, dtype=np.uint8))

    fake = types.ModuleType("torchvision")
    fake.datasets = types.SimpleNamespace(FashionMNIST=fake_fashion_mnist)
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    X, y = datasets.load_fashion_mnist("test", data_home=tmp_path)
    assert X.shape == (3, 784) and np.all(X == 1.0)
    np.testing.assert_array_equal(y, [0, 1, 2])


# ------------------------------------------------------------- the embedded images


def test_embedded_fashion_mnist_is_the_shared_file_with_its_licence():
    from importlib import resources

    data = resources.files("sklearn_grbm") / "data"
    digest = hashlib.sha256((data / "fashion_mnist_subset.npz").read_bytes()).hexdigest()
    assert digest == "40713abf21823a42429669f9c360819b8a8226c9502dd86bed87cc553765b730"
    licence = (data / "FASHION_MNIST_LICENSE.txt").read_text()
    assert "Copyright (c) 2017 Zalando SE" in licence and "MIT License" in licence
    assert "subset of the Fashion-MNIST test set" in licence


def test_load_fashion_mnist_subset_follows_sklearn_conventions():
    fashion = datasets.load_fashion_mnist_subset()
    assert fashion.data.shape == (4443, 784) and fashion.data.dtype == np.float32
    assert fashion.images.shape == (4443, 28, 28)
    np.testing.assert_array_equal(fashion.images[7].ravel(), fashion.data[7])
    assert fashion.data.min() == 0.0 and fashion.data.max() == 1.0
    assert abs(fashion.data.mean() - 0.2872) < 1e-4  # the data README's figure
    assert list(fashion.target_names) == list(datasets.FASHION_MNIST_CLASSES)
    counts = np.bincount(fashion.target)
    assert counts.size == 10 and counts.min() == 415 and counts.max() == 470
    assert "Zalando" in fashion.DESCR and "4,443" in fashion.DESCR
    raw, labels = datasets.load_fashion_mnist_subset(return_X_y=True, dtype=np.uint8)
    assert raw.dtype == np.uint8 and raw.max() == 255
    np.testing.assert_allclose(fashion.data, raw / 255.0, rtol=1e-6)
    train, test = (
        datasets.load_fashion_mnist_subset(subset=s, return_X_y=True) for s in ("train", "test")
    )
    assert train[0].shape == (3443, 784) and test[0].shape == (1000, 784)
    np.testing.assert_array_equal(np.concatenate([train[1], test[1]]), labels)
    with pytest.raises(ValueError, match="subset"):
        datasets.load_fashion_mnist_subset(subset="validation")
    X_train, X_test, shape = datasets.load_dataset("fashion-mnist-subset")
    assert X_train.shape == (3443, 784) and X_test.shape == (1000, 784) and shape == (28, 28)
