"""Tables, figures, ``summary.md`` and TensorBoard hparams logs of a sweep.

Everything here is rebuilt from the recorded trials, so ``emnist-tf tune-report DIR``
can be run at any time, also while a sweep is still going.

Example:
    >>> paths = write_report("sweeps/mlp-greedy")
    >>> print(format_report("sweeps/mlp-greedy"))
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from emnist_tf.tuning import greedy, results
from emnist_tf.tuning.final import FINAL, load_final
from emnist_tf.tuning.settings import load_settings
from emnist_tf.tuning.strategies import get_strategy

STAGES_DIR = "stages"
TENSORBOARD_DIR = "tensorboard"


# ------------------------------------------------------------------- stages
def report_stages(directory, settings) -> list[results.StageOutcome]:
    """The stages to report, as the sweep's strategy sees them (a joint search is one stage)."""
    return get_strategy(settings.strategy).outcomes(directory, settings)


def option_label(record: results.TrialRecord, keys) -> str:
    """``"activation=elu"`` for a stage's keys; every value for a joint search."""
    names = list(keys) or sorted(record.values)
    return ", ".join(f"{name}={_short(record.values.get(name))}" for name in names)


def stage_keys(settings, name: str):
    """The hyperparameters a stage changes (``("(baseline)",)`` for a baseline, ``()`` for a joint search)."""
    return get_strategy(settings.strategy).stage_keys(settings.model, name)


def _rows(outcome: results.StageOutcome):
    rows = []
    if outcome.carried is not None:
        rows.append((outcome.carried, "carried"))
    rows.extend((record, "") for record in outcome.records)
    return rows


