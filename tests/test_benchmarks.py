"""The benchmark scripts run (on tiny data; no timing is asserted)."""

import numpy as np
import torch

from benchmarks import run
from sklearn_grbm.datasets import load_patches


def test_every_benchmark_section_runs(capsys):
    cpu = torch.device("cpu")
    X, X_test = load_patches(600, random_state=0), load_patches(200, subset="test", random_state=1)
    lines = []
    times = run.head_to_head(X, X_test, cpu, 1, lines.append)
    assert set(times) == {"ours", "notebook", "sklearn", "mse_ratio"} and times["ours"] > 0
    assert run.floor(600, 784, 250, cpu, times["ours"], lines.append) > 0
    table = run.scaling(cpu, [300], [10], lines.append)
    assert set(table) == {(300, 10)}
    assert run.sigma_cost(X, cpu, 1, lines.append) > 0
    results = run.inference(cpu, 3000, lines.append)
    assert set(results) == {"transform", "score_samples", "reconstruct"}
    assert any("floor" in line for line in lines)


def test_multiply_add_count_and_matmul_rate():
    assert run.cd1_multiply_adds(10, 20, 30) == 5 * 10 * 20 * 30
    assert run.matmul_rate(8, 16, 4, torch.device("cpu"), repeats=2) > 0


def test_peak_memory_sees_an_allocation():
    with run.PeakMemory(torch.device("cpu")) as memory:
        block = np.ones((4000, 4000))  # 128 MB
        block.sum()
    assert memory.bytes > 50e6


def test_natural_patches_whitening_and_a_tiny_run(tmp_path, monkeypatch):
    from benchmarks import natural_patches
    from sklearn_grbm import _likelihood

    X, X_test, dewhiten = natural_patches.whitened_patches(4, 3000, 500)
    assert X.shape == (3000, 15) and X_test.shape == (500, 15)  # the DC direction is dropped
    np.testing.assert_allclose(np.cov(X, rowvar=False), np.eye(15), atol=1e-8)
    monkeypatch.setattr(natural_patches, "RESULTS", tmp_path)
    monkeypatch.setattr(_likelihood, "AIS_MAX_DOUBLINGS", 0)  # a smoke test: one AIS run per model
    natural_patches.main(["--patch-size", "4", "--n-train", "600", "--n-test", "200", "--epochs", "1"])
    text = (tmp_path / "natural_patches.txt").read_text()
    assert "Gaussian (whitening)" in text and "anchored init" in text and "best:" in text
    assert (tmp_path / "natural_patches_filters.png").stat().st_size > 0
