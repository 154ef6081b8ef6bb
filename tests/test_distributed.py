"""Dask (Incremental, the joblib backend), parallel GridSearchCV, and persistence."""

import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.datasets import load_digits_images

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")

X, _ = load_digits_images()
FITTED = ("components_", "intercept_hidden_", "intercept_visible_", "sigma_")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def test_incremental_fits_a_dask_array_like_local_partial_fit(client):
    X_dask = da.from_array(X, chunks=(300, 64))
    params = dict(n_components=16, sampler="pcd", random_state=0)
    incremental = dask_ml_wrappers.Incremental(GaussianBernoulliRBM(**params), shuffle_blocks=False)
    incremental.fit(X_dask)  # a fresh clone, one pass over the blocks
    incremental.partial_fit(X_dask)  # continues: a second pass
    local = GaussianBernoulliRBM(**params)
    for _ in range(2):
        for start in range(0, len(X), 300):
            local.partial_fit(X[start : start + 300])
    for name in FITTED:
        assert_array_equal(getattr(incremental.estimator_, name), getattr(local, name))
    assert incremental.estimator_.n_iter_ == 12


def test_lazy_transform_on_the_workers(client):
    X_dask = da.from_array(X, chunks=(300, 64))
    incremental = dask_ml_wrappers.Incremental(
        GaussianBernoulliRBM(n_components=16, random_state=0)
    )
    incremental.fit(X_dask)
    H = incremental.transform(X_dask)
    assert isinstance(H, da.Array)
    assert_allclose(H.compute(), incremental.estimator_.transform(X), rtol=1e-6)
    rbm = incremental.estimator_
    lazy = X_dask.map_blocks(rbm.transform, chunks=(X_dask.chunks[0], (16,)), dtype=X.dtype)
    assert lazy.shape == (len(X), 16)
    assert_allclose(lazy.compute(), rbm.transform(X), rtol=1e-6)


def test_workers_get_one_torch_thread_each(client):
    threads = client.run(lambda: __import__("torch").get_num_threads())
    assert set(threads.values()) == {1}


def _torch_threads_in_worker(_):
    import torch

    return torch.get_num_threads()


def test_loky_workers_get_their_share_of_the_cores():
    import os

    n_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    per_worker = joblib.Parallel(n_jobs=2)(
        joblib.delayed(_torch_threads_in_worker)(i) for i in range(2)
    )
    assert all(t <= max(1, n_cores // 2) for t in per_worker), per_worker


@pytest.mark.parametrize("backend", ["loky", "dask"])
def test_parallel_grid_search_matches_the_sequential_one(client, backend):
    grid = {"n_components": [4, 16]}
    estimator = GaussianBernoulliRBM(n_iter=2, random_state=0)
    sequential = GridSearchCV(estimator, grid, cv=2, n_jobs=1).fit(X)
    with joblib.parallel_backend(backend):
        parallel = GridSearchCV(estimator, grid, cv=2, n_jobs=2).fit(X)
    # Workers compute with one torch thread, the sequential run with all: the
    # float sums differ in order, so the scores agree closely but not exactly.
    assert_allclose(
        parallel.cv_results_["mean_test_score"],
        sequential.cv_results_["mean_test_score"],
        rtol=0.02,
    )
    assert parallel.best_params_ == sequential.best_params_ == {"n_components": 16}


def test_the_dask_example_runs():
    example = Path(__file__).parent.parent / "examples" / "dask_incremental.py"
    result = subprocess.run(
        [sys.executable, str(example)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "best:" in result.stdout and "hidden representation: (20000, 64)" in result.stdout


# ------------------------------------------------------------------ persistence


@pytest.fixture
def fitted():
    rbm = GaussianBernoulliRBM(n_components=8, n_iter=2, sampler="pcd", random_state=0).fit(X)
    rbm.log_partition(
        "ais", n_chains=50, n_betas=200, random_state=3
    )  # a non-default log Z to keep
    return rbm


def test_skops_round_trip_trusts_only_our_class(fitted, tmp_path):
    sio = pytest.importorskip("skops.io")
    path = tmp_path / "model.skops"
    sio.dump(fitted, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted == ["sklearn_grbm._rbm.GaussianBernoulliRBM"]
    loaded = sio.load(path, trusted=untrusted)
    for method in ("transform", "score_samples", "reconstruct"):
        assert_array_equal(getattr(loaded, method)(X), getattr(fitted, method)(X))
    loaded.partial_fit(X)
    fitted.partial_fit(X)
    for name in FITTED:
        assert_array_equal(getattr(loaded, name), getattr(fitted, name))


@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads), ("joblib", "joblib")])
def test_pickle_and_joblib_round_trip(fitted, tmp_path, dumps, loads):
    if dumps == "joblib":
        joblib.dump(fitted, tmp_path / "m.joblib")
        loaded = joblib.load(tmp_path / "m.joblib")
    else:
        loaded = loads(dumps(fitted))
    assert_array_equal(loaded.score_samples(X), fitted.score_samples(X))


def test_gpu_fitted_model_loads_with_skops_on_a_cpu_machine(fitted, tmp_path, monkeypatch):
    import torch

    sio = pytest.importorskip("skops.io")
    expected = fitted.transform(X)
    fitted.set_params(device="cuda")
    fitted.device_ = "cuda:0"
    path = tmp_path / "gpu.skops"
    sio.dump(fitted, path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = sio.load(path, trusted=["sklearn_grbm._rbm.GaussianBernoulliRBM"])
    with pytest.warns(UserWarning, match="computing on the CPU"):
        # equal to rounding: on a GPU host the reference was computed on the GPU
        assert_allclose(loaded.transform(X), expected, rtol=1e-6, atol=1e-12)
