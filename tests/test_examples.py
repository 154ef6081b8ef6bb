"""Every example of the gallery runs (headless) and finishes."""

import runpy
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("plot_*.py"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: None)
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
