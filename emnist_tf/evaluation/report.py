"""One self-contained HTML page that presents and compares evaluated runs.

The page holds, for every run, its headline metrics and settings, training
curves, confusion matrix, first six predictions, most-confused pairs and F1 per
class, and for all runs together the comparison table and figure. Every figure
is embedded as a base64 PNG and the styles are inline, so the single file can be
mailed, uploaded or handed in as it is.

Example:
    >>> from emnist_tf.evaluation.report import build_report
    >>> build_report(["runs/mlp", "runs/cnn"], "report.html")   # doctest: +SKIP
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from emnist_tf.evaluation import comparison, figures
from emnist_tf.evaluation.run_evaluation import (
    CONFUSION_FILE,
    CURVES_FILE,
    EVALUATE_HINT,
    PREDICTIONS_FILE,
    RESULT_FILES,
    evaluate_run,
    load_metrics,
)
from emnist_tf.modeling.runs import RUN_FILE, TRAIN_HINT, RunError, check_run_dir

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURE_FILES = (CURVES_FILE, CONFUSION_FILE, PREDICTIONS_FILE)
_HIDDEN_SETTINGS = {"history", "metrics"}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       max-width: 1150px; margin: 2em auto; padding: 0 1em; color: #1f2328; line-height: 1.45; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2.2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { border: 1px solid #d0d7de; padding: .25em .6em; text-align: left; }
th { background: #f6f8fa; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; display: block; margin: .6em 0; }
.note { background: #fff8c5; border: 1px solid #d4a72c; padding: .5em .8em; border-radius: 4px; }
.muted { color: #656d76; font-size: .9em; }
.best { font-weight: bold; }
figure { margin: 1em 0; } figcaption { color: #656d76; font-size: .9em; }
"""


READING_GUIDE = (
    "Accuracy is the share of test images classified correctly. Precision of a class is the share of "
    "its predictions that are right, recall the share of its images that are found, F1 their harmonic "
    "mean; macro averages weigh every class equally, weighted averages by its number of test images. "
    "The best score of each column is in bold."
)


@dataclasses.dataclass
class ReportRun:
    """One evaluated run as the report shows it.

    Attributes:
        label: the name used for the run throughout the page.
        directory: the run directory.
        metrics: contents of its ``metrics.json``.
        settings: contents of its ``run.json`` (empty if absent).
        images: figure file name -> PNG bytes.
    """

    label: str
    directory: Path
    metrics: dict
    settings: dict
    images: dict[str, bytes]


def _unique_labels(directories: Sequence[Path]) -> list[str]:
    labels = [directory.resolve().name for directory in directories]
    for index, directory in enumerate(directories):
        if labels.count(labels[index]) > 1:
            labels[index] = f"{directory.resolve().parent.name}/{directory.resolve().name}"
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return unique


def _read_png(path: Path) -> bytes:
    payload = path.read_bytes()
    if not payload.startswith(PNG_SIGNATURE):
        raise RunError(f"{path} is not a PNG image; {EVALUATE_HINT} again")
    return payload


def _needs_evaluation(directory: Path, evaluate_missing: bool) -> bool:
    """True if the run must be evaluated first; raises if it cannot be reported at all."""
    missing = [name for name in RESULT_FILES if not (directory / name).is_file()]
    if not missing:
        return False
    check_run_dir(directory)
    if evaluate_missing:
        return True
    check_run_dir(directory, required=RESULT_FILES, hint=EVALUATE_HINT)
    return False


