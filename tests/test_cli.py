"""The main job's command line, end to end on small data."""

import subprocess
import sys

import numpy as np

from sklearn_grbm import cli, datasets


def test_sweep_prints_the_table_and_writes_the_figures(tmp_path, capsys):
    code = cli.main(
        [
            "--dataset",
            "digits",
            "--n-components",
            "4",
            "16",
            "--epochs",
            "3",
            "--out",
            str(tmp_path),
            "--seed",
            "1",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "protocol MSE" in out and "(exact)" in out
    rows = [line.split() for line in out.splitlines() if line.strip().split(" ")[0] in ("4", "16")]
    assert [int(r[0]) for r in rows] == [4, 16]
    mse = {int(r[0]): float(r[1]) for r in rows}
    best = int(out.split("best hidden size: ")[1].split()[0])
    assert best in (4, 16)
    assert mse[16] < mse[4]
    for name in (
        "results.txt",
        "training_curves.png",
        "mse_vs_hidden_size.png",
        "reconstructions.png",
        "filters.png",
        "samples.png",
    ):
        assert (tmp_path / name).stat().st_size > 0, name


def test_cross_validation_chooses_a_size(tmp_path, capsys):
    assert (
        cli.main(
            [
                "--dataset",
                "digits",
                "--n-components",
                "2",
                "32",
                "--epochs",
                "3",
                "--cv",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "CV MSE" in out and "best hidden size: 32" in out


def test_user_file_without_image_shape(tmp_path, capsys):
    path = tmp_path / "data.csv"
    np.savetxt(path, np.random.RandomState(0).normal(size=(200, 3)), delimiter=",")
    assert (
        cli.main(
            [
                "--dataset",
                str(path),
                "--n-components",
                "2",
                "--epochs",
                "2",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 0
    )
    assert (tmp_path / "o" / "training_curves.png").exists()
    assert not (tmp_path / "o" / "filters.png").exists()


def test_offline_fashion_mnist_is_a_clear_error(tmp_path, capsys, monkeypatch):
    def offline(directory):
        raise ConnectionError("Could not download FashionMNIST (this machine looks offline)")

    monkeypatch.setattr(datasets, "_download_fashion_mnist", offline)
    code = cli.main(
        ["--dataset", "fashion-mnist", "--data-home", str(tmp_path), "--out", str(tmp_path)]
    )
    assert code == 2
    assert "offline" in capsys.readouterr().err


def test_fashion_mnist_from_the_cache(tmp_path, capsys):
    from .test_datasets import write_fake_fashion_mnist

    write_fake_fashion_mnist(tmp_path, n_train=40, n_test=10)
    args = [
        "--dataset",
        "fashion-mnist",
        "--data-home",
        str(tmp_path),
        "--n-components",
        "3",
        "--epochs",
        "1",
    ]
    assert cli.main([*args, "--out", str(tmp_path / "o")]) == 0
    assert "40 train and 10 test rows" in capsys.readouterr().out


def test_bad_file_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["--dataset", str(tmp_path / "nothing.npy"), "--out", str(tmp_path)]) == 2
    assert "no such data file" in capsys.readouterr().err


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_grbm", "--help"], capture_output=True, text=True, check=True
    )
    assert "--n-components" in result.stdout and "--full" in result.stdout


def test_progress_bar_draws_on_terminals():
    class Terminal:
        def __init__(self):
            self.text = ""

        def isatty(self):
            return True

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    stream = Terminal()
    bar = cli.ProgressBar(2, stream=stream)
    bar.update("M=10 epoch 1")
    bar.update("M=10 epoch 2")
    assert "1/2 epochs" in stream.text and stream.text.endswith("\n") and "#" * 30 in stream.text


def test_default_run_is_on_the_embedded_images_beside_the_notebook_loop(tmp_path, capsys):
    args = ["--n-components", "4", "--epochs", "1", "--n-train", "300", "--n-test", "100"]
    assert cli.main([*args, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fashion-mnist-subset: 300 train and 100 test rows of 784 features")
    assert "notebook loop" in out and "ratio" in out
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["4"])
    assert 0 < float(row[3]) < 1 and abs(float(row[4]) - float(row[2]) / float(row[3])) < 0.01
    assert (tmp_path / "reconstructions.png").stat().st_size > 0


def test_the_table_says_where_ais_missed_hidden_modes():
    from sklearn_grbm.experiment import format_table

    row = dict(
        n_components=250,
        mse=0.02,
        protocol_mse=0.02,
        log_likelihood=-1600.0,
        log_z_stderr=0.5,
        log_z_method="ais",
        log_z_ess=2.0,
        log_z_unsure=True,
        fit_seconds=1.0,
    )
    quiet = format_table([dict(row, log_z_missed=0.0)])
    assert "missed" not in quiet and "(ais*)" in quiet
    loud = format_table([dict(row, log_z_missed=155.5)]).splitlines()
    assert loud[-1].startswith("(AIS missed hidden modes") and "M=250: 156" in loud[-1]
