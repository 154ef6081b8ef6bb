"""
Distributed training with Dask
==============================

``dask_ml.wrappers.Incremental`` trains a ``GaussianBernoulliRBM`` on a
``dask.array`` block by block through ``partial_fit`` (the optimizer state
and persistent chains travel with the model), and transforms a dask array
lazily, block by block, on the workers. ``GridSearchCV`` runs its fits on the
same cluster through joblib's dask backend.

Needs the ``dask`` extra (``pip install "sklearn-grbm[dask]"``). The cluster
starts worker processes, hence the ``__main__`` guard. Each worker is given
one torch thread (Dask sets ``OMP_NUM_THREADS=1`` in its worker processes), so
workers do not oversubscribe the cores. This script is rendered in the gallery
but not run there; ``tests/test_distributed.py`` runs it.
"""

import numpy as np


def main():
    import dask.array as da
    import joblib
    from dask_ml.wrappers import Incremental
    from distributed import Client, LocalCluster
    from sklearn.model_selection import GridSearchCV

    from sklearn_grbm import GaussianBernoulliRBM
    from sklearn_grbm.datasets import load_patches

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster),
    ):
        # 20,000 patches in blocks of 2,500 rows; in practice, da.from_zarr or
        # da.from_array over a memmap keeps the data out of memory.
        X = da.from_array(load_patches(20000, random_state=0), chunks=(2500, 784))

        # Each block is one partial_fit call, an epoch of the learning-rate
        # schedule: n_iter counts them all (3 passes), and "step" drops the
        # step to a tenth for the last third of the calls, as fit does over
        # passes ("decay", the default for CD, counts blocks as epochs: past 25
        # calls it would drop at call 18 and fall from call 26 on).
        n_calls = 3 * X.numblocks[0]
        model = Incremental(
            GaussianBernoulliRBM(
                n_components=64, n_iter=n_calls, learning_rate_schedule="step", random_state=0
            ),
            shuffle_blocks=False,
        )
        model.fit(X)  # one pass over the blocks, starting from a fresh clone
        for _epoch in range(2):
            model.partial_fit(X)  # further passes continue the same model
        rbm = model.estimator_
        print(
            f"trained {rbm.n_iter_} block passes; last reconstruction error "
            f"{rbm.reconstruction_error_curve_[-1]:.4f}"
        )

        # Lazy transform on the workers. Give map_blocks the output chunks so
        # that the dask array has the right shape before it is computed.
        H = X.map_blocks(rbm.transform, chunks=(X.chunks[0], (rbm.n_components,)), dtype=X.dtype)
        print("hidden representation:", H.shape, "mean activation", float(H.mean().compute()))

        # Model selection with the fits spread over the cluster.
        with joblib.parallel_backend("dask"):
            search = GridSearchCV(
                GaussianBernoulliRBM(
                    n_iter=3, standardize=False, learn_sigma=False, random_state=0
                ),
                {"n_components": [16, 64]},
                cv=2,
                n_jobs=-1,
            ).fit(X[:4000].compute())
        print("best:", search.best_params_, np.round(search.cv_results_["mean_test_score"], 4))


if __name__ == "__main__":
    main()