def collect_run(run_dir, label: str, *, data_dir=None, evaluate_missing: bool = True) -> ReportRun:
    """Reads an evaluated run; evaluates it first if its results are missing.

    Args:
        run_dir: a run directory.
        label: the run's name in the report.
        data_dir: EMNIST folder used if the run has to be evaluated.
        evaluate_missing: evaluate a trained but not yet evaluated run (needs the
            data); when False such a run is an error.

    Raises:
        RunError: naming what is missing and the command that makes it.
    """
    directory = Path(run_dir)
    if _needs_evaluation(directory, evaluate_missing):
        evaluate_run(directory, data_dir=data_dir)
    settings_path = directory / RUN_FILE
    try:
        settings = json.loads(settings_path.read_text(encoding="utf-8")) if settings_path.is_file() else {}
    except json.JSONDecodeError as error:
        raise RunError(f"{settings_path} is not valid JSON ({error.msg}); {TRAIN_HINT} again") from None
    images = {name: _read_png(directory / name) for name in FIGURE_FILES}
    return ReportRun(label, directory, load_metrics(directory), settings, images)


def _image(payload: bytes, alt: str, caption: str | None = None) -> str:
    encoded = base64.b64encode(payload).decode("ascii")
    tag = f'<img src="data:image/png;base64,{encoded}" alt="{html.escape(alt)}">'
    if caption is None:
        return tag
    return f"<figure>{tag}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _cell(value, *, number: bool = False, best: bool = False) -> str:
    classes = " ".join(name for name, on in (("number", number), ("best", best)) if on)
    attribute = f' class="{classes}"' if classes else ""
    return f"<td{attribute}>{html.escape(str(value))}</td>"


def _table(headings: Sequence[str], rows: Sequence[Sequence[str]], table_id: str | None = None) -> str:
    head = "".join(f"<th>{html.escape(heading)}</th>" for heading in headings)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    attribute = f' id="{table_id}"' if table_id else ""
    return f"<table{attribute}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def comparison_section(runs: Sequence[ReportRun]) -> str:
    """The comparison table (best score per column in bold), a summary sentence and the figure."""
    metrics_by_run = {run.label: run.metrics for run in runs}
    rows = comparison.comparison_table(metrics_by_run)
    best = {key: max((row[key] for row in rows if row[key] is not None), default=None) for key in comparison.SCORE_KEYS}
    table_rows = []
    for row in rows:
        cells = []
        for key, _ in comparison.COMPARISON_COLUMNS:
            value = row[key]
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            is_best = len(rows) > 1 and key in best and value is not None and value == best[key]
            cells.append(_cell(comparison.format_value(key, value), number=numeric, best=is_best))
        table_rows.append(cells)
    table = _table([heading for _, heading in comparison.COMPARISON_COLUMNS], table_rows, "comparison")
    figure = figures.figure_to_png(comparison.plot_comparison(metrics_by_run))
    return (
        '<h2 id="comparison-section">Comparison</h2>'
        + f"<p>{html.escape(summary_sentence(rows))}</p>"
        + f'<p class="muted">{html.escape(READING_GUIDE)}</p>'
        + table
        + _image(figure, "comparison of the runs", "Scores on the test set, model size and training time of every run.")
    )


def summary_sentence(rows: Sequence[Mapping]) -> str:
    """One sentence naming the most accurate run and how it compares with the others."""
    scored = [row for row in rows if row.get("accuracy") is not None]
    if not scored:
        return "No run has an accuracy yet."
    ranked = sorted(scored, key=lambda row: row["accuracy"], reverse=True)
    leader = ranked[0]
    sentence = f"The most accurate run is {leader['run']} with {100 * leader['accuracy']:.2f}% test accuracy"
    if len(ranked) > 1:
        runner = ranked[1]
        sentence += (
            f", {100 * (leader['accuracy'] - runner['accuracy']):.2f} points above "
            f"{runner['run']} ({100 * runner['accuracy']:.2f}%)"
        )
        if leader.get("parameters") and runner.get("parameters"):
            sentence += f", with {leader['parameters'] / runner['parameters']:.2f} times its parameters"
        if leader.get("train_seconds") and runner.get("train_seconds"):
            sentence += f" and {leader['train_seconds'] / runner['train_seconds']:.2f} times its training time"
    return sentence + "."


