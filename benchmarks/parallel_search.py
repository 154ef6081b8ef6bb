"""GridSearchCV with n_jobs=1 against n_jobs=2 (joblib's loky backend, and
Dask's when installed), side by side in one process, on natural image patches.

    python benchmarks/parallel_search.py [--n-samples 20000] [--epochs 3]

Each backend runs once to start its workers, then is timed. loky and Dask
give each worker process one torch thread (OMP_NUM_THREADS=1), so two workers
on two cores do not oversubscribe them. The scores differ slightly from the
sequential run's: one thread sums the matrix products in another order than
two, and CD's sampling amplifies the difference.
"""

import argparse
import time

import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV

from sklearn_grbm import GaussianBernoulliRBM
from sklearn_grbm.datasets import load_patches


def search(X, n_jobs, epochs):
    grid = {"n_components": [25, 50, 100, 150]}
    estimator = GaussianBernoulliRBM(
        n_iter=epochs, standardize=False, learn_sigma=False, random_state=0
    )
    start = time.perf_counter()
    result = GridSearchCV(estimator, grid, cv=2, n_jobs=n_jobs).fit(X)
    return time.perf_counter() - start, result.cv_results_["mean_test_score"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    X = load_patches(args.n_samples, random_state=0)
    print(
        f"GridSearchCV: 4 sizes x 2 folds = 8 fits on {X.shape[0]} x {X.shape[1]}, {args.epochs} epochs each"
    )

    backends = ["loky"]
    try:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
        backends.append("dask")
    except ImportError:
        client = None

    sequential, scores = search(X, 1, args.epochs)
    print(f"{'n_jobs=1':<16} {sequential:7.1f}s  1.00x")
    for backend in backends:
        # Dask: send the data to the workers once, not with every fit.
        options = {"scatter": [X]} if backend == "dask" else {}
        with joblib.parallel_backend(backend, **options):
            search(X[:2000], 2, 1)  # start the workers
            seconds, parallel_scores = search(X, 2, args.epochs)
        gap = np.max(np.abs(parallel_scores / scores - 1))
        print(
            f"{'n_jobs=2 ' + backend:<16} {seconds:7.1f}s  {seconds / sequential:.2f}x  (scores within {gap:.1%})"
        )
    if client is not None:
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
