"""The assignment's hand-in page: sweeps, baseline versus winner, then MLP versus CNN.

Built from what the pipeline left on disk (sweep folders and evaluated run folders) with
the library's own builders: the sweep's stage tables and figures
(:mod:`emnist_tf.tuning.report`) and the run sections and comparison of
:mod:`emnist_tf.evaluation.report`. One HTML file, figures embedded.

Example:
    >>> write_report("runs/assignment")   # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import html
from pathlib import Path

from emnist_tf.choices import MODEL_KINDS

TITLE = "EMNIST assignment: the best MLP and the best CNN"
NAMES = {"mlp": "MLP", "cnn": "CNN"}


def describe_architecture(configuration: dict) -> str:
    """A short phrase such as ``"3 hidden layers (256, 128, 64), relu, batch norm, dropout 0.2, L2"``."""
    arch = configuration["architecture"]
    if configuration["model"] == "mlp":
        shape = f"{len(arch['hidden_units'])} hidden layers ({', '.join(map(str, arch['hidden_units']))})"
    else:
        convs = len(arch["filters"]) * arch.get("convs_per_block", 2)
        shape = (
            f"{convs} convolutions in {len(arch['filters'])} blocks (filters {', '.join(map(str, arch['filters']))}), "
            f"dense {', '.join(map(str, arch.get('dense_units', [])))}"
        )
    parts = [shape, arch.get("activation", "relu")]
    parts.append("batch norm" if arch.get("batch_norm") else "no batch norm")
    parts.append(f"dropout {arch['dropout_rate']:g}" if arch.get("dropout_rate") else "no dropout")
    parts.append(arch.get("regularizer", "none").upper() if arch.get("regularizer", "none") != "none" else "no L1/L2")
    parts.append(
        f"{configuration['optimizer']} at {configuration['learning_rate']:g}, {configuration['schedule']} schedule, "
        f"batch {configuration['batch_size']}"
    )
    return ", ".join(parts)


CONFIRMATION_TEXT = (
    "<p>Short trials favour what learns fast: batch normalisation, dropout and a decaying learning rate "
    "slow the first epochs and pay off later, so the {short}-epoch stages tend to reject them. This last "
    "stage retrains the winner so far and the winner with the default model's batch normalisation, "
    "dropout, optimiser and cosine schedule for {epochs} epochs per fold, and keeps the better of the "
    "two. Their scores are compared with each other only, not with the shorter trials above.</p>"
)
CONFIRMATION_TEXT_RUNGS = (
    "<p>Each stage above judged one technique with the others fixed. This last stage tries the winner with "
    "the default model's batch normalisation, dropout, optimiser, learning rate, cosine schedule and batch "
    "size all at once, at the last rung's length ({epochs} epochs per fold), against the winner's own score "
    "at that length, and keeps the better.</p>"
)
HALVING_TEXT = (
    " Within each stage every option first trains briefly; the best third (at least two) is trained again "
    "longer on more images, and the stage is decided among the longest-trained options only (successive "
    "halving), so a technique that pays off late is not rejected by a short trial."
)


def sweep_section(directory, kind: str) -> str:
    """Every stage's table (mean and spread over folds, each fold) and figure, and the winner's configuration."""
    from emnist_tf.evaluation.figures import figure_to_png
    from emnist_tf.evaluation.report import html_figure, html_table
    from emnist_tf.tuning import configs, space
    from emnist_tf.tuning import report as sweep_report
    from emnist_tf.tuning.settings import load_settings

    settings = load_settings(directory)
    parts = [
        f"<h2 id='sweep-{kind}'>Part 1: the {NAMES[kind]} sweep</h2>",
        f"<p>Greedy search, one technique at a time from the baseline, each option scored by "
        f"{settings.folds}-fold stratified cross-validation ({settings.epochs} epoch(s) per fold"
        f"{sweep_report.confirmation_note(settings)}, {settings.limit or 'all'} training images); the best "
        "mean validation accuracy is carried to the next stage. Error bars: standard deviation over the "
        f"folds; dots: each fold.{HALVING_TEXT if settings.rungs > 1 else ''}</p>",
    ]
    for outcome in sweep_report.report_stages(directory, settings):
        keys = sweep_report.stage_keys(settings, outcome.name)
        rows = []
        for record in ([outcome.carried] if outcome.carried is not None else []) + outcome.records:
            label = "baseline" if keys == ("(baseline)",) else sweep_report.option_label(record, keys)
            note = "carried in" if record is outcome.carried else ""
            if outcome.winner is record:
                note = f"{note}, winner".strip(", ")
            folds = " ".join(f"{fold.score:.4f}" for fold in record.folds) if record.completed else record.reason
            length = record.length()
            rows.append([label, length, record.status.lower(), _fmt(record.mean), _fmt(record.std), folds, note])
        parts.append(f"<h3>Stage {outcome.number}: {html.escape(outcome.name)}</h3>")
        if outcome.name == space.CONFIRMATION_STAGE:
            text = CONFIRMATION_TEXT_RUNGS if settings.rungs > 1 else CONFIRMATION_TEXT
            parts.append(text.format(epochs=settings.confirmation_epochs, short=settings.epochs))
        parts.append(f"<p>Decided at {html.escape(outcome.decided_at())} per fold.</p>")
        parts.append(
            html_table(
                ["option", "length per fold", "status", "mean val accuracy", "std over folds", "each fold", ""],
                rows,
                numbers=[False, False, False, True, True],
            )
        )
        figure = figure_to_png(sweep_report.stage_figure(outcome, keys))
        parts.append(html_figure(figure, f"{kind} stage {outcome.name}"))
    best = configs.load_config(Path(directory) / configs.BEST_FILE)
    parts.append(f"<p><b>Winner of the {NAMES[kind]} sweep:</b> {html.escape(describe_architecture(best))}.</p>")
    return "".join(parts)


def baseline_section(runs: dict, kind: str) -> str:
    """Baseline versus winner on the test set, and a plain sentence whether the winner beat it."""
    from emnist_tf.evaluation.report import html_table

    baseline, best = runs[(kind, "baseline")].metrics, runs[(kind, "best")].metrics
    rows = [
        [
            label,
            f"{100 * metrics['accuracy']:.2f}%",
            f"{metrics['f1_macro']:.4f}",
            f"{metrics.get('train_seconds', 0):.1f} s",
            f"{metrics.get('parameters', 0):,}",
        ]
        for label, metrics in (("baseline", baseline), ("winner", best))
    ]
    difference = 100 * (best["accuracy"] - baseline["accuracy"])
    if difference > 0:
        verdict = f"Yes: the {NAMES[kind]} winner beat its baseline on the test set by {difference:.2f} points"
    elif difference == 0:
        verdict = f"No: the {NAMES[kind]} winner only tied with its baseline on the test set"
    else:
        verdict = f"No: the {NAMES[kind]} winner did not beat its baseline on the test set ({difference:.2f} points)"
    verdict += f" ({100 * best['accuracy']:.2f}% against {100 * baseline['accuracy']:.2f}%)."
    return (
        f"<h3>{NAMES[kind]}: baseline versus winner</h3>"
        + html_table(
            ["configuration", "test accuracy", "macro F1", "training time", "parameters"],
            rows,
            numbers=[False, True, True, True, True],
        )
        + f"<p><b>{html.escape(verdict)}</b></p>"
    )


def write_report(out, *, data_dir=None) -> Path:
    """Writes ``OUT/report.html`` from the sweeps and evaluated runs of the assignment in ``out``.

    Raises:
        IncompleteRunError, FileNotFoundError: if a stage has not finished (run the assignment again).
    """
    from emnist_tf.assignment.layout import REPORT_FILE, sweep_dir
    from emnist_tf.assignment.layout import run_dir as run_folder
    from emnist_tf.evaluation import report as evaluation_report

    out = Path(out)
    runs = {
        (kind, name): evaluation_report.collect_run(
            run_folder(out, kind, name), f"{NAMES[kind]} {name}", data_dir=data_dir
        )
        for kind in MODEL_KINDS
        for name in ("baseline", "best")
    }
    winners = [runs[(kind, "best")] for kind in MODEL_KINDS]
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    from emnist_tf.tuning import configs

    named = "".join(
        f"<li><b>{NAMES[kind]}:</b> "
        f"{html.escape(describe_architecture(configs.load_config(sweep_dir(out, kind) / configs.BEST_FILE)))}</li>"
        for kind in MODEL_KINDS
    )
    body = [
        f"<h1>{TITLE}</h1>",
        f'<p class="muted">Generated {generated} by <code>emnist-tf assignment</code> '
        f"from {html.escape(str(out))}.</p>",
        f"<p>The winners of the sweeps:</p><ul>{named}</ul>",
        '<ul><li><a href="#sweep-mlp">Part 1: the sweeps</a></li><li><a href="#baselines">Baselines versus winners'
        '</a></li><li><a href="#comparison-section">Part 2: MLP versus CNN</a></li></ul>',
        *(sweep_section(sweep_dir(out, kind), kind) for kind in MODEL_KINDS),
        '<h2 id="baselines">Baselines versus winners (test set)</h2>',
        "<p>Each baseline and each winner was trained with the same recipe on the training set and tested on "
        "the test set, which the sweep never saw.</p>",
        *(baseline_section(runs, kind) for kind in MODEL_KINDS),
        "<h1>Part 2: the best MLP versus the best CNN</h1>",
        "<p>Predictions, confusion matrices and metrics below come from each model reloaded from its "
        "saved <code>model.keras</code>.</p>",
        evaluation_report.comparison_section(winners),
        *(evaluation_report.run_section(run, f"run-{index}") for index, run in enumerate(winners, start=1)),
    ]
    path = out / REPORT_FILE
    temporary = path.with_name(f".partial-{path.name}")
    temporary.write_text(evaluation_report.html_page(TITLE, "".join(body)), encoding="utf-8")
    temporary.replace(path)
    return path


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"
