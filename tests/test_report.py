"""Tests of emnist_tf.evaluation.report: one self-contained HTML page per set of evaluated runs.

The runs here are evaluated-run folders made from synthetic predictions (no
training), so that the page's structure and error paths are checked in a second;
tests/test_cli_evaluate_report.py covers real trained runs end to end.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from emnist_tf.evaluation import evaluate_predictions, write_figures
from emnist_tf.evaluation.report import build_report, summary_sentence
from emnist_tf.modeling.runs import RunError

NAMES = list("0123456789")  # a digits run keeps the figures small and quick
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _PageParser(HTMLParser):
    """Collects every src/href and the cells of the comparison table."""

    def __init__(self):
        super().__init__()
        self.references: list[tuple[str, str, str]] = []
        self.comparison_rows: list[list[str]] = []
        self._in_comparison = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") or (tag == "link"):
                self.references.append((tag, name, value or ""))
        if tag == "table" and dict(attrs).get("id") == "comparison":
            self._in_comparison = True
        if self._in_comparison and tag == "tr":
            self.comparison_rows.append([])
        if self._in_comparison and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_comparison = False
        if self._cell is not None and tag in ("td", "th"):
            self.comparison_rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _fake_evaluated_run(directory, *, kind, accuracy_hint, seed, parameters, seconds):
    """A run folder as evaluate_run leaves it, from synthetic predictions."""
    generator = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), 20)
    probabilities = generator.dirichlet(np.ones(10) * 0.2, size=labels.size)
    hit = generator.random(labels.size) < accuracy_hint
    probabilities[hit, labels[hit]] += 2.0
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    metrics = {
        "run": directory.name,
        "model": kind,
        "split": "digits",
        "parameters": parameters,
        "train_seconds": seconds,
        "seconds_per_epoch": seconds / 2,
        "epochs_run": 2,
        "device": "CPU (2 cores)",
        **evaluate_predictions(labels, probabilities, NAMES),
    }
    metrics["test_examples"] = metrics.pop("examples")
    metrics["data"] = {"fast_mode": True, "files": {"emnist-digits-test-images-idx3-ubyte.gz": "official"}}
    directory.mkdir(parents=True)
    images = generator.random((6, 28, 28, 1))
    write_figures(
        directory,
        history={"loss": [2.0, 1.0], "val_loss": [1.8, 1.2], "accuracy": [0.5, 0.7], "val_accuracy": [0.55, 0.65]},
        images=images,
        true_labels=labels[:6],
        probabilities=probabilities[:6],
        counts=np.array(metrics["confusion_matrix"]),
        class_names=NAMES,
        title=kind,
    )
    (directory / "metrics.json").write_text(json.dumps(metrics))
    (directory / "run.json").write_text(json.dumps({"model": kind, "split": "digits", "learning_rate": 1e-3}))
    return metrics


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    metrics = {
        "mlp": _fake_evaluated_run(
            root / "mlp", kind="mlp", accuracy_hint=0.6, seed=0, parameters=500_000, seconds=100.0
        ),
        "cnn": _fake_evaluated_run(
            root / "cnn", kind="cnn", accuracy_hint=0.8, seed=1, parameters=300_000, seconds=400.0
        ),
    }
    page = build_report([root / "mlp", root / "cnn"], root / "report.html")
    return root, metrics, page


def test_report_is_one_html_file_with_every_figure_embedded(two_runs):
    root, _, page = two_runs
    text = page.read_text(encoding="utf-8")
    parser = _PageParser()
    parser.feed(text)
    images = [value for tag, name, value in parser.references if tag == "img"]
    # per run: curves, predictions, confusion, F1 per class; plus the comparison figure
    assert len(images) == 2 * 4 + 1
    for source in images:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1])[:8] == PNG_SIGNATURE
    for directory in ("mlp", "cnn"):
        for name in ("curves.png", "confusion.png", "predictions.png"):
            encoded = base64.b64encode((root / directory / name).read_bytes()).decode()
            assert encoded in text, f"{directory}/{name} is not embedded"
    external = [value for tag, name, value in parser.references if not value.startswith(("data:", "#"))]
    assert external == []
    assert not re.search(r"<(link|script)\b", text)


def test_report_comparison_table_numbers_match_the_runs(two_runs):
    _, metrics, page = two_runs
    parser = _PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    heading, *rows = parser.comparison_rows
    assert heading[:3] == ["run", "model", "accuracy"]
    assert [row[0] for row in rows] == ["mlp", "cnn"]
    for row in rows:
        values = dict(zip(heading, row))
        expected = metrics[row[0]]
        assert float(values["accuracy"]) == pytest.approx(expected["accuracy"], abs=5e-5)
        assert float(values["F1 (macro)"]) == pytest.approx(expected["f1_macro"], abs=5e-5)
        assert int(values["parameters"].replace(",", "")) == expected["parameters"]
        assert float(values["training time (s)"]) == pytest.approx(expected["train_seconds"])


def test_report_lists_each_runs_most_confused_pairs_and_per_class_scores(two_runs):
    _, metrics, page = two_runs
    text = page.read_text(encoding="utf-8")
    for run in metrics.values():
        top = run["most_confused"][0]
        assert f'<td>{top["true"]}</td><td>{top["predicted"]}</td><td class="number">{top["count"]}</td>' in text
        weakest = min(run["per_class"], key=lambda entry: entry["f1"])
        assert f"{weakest['f1']:.3f}" in text
    assert "fast mode" in text  # the evaluations were marked as fast-mode subsamples


def test_summary_sentence_names_the_most_accurate_run():
    rows = [
        {"run": "mlp", "accuracy": 0.85, "parameters": 100, "train_seconds": 10.0},
        {"run": "cnn", "accuracy": 0.9, "parameters": 50, "train_seconds": 40.0},
    ]
    sentence = summary_sentence(rows)
    assert sentence.startswith("The most accurate run is cnn with 90.00%")
    assert "5.00 points above mlp" in sentence and "0.50 times its parameters" in sentence


def test_report_names_what_is_missing_and_what_to_run(two_runs, tmp_path):
    root, _, _ = two_runs
    with pytest.raises(RunError, match=r"does not exist; train a model and save it there") as caught:
        build_report([tmp_path / "nowhere"], tmp_path / "r.html")
    assert "--" not in str(caught.value)  # library errors name no command-line flag
    half = tmp_path / "half"
    half.mkdir()
    (half / "run.json").write_text("{}")
    with pytest.raises(RunError, match=r"missing model\.keras; the training did not finish"):
        build_report([root / "mlp", half], tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()  # checked before anything is written
    trained_only = tmp_path / "trained"
    trained_only.mkdir()
    for name in ("model.keras", "run.json"):
        (trained_only / name).write_text("{}")
    with pytest.raises(RunError, match=r"missing metrics\.json.*; evaluate it"):
        build_report([trained_only], tmp_path / "r.html", evaluate_missing=False)
    with pytest.raises(ValueError, match="at least one run"):
        build_report([], tmp_path / "r.html")


def test_report_rejects_a_figure_that_is_not_a_png(two_runs, tmp_path):
    root, _, _ = two_runs
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("metrics.json", "run.json", "curves.png", "confusion.png"):
        (broken / name).write_bytes((root / "cnn" / name).read_bytes())
    (broken / "predictions.png").write_text("not an image")
    with pytest.raises(RunError, match="predictions.png is not a PNG"):
        build_report([broken], tmp_path / "r.html")


def test_runs_with_the_same_folder_name_get_distinct_labels(two_runs, tmp_path):
    root, _, _ = two_runs
    copies = []
    for parent in ("monday", "tuesday"):
        copy = tmp_path / parent / "cnn"
        copy.mkdir(parents=True)
        for path in (root / "cnn").iterdir():
            (copy / path.name).write_bytes(path.read_bytes())
        copies.append(copy)
    text = build_report(copies, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "monday/cnn" in text and "tuesday/cnn" in text
