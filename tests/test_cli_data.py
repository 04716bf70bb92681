"""``emnist-tf data`` end to end on the real files, and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

from matplotlib import image as mpimg

from emnist_tf.cli import main


def test_info_json_reports_counts_and_provenance(emnist_dir, capsys):
    assert main(["data", "info", "--split", "balanced", "--data-dir", str(emnist_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["train"]["images"] == 94_507 and report["test"]["images"] == 9_424
    assert report["num_classes"] == 47 and report["train"]["source"] == str(emnist_dir)


def test_info_text_uses_the_environment_variable(emnist_dir, capsys, monkeypatch):
    monkeypatch.setenv("EMNIST_TF_DATA", str(emnist_dir))
    assert main(["data", "info", "--split", "mnist"]) == 0
    text = capsys.readouterr().out
    assert "test: 10,000 images" in text and "emnist-mnist-test-images-idx3-ubyte.gz: official" in text


def test_show_writes_a_png_grid(emnist_dir, tmp_path):
    out = tmp_path / "samples.png"
    assert (
        main(["data", "show", "--split", "letters", "--data-dir", str(emnist_dir), "--out", str(out), "--count", "12"])
        == 0
    )
    picture = mpimg.imread(out)
    assert picture.ndim == 3 and picture.shape[0] > 100 and picture.std() > 0.05


def test_counts_prints_every_class(emnist_dir, capsys):
    assert main(["data", "counts", "--split", "digits", "--subset", "test", "--data-dir", str(emnist_dir)]) == 0
    # counts are what the file holds, fast mode or not (only labels are read: no subsample is needed)
    assert "total 10000 images in 10 classes" in capsys.readouterr().out


def test_bad_split_is_one_line_on_stderr_with_status_2():
    result = subprocess.run(
        [sys.executable, "-m", "emnist_tf", "data", "info", "--split", "nope", "--data-dir", "."],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("emnist-tf: error: unknown EMNIST split 'nope'")
    assert "Traceback" not in result.stderr