def stage_table(outcome: results.StageOutcome, keys) -> str:
    """A Markdown table: one row per option with mean, spread and every fold's accuracy."""
    lines = [
        f"### Stage {outcome.number}: {outcome.name}",
        "",
        f"Decided at {outcome.decided_at()} per fold{_shorter_note(outcome)}.",
        "",
        "| option | trial | rung | length | status | mean val acc | std | folds | |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for record, note in _rows(outcome):
        label = "baseline" if keys == ("(baseline)",) else option_label(record, keys)
        mark = "**winner**" if outcome.winner is record else ""
        folds = " ".join(f"{fold.score:.4f}" for fold in record.folds) if record.completed else record.reason
        lines.append(
            f"| {label} | {record.stage}/{record.trial_id} | {record.rung + 1}/{record.rungs} | {record.length()} "
            f"| {record.status.lower()} | {_fmt(record.mean)} | {_fmt(record.std)} | {folds} "
            f"| {' '.join(filter(None, [note, mark]))} |"
        )
    return "\n".join(lines)


def _shorter_note(outcome: results.StageOutcome) -> str:
    shorter = sum(not record.longest for record in outcome.records)
    if not shorter:
        return ""
    return f", among the options promoted from {shorter} shorter trial(s) (successive halving)"


def stage_figure(outcome: results.StageOutcome, keys) -> Figure:
    """Mean validation accuracy per option of the deciding (longest) trials, with its spread over folds
    (error bar) and each fold (dots)."""
    rows = [(record, note) for record, note in _rows(outcome) if record.completed and record.longest]
    width = (2.0 if keys else 0.45) * len(rows) + 1.5
    figure = Figure(figsize=(min(20.0, max(4.0, width)), 3.8), layout="constrained")
    axes = figure.add_subplot()
    for position, (record, note) in enumerate(rows):
        color = "tab:green" if outcome.winner is record else ("tab:gray" if note else "tab:blue")
        axes.errorbar(position, record.mean, yerr=record.std, fmt="o", color=color, capsize=4, markersize=8)
        scores = [fold.score for fold in record.folds]
        axes.scatter(np.full(len(scores), position + 0.12), scores, s=12, color=color, alpha=0.6)
    labels = []
    for record, note in rows:
        if keys == ("(baseline)",):
            label = "baseline"
        elif not keys:  # a joint search: every value would not fit under the axis
            label = f"trial {record.trial_id}"
        else:
            label = option_label(record, keys)
        labels.append(label.replace(", ", "\n") + ("\n(carried)" if note else ""))
    axes.set_xticks(range(len(rows)), labels, fontsize=7)
    axes.set_xlim(-0.6, max(0.6, len(rows) - 0.4))
    axes.set_ylabel("validation accuracy")
    axes.set_title(
        f"Stage {outcome.number}: {outcome.name}, {outcome.decided_at()} per fold (mean ± std; green = winner)",
        fontsize=9,
    )
    axes.grid(axis="y", alpha=0.3)
    return figure


def comparison_figure(final: dict) -> Figure:
    """Test accuracy of the baseline and the final configuration."""
    figure = Figure(figsize=(4, 3.2), layout="constrained")
    axes = figure.add_subplot()
    names = [name for name in ("baseline", "best") if name in final]
    values = [final[name]["test_accuracy"] for name in names]
    bars = axes.bar(names, values, color=["tab:gray", "tab:green"][: len(names)])
    axes.bar_label(bars, fmt="%.4f")
    axes.set_ylim(0, 1)
    axes.set_ylabel("test accuracy")
    axes.set_title("Baseline vs final configuration (test set)", fontsize=9)
    return figure


# ------------------------------------------------------------- tensorboard
def write_hparams_logs(directory, records: list[results.TrialRecord]) -> int:
    """Writes a TensorBoard hparams run per completed trial not logged yet; returns how many."""
    try:
        import tensorflow as tf
        from tensorboard.plugins.hparams import api as hparams_api
    except ImportError:
        return 0
    written = 0
    for record in records:
        if not record.completed:
            continue
        folder = os.path.join(str(directory), TENSORBOARD_DIR, f"{record.stage}-trial_{record.trial_id}")
        if os.path.isdir(folder):
            continue
        values = {name: value for name, value in record.values.items() if isinstance(value, (bool, int, float, str))}
        with tf.summary.create_file_writer(folder).as_default():
            hparams_api.hparams(values, trial_id=f"{record.stage}/{record.trial_id}")
            tf.summary.scalar("val_accuracy", record.mean, step=0)
            tf.summary.scalar("val_accuracy_std", record.std or 0.0, step=0)
            for index, fold in enumerate(record.folds):
                tf.summary.scalar("fold_val_accuracy", fold.score, step=index)
        written += 1
    return written


# ----------------------------------------------------------------- summary
def confirmation_note(settings) -> str:
    """``" (the confirmation stage: 8)"`` for a sweep with a confirmation stage, the rungs' epochs for a
    multi-rung sweep, else ``""``."""
    notes = []
    if settings.rungs > 1:
        notes.append(f"rungs: {', '.join(str(rung.epochs) for rung in settings.ladder())}, decided at the last")
    if settings.confirmation_epochs is not None:
        notes.append(f"the confirmation stage: {settings.confirmation_epochs}")
    return f" ({'; '.join(notes)})" if notes else ""


def summary_markdown(directory, settings, outcomes, records, final) -> str:
    """The sweep's ``summary.md``: settings, per-stage winners, test comparison, failures."""
    failed = [record for record in records if record.status == "FAILED"]
    done = [record for record in records if record.status in ("COMPLETED", "FAILED")]
    best = outcomes[-1].winner if outcomes else None
    lines = [
        f"# {settings.strategy} sweep of the {settings.model}",
        "",
        f"{len(done)} of {settings.trial_budget()} trials finished ({len(failed)} failed); "
        f"{settings.folds}-fold stratified cross-validation, {settings.epochs} epoch(s) per fold"
        f"{confirmation_note(settings)}, "
        f"split {settings.split}, seed {settings.seed}"
        f"{', fast mode' if settings.fast else ''}.",
        "",
        "## Stages",
        "",
        "| stage | trials | decided at (per fold) | winner | mean val acc | std |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for outcome in outcomes:
        winner = outcome.winner
        keys = stage_keys(settings, outcome.name)
        if winner is None:
            label = "-"
        elif keys and outcome.name != "baseline":
            label = option_label(winner, keys)
        else:
            label = f"{winner.stage}/{winner.trial_id}"
        lines.append(
            f"| {outcome.name} | {len(outcome.records)} | {outcome.decided_at()} | {label} | "
            f"{_fmt(None if winner is None else winner.mean)} | "
            f"{_fmt(None if winner is None else winner.std)} |"
        )
    lines += ["", "## Final configuration", ""]
    if best is None:
        lines.append("No trial has completed yet.")
    else:
        lines.append(
            f"Best cross-validated trial: {best.stage}/{best.trial_id}, "
            f"mean validation accuracy {best.mean:.4f} ± {best.std:.4f}."
        )
        lines += ["", "| hyperparameter | value |", "| --- | --- |"]
        lines += [f"| {name} | {_short(value)} |" for name, value in sorted(best.values.items())]
    if final:
        lines += [
            "",
            "## Test set: baseline vs final",
            "",
            "| configuration | test accuracy | test loss | train seconds |",
            "| --- | --- | --- | --- |",
        ]
        for name in ("baseline", "best"):
            if name in final:
                result = final[name]
                lines.append(
                    f"| {name} | {result['test_accuracy']:.4f} | {result['test_loss']:.4f} "
                    f"| {result['train_seconds']} |"
                )
        if os.path.isdir(os.path.join(str(directory), FINAL, "best")):
            lines += [
                "",
                f"The final runs (model, history, test metrics) are in `{FINAL}/baseline` and `{FINAL}/best`.",
            ]
    if failed:
        lines += ["", "## Failed trials", ""]
        lines += [f"- {record.stage}/{record.trial_id}: {record.reason}" for record in failed]
    lines += [
        "",
        "Files: `results.csv` (one row per trial and fold), `stages/` (a table and a figure "
        "per stage), `tensorboard/` (hparams: `tensorboard --logdir tensorboard`).",
        "",
    ]
    return "\n".join(lines)


def write_report(directory) -> dict:
    """Writes results.csv, every stage's table and figure, summary.md and the hparams logs.

    Returns:
        Paths written: ``results``, ``summary``, ``tables``, ``figures`` (lists), ``comparison``.

    Raises:
        FileNotFoundError: if ``directory`` is not a sweep folder.
    """
    settings = load_settings(directory)
    records = results.load_trials(directory)
    outcomes = report_stages(directory, settings)
    final = load_final(directory)
    stages_dir = os.path.join(str(directory), STAGES_DIR)
    os.makedirs(stages_dir, exist_ok=True)
    paths = {
        "results": results.write_results_csv(records, os.path.join(str(directory), "results.csv")),
        "tables": [],
        "figures": [],
        "comparison": None,
    }
    for outcome in outcomes:
        keys = stage_keys(settings, outcome.name)
        stem = os.path.join(stages_dir, greedy.project_name(outcome.number, outcome.name))
        with open(f"{stem}.md", "w") as stream:
            stream.write(stage_table(outcome, keys) + "\n")
        figure = stage_figure(outcome, keys)
        figure.savefig(f"{stem}.png", dpi=100)
        paths["tables"].append(f"{stem}.md")
        paths["figures"].append(f"{stem}.png")
    if final:
        paths["comparison"] = os.path.join(str(directory), "comparison.png")
        comparison_figure(final).savefig(paths["comparison"], dpi=100)
    paths["hparams_runs"] = write_hparams_logs(directory, records)
    paths["summary"] = os.path.join(str(directory), "summary.md")
    with open(paths["summary"], "w") as stream:
        stream.write(summary_markdown(directory, settings, outcomes, records, final))
    return paths


def format_report(directory) -> str:
    """The stage tables and the summary as text (what ``tune-report`` prints)."""
    settings = load_settings(directory)
    outcomes = report_stages(directory, settings)
    tables = [stage_table(outcome, stage_keys(settings, outcome.name)) for outcome in outcomes]
    summary_path = os.path.join(str(directory), "summary.md")
    summary = Path(summary_path).read_text() if os.path.exists(summary_path) else ""
    return "\n\n".join(tables + [summary])


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
