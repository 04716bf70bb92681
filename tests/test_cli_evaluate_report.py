"""End to end on real EMNIST: train two small runs, `emnist-tf evaluate` them, `emnist-tf report` them."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import shutil

import numpy as np
import pytest
from sklearn import metrics as sk

from emnist_tf import config
from emnist_tf.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RESULT_FILES = ("metrics.json", "curves.png", "confusion.png", "predictions.png")


def _run_cli(arguments):
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = main([str(argument) for argument in arguments])
    return status, output.getvalue()


@pytest.fixture(scope="module")
def run_dirs(emnist_dir, tmp_path_factory):
    """A small MLP and a small CNN, one fast-mode epoch each, saved as run directories and evaluated."""
    from emnist_tf.evaluation import evaluate_run
    from emnist_tf.modeling import models, runs, training

    root = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(config.FAST_ENV, "1")  # module fixtures run before the autouse fast-mode fixture
        builders = {
            "mlp": lambda: models.build_mlp(hidden_units=(128, 64, 32), seed=0),
            "cnn": lambda: models.build_cnn(filters=(8, 16), convs_per_block=1, dense_units=32, seed=0),
        }
        for kind, build in builders.items():
            with contextlib.redirect_stdout(io.StringIO()):
                result = training.train(
                    build(),
                    "balanced",
                    data_dir=str(emnist_dir),
                    limit=config.cap(None, "train_examples"),
                    epochs=1,
                    augmentation=False,
                    verbose=0,
                    seed=0,
                )
            runs.save_run(root / kind, result, {"model": kind, "split": "balanced"})
        evaluate_run(root / "mlp")
        status, printed = _run_cli(["evaluate", root / "cnn", "--fast"])
    return {"mlp": root / "mlp", "cnn": root / "cnn", "evaluate_status": status, "evaluate_output": printed}


def _metrics(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())


def test_evaluate_command_writes_results_and_prints_the_headline(run_dirs):
    assert run_dirs["evaluate_status"] == 0
    metrics = _metrics(run_dirs["cnn"])
    printed = run_dirs["evaluate_output"]
    assert re.search(rf"accuracy +{metrics['accuracy']:.4f}\n", printed)
    assert f"{metrics['f1_macro']:.4f}" in printed
    for run in ("mlp", "cnn"):
        for name in RESULT_FILES[1:]:
            assert (run_dirs[run] / name).read_bytes()[:8] == PNG_SIGNATURE
        keys = set(_metrics(run_dirs[run]))
        assert {
            "accuracy",
            "precision_macro",
            "recall_macro",
            "f1_macro",
            "precision_weighted",
            "recall_weighted",
            "f1_weighted",
            "train_seconds",
            "seconds_per_epoch",
            "device",
            "parameters",
            "test_examples",
            "data",
            "per_class",
            "most_confused",
        } <= keys


def test_saved_metrics_agree_with_scikit_learn_on_the_same_predictions(run_dirs, emnist_dir):
    from emnist_tf import data
    from emnist_tf.evaluation import evaluate_model
    from emnist_tf.modeling import runs

    run = runs.load_run(run_dirs["cnn"])
    metrics = _metrics(run_dirs["cnn"])
    # evaluate_run, a recipe, capped the test images in fast mode: the same stratified 1000
    images, labels = data.load_arrays("balanced", "test", data_dir=emnist_dir, limit=config.cap(None, "test_examples"))
    predicted = run.model.predict(images, verbose=0).argmax(axis=1)
    assert metrics["test_examples"] == len(labels) == 1000
    assert metrics["accuracy"] == pytest.approx(sk.accuracy_score(labels, predicted))
    for average in ("macro", "weighted"):
        options = {"labels": range(47), "average": average, "zero_division": 0}
        assert metrics[f"precision_{average}"] == pytest.approx(sk.precision_score(labels, predicted, **options))
        assert metrics[f"recall_{average}"] == pytest.approx(sk.recall_score(labels, predicted, **options))
        assert metrics[f"f1_{average}"] == pytest.approx(sk.f1_score(labels, predicted, **options))
    counts = sk.confusion_matrix(labels, predicted, labels=range(47))
    assert np.array_equal(np.array(metrics["confusion_matrix"]), counts)
    names = data.class_names("balanced")
    for pair in metrics["most_confused"]:
        assert counts[names.index(pair["true"]), names.index(pair["predicted"])] == pair["count"]
    assert [pair["count"] for pair in metrics["most_confused"]] == sorted(
        (pair["count"] for pair in metrics["most_confused"]), reverse=True
    )
    in_memory = evaluate_model(run.model, images, labels, names)
    assert in_memory["accuracy"] == metrics["accuracy"] and in_memory["f1_macro"] == metrics["f1_macro"]
    assert metrics["parameters"] == run.model.count_params()
    assert metrics["train_seconds"] == run.config["train_seconds"]
    assert metrics["device"] == run.config["device"]


def test_report_command_writes_one_self_contained_page_comparing_the_runs(run_dirs, tmp_path):
    out = tmp_path / "report.html"
    status, printed = _run_cli(["report", run_dirs["mlp"], run_dirs["cnn"], "--out", out])
    assert status == 0 and out.is_file()
    text = out.read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert len(sources) == 2 * 4 + 1  # per run: curves, predictions, confusion, F1; and the comparison
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    for run in ("mlp", "cnn"):
        assert base64.b64encode((run_dirs[run] / "confusion.png").read_bytes()).decode() in text
    assert not re.search(r'(src|href)="(?!data:|#)', text)
    table = text[text.index('<table id="comparison">') :]
    table = table[: table.index("</table>")]
    for run in ("mlp", "cnn"):
        metrics = _metrics(run_dirs[run])
        assert f"{metrics['accuracy']:.4f}" in table and f"{metrics['parameters']:,}" in table
        assert f"{metrics['accuracy']:.4f}" in printed
    assert "CPU" in text or "GPU" in text


def test_evaluate_rejects_a_model_trained_on_another_split(run_dirs, tmp_path, capsys):
    moved = tmp_path / "cnn-said-digits"
    shutil.copytree(run_dirs["cnn"], moved)
    settings = json.loads((moved / "run.json").read_text())
    (moved / "run.json").write_text(json.dumps({**settings, "split": "digits"}))
    assert main(["evaluate", str(moved)]) == 2
    assert "has 47 outputs but its run.json names split 'digits' with 10 classes" in capsys.readouterr().err


def test_commands_name_what_is_missing_and_what_to_run(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nowhere")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "does not exist" in error and "train command" in error
    half = tmp_path / "half"
    half.mkdir()
    (half / "history.csv").write_text("epoch,loss\n1,2.0\n")
    assert main(["report", str(half), "--out", str(tmp_path / "r.html")]) == 2
    error = capsys.readouterr().err.strip()
    assert "missing model.keras, run.json" in error and "train command" in error
    assert not (tmp_path / "r.html").exists()


def test_evaluate_names_a_missing_history(run_dirs, tmp_path, capsys):
    copy = tmp_path / "no-history"
    shutil.copytree(run_dirs["mlp"], copy)
    (copy / "history.csv").unlink()
    assert main(["evaluate", str(copy)]) == 2
    assert "history.csv is missing or records no epochs" in capsys.readouterr().err
