"""scikit-learn's own estimator checks, all of them, none expected to fail."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_grbm import GaussianBernoulliRBM


@parametrize_with_checks(
    [GaussianBernoulliRBM(), GaussianBernoulliRBM(sampler="pcd", learn_sigma=False)]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