def _headline_table(metrics: Mapping) -> str:
    rows = [
        ("accuracy", "accuracy"),
        ("precision (macro)", "precision_macro"),
        ("recall (macro)", "recall_macro"),
        ("F1 (macro)", "f1_macro"),
        ("precision (weighted)", "precision_weighted"),
        ("recall (weighted)", "recall_weighted"),
        ("F1 (weighted)", "f1_weighted"),
        ("test loss (cross-entropy)", "loss"),
    ]
    cells = [
        [_cell(name), _cell("-" if metrics.get(key) is None else f"{metrics[key]:.4f}", number=True)]
        for name, key in rows
    ]
    facts = [
        ("parameters", comparison.format_value("parameters", metrics.get("parameters"))),
        ("training time", comparison.format_value("train_seconds", metrics.get("train_seconds")) + " s"),
        ("time per epoch", comparison.format_value("seconds_per_epoch", metrics.get("seconds_per_epoch")) + " s"),
        ("epochs", metrics.get("epochs_run", "-")),
        ("trained on", metrics.get("device") or "-"),
        ("test images", metrics.get("test_examples", "-")),
    ]
    cells += [[_cell(name), _cell(value, number=name != "trained on")] for name, value in facts]
    return _table(["metric", "value"], cells)


def _settings_table(settings: Mapping) -> str:
    rows = []
    for key in sorted(settings):
        if key in _HIDDEN_SETTINGS:
            continue
        value = settings[key]
        if isinstance(value, float):
            text = f"{value:.4g}"
        else:
            text = value if isinstance(value, str) else json.dumps(value)
        rows.append([_cell(key), _cell(text)])
    if not rows:
        return '<p class="muted">No run.json settings recorded.</p>'
    return _table(["setting", "value"], rows)


def _confused_table(metrics: Mapping) -> str:
    pairs = metrics.get("most_confused") or []
    if not pairs:
        return "<p>No mistakes on the test images.</p>"
    rows = [
        [
            _cell(pair["true"]),
            _cell(pair["predicted"]),
            _cell(pair["count"], number=True),
            _cell(f"{100 * pair['rate']:.1f}%", number=True),
        ]
        for pair in pairs
    ]
    return _table(["true", "predicted as", "images", "% of the true class"], rows)


def _per_class_section(metrics: Mapping, label: str) -> str:
    per_class = metrics.get("per_class") or []
    if not per_class:
        return ""
    figure = figures.figure_to_png(figures.plot_per_class_f1(per_class, title=f"{label}: F1 per class"))
    rows = [
        [
            _cell(entry["name"]),
            _cell(f"{entry['precision']:.3f}", number=True),
            _cell(f"{entry['recall']:.3f}", number=True),
            _cell(f"{entry['f1']:.3f}", number=True),
            _cell(entry["support"], number=True),
        ]
        for entry in sorted(per_class, key=lambda entry: entry["f1"])
    ]
    table = _table(["class", "precision", "recall", "F1", "test images"], rows)
    return (
        "<h3>F1 per class</h3>"
        + _image(figure, f"F1 per class of {label}")
        + f"<details><summary>Per-class report (weakest first)</summary>{table}</details>"
    )


def _notes(metrics: Mapping) -> str:
    data = metrics.get("data") or {}
    notes = []
    if data.get("fast_mode"):
        notes.append(
            f"Evaluated in fast mode on a subsample of {metrics.get('test_examples')} test images: "
            "a quick check, not a result to compare with published figures."
        )
    unofficial = [name for name, origin in (data.get("files") or {}).items() if not str(origin).startswith("official")]
    if unofficial:
        notes.append(
            "The test file is not NIST's official one ("
            + ", ".join(unofficial)
            + "): compare with published results only as an estimate."
        )
    return "".join(f'<p class="note">{html.escape(note)}</p>' for note in notes)


def run_section(run: ReportRun, anchor: str) -> str:
    """Everything about one run: metrics, settings, curves, confusion matrix, predictions, pairs, F1."""
    metrics = run.metrics
    kind = metrics.get("model")
    what = f"EMNIST {metrics.get('split', '')}"
    heading = f"{run.label} on {what}" if kind in (None, run.label) else f"{run.label}: {kind} on {what}"
    return "".join(
        [
            f'<h2 id="{anchor}">{html.escape(heading)}</h2>',
            f'<p class="muted">Directory {html.escape(str(run.directory))}; evaluated '
            f"{html.escape(str(metrics.get('evaluated_at', '?')))}.</p>",
            _notes(metrics),
            "<h3>Test metrics</h3>",
            _headline_table(metrics),
            "<details><summary>Training settings (run.json)</summary>",
            _settings_table(run.settings),
            "</details>",
            "<h3>Training curves</h3>",
            _image(
                run.images[CURVES_FILE],
                f"training curves of {run.label}",
                "Loss and accuracy per epoch on the training and validation images.",
            ),
            "<h3>First six test images</h3>",
            _image(
                run.images[PREDICTIONS_FILE],
                f"first six predictions of {run.label}",
                "Predicted and true character with the predicted probability; wrong ones in red.",
            ),
            "<h3>Confusion matrix</h3>",
            _image(
                run.images[CONFUSION_FILE],
                f"confusion matrix of {run.label}",
                "Rows: true class; columns: predicted class; values: % of the true class.",
            ),
            "<h3>Most-confused pairs</h3>",
            _confused_table(metrics),
            _per_class_section(metrics, run.label),
        ]
    )


def render_report(runs: Sequence[ReportRun], *, title: str = "EMNIST: comparison of trained models") -> str:
    """The whole HTML page for already collected runs."""
    if not runs:
        raise ValueError("no runs to report: pass at least one run directory")
    anchors = [f"run-{index}" for index in range(1, len(runs) + 1)]
    contents = "".join(
        f'<li><a href="#{anchor}">{html.escape(run.label)}</a></li>' for run, anchor in zip(runs, anchors)
    )
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(
        [
            f"<h1>{html.escape(title)}</h1>",
            f'<p class="muted">Generated {generated} by <code>emnist-tf report</code> from {len(runs)} run(s).</p>',
            f'<ul><li><a href="#comparison-section">Comparison</a></li>{contents}</ul>',
            comparison_section(runs),
            *(run_section(run, anchor) for run, anchor in zip(runs, anchors)),
        ]
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def build_report(
    run_dirs: Sequence,
    out,
    *,
    data_dir=None,
    evaluate_missing: bool = True,
    title: str = "EMNIST: comparison of trained models",
) -> Path:
    """Writes one self-contained HTML report comparing ``run_dirs``.

    Args:
        run_dirs: run directories (from ``emnist-tf train --out``), in the order to show.
        out: path of the HTML file to write.
        data_dir: EMNIST folder for runs that still need evaluating.
        evaluate_missing: evaluate trained runs that have no ``metrics.json`` yet.
        title: the page title.

    Returns:
        The path written.

    Raises:
        RunError: if a run directory is missing or incomplete.
        ValueError: if ``run_dirs`` is empty.
    """
    directories = [Path(run_dir) for run_dir in run_dirs]
    if not directories:
        raise ValueError("no runs to report: pass at least one run directory")
    for directory in directories:
        _needs_evaluation(directory, evaluate_missing)
    labels = _unique_labels(directories)
    runs = [
        collect_run(directory, label, data_dir=data_dir, evaluate_missing=evaluate_missing)
        for directory, label in zip(directories, labels)
    ]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(runs, title=title), encoding="utf-8")
    return out


# ------------------------------------------------- building blocks for other reports
def html_figure(payload: bytes, alt: str, caption: str | None = None) -> str:
    """An embedded PNG (base64) with an optional caption, styled like this report's figures."""
    return _image(payload, alt, caption)


def html_table(headings: Sequence[str], rows: Sequence[Sequence], *, numbers: Sequence[bool] = ()) -> str:
    """A table of plain values (escaped); ``numbers[i]`` right-aligns column ``i``."""
    cells = [
        [_cell(value, number=index < len(numbers) and numbers[index]) for index, value in enumerate(row)]
        for row in rows
    ]
    return _table(headings, cells)


def html_page(title: str, body: str) -> str:
    """A whole self-contained page (inline styles) around ``body``."""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )
