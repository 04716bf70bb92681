"""Reading a sweep's trials back from KerasTuner's files, and ``results.csv``.

A sweep folder holds one KerasTuner project per stage under ``projects/``
(``00_baseline``, ``01_architecture``... for the greedy strategy, ``00_search``
for a joint search). The ``trial.json`` files written by the (chief) oracle are
the single source of truth: ``results.csv`` is rebuilt from them, so it never
holds a trial twice or misses one, however often the sweep was interrupted.

Example:
    >>> records = load_trials("sweeps/mlp-greedy")
    >>> write_results_csv(records, "sweeps/mlp-greedy/results.csv")
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import json
import os

from emnist_tf.tuning.halving import RUNG_VALUE, RUNGS_VALUE
from emnist_tf.tuning.kt_adapter import Trial, TrialStatus

PROJECTS = "projects"
FAILURE_FILE = "failure.json"
"""Written into a failed trial's folder: ``{"trial_id", "reason", "tuner_id"}``."""
FIXED_COLUMNS = (
    "stage",
    "trial_id",
    "fold",
    "status",
    "rung",
    "val_accuracy",
    "mean_val_accuracy",
    "std_val_accuracy",
    "epochs",
    "images",
    "seconds",
    "reason",
)


def fold_metric(fold: int, name: str) -> str:
    """Name of a per-fold trial metric, e.g. ``fold_metric(0, "val_accuracy") == "fold_0_val_accuracy"``."""
    return f"fold_{fold}_{name}"


@dataclasses.dataclass
class FoldRecord:
    """One fold of one trial."""

    score: float
    epochs: int
    seconds: float
    last_epoch_seconds: float | None = None
    """Seconds of the fold's last epoch (its pace once traced); None in sweeps that did not record it."""
    images: int | None = None
    """Training images of the fold; None in sweeps that did not record it."""


@dataclasses.dataclass
class TrialRecord:
    """One trial as recorded by the oracle.

    Attributes:
        stage: the project (stage) name without its number, e.g. "activation".
        trial_id: KerasTuner's trial id within the stage.
        status: "COMPLETED", "FAILED", "RUNNING"...
        values: every hyperparameter value (KerasTuner's ``tuner/`` entries left out).
        mean: mean validation accuracy over the folds (None unless completed).
        std: standard deviation of the fold accuracies.
        folds: the per-fold results.
        reason: why it failed ("" when it did not).
        rung: the trial's rung in its stage (0: the shortest; :mod:`emnist_tf.tuning.halving`).
        rungs: how many rungs its stage has; the last one decides the stage.
    """

    stage: str
    trial_id: str
    status: str
    values: dict
    mean: float | None
    std: float | None
    folds: list[FoldRecord]
    reason: str = ""
    rung: int = 0
    rungs: int = 1

    @property
    def completed(self) -> bool:
        return self.status == TrialStatus.COMPLETED and self.mean is not None

    @property
    def longest(self) -> bool:
        """Whether the trial ran at its stage's last (deciding) rung."""
        return self.rung == self.rungs - 1

    def length(self) -> str:
        """``"6 epochs on 8,000 images"``: one fold's training (``"?"`` for what was not recorded)."""
        if not self.folds:
            return "not run"
        fold = self.folds[0]
        images = "?" if fold.images is None else f"{fold.images:,}"
        return f"{fold.epochs} epochs on {images} images"


@dataclasses.dataclass
class StageOutcome:
    """What one stage of a sweep tried and chose (a joint search is one stage).

    Attributes:
        number: the stage's position (0 is the baseline).
        name: technique (or strategy) name.
        carried: the best trial before this stage (None for the first, or a stage judged on its own).
        records: this stage's own trials.
        winner: the best of ``carried`` and ``records`` (None if all failed).
    """

    number: int
    name: str
    carried: TrialRecord | None
    records: list[TrialRecord]
    winner: TrialRecord | None

    def decided_at(self) -> str:
        """The length of the trials the stage was decided among, e.g. ``"6 epochs on 8,000 images"``."""
        deciding = [record for record in self.records if record.completed and record.longest]
        record = deciding[0] if deciding else self.winner
        return "not decided yet" if record is None else record.length()


def project_dirs(directory) -> list[str]:
    """The KerasTuner project folders of a sweep, in stage order."""
    return sorted(path for path in glob.glob(os.path.join(str(directory), PROJECTS, "*")) if os.path.isdir(path))


def stage_of(project_dir: str) -> str:
    """``.../projects/03_activation`` -> ``"activation"``."""
    name = os.path.basename(project_dir.rstrip(os.sep))
    return name.split("_", 1)[1] if "_" in name and name.split("_", 1)[0].isdigit() else name


def load_project(project_dir: str) -> list[TrialRecord]:
    """Every trial of one KerasTuner project, in trial-id order."""
    records = []
    for path in sorted(glob.glob(os.path.join(project_dir, "trial_*", "trial.json"))):
        trial = Trial.load(path)
        records.append(_record(stage_of(project_dir), trial, os.path.dirname(path)))
    return records


def load_trials(directory) -> list[TrialRecord]:
    """Every trial of every stage of the sweep in ``directory``."""
    return [record for project in project_dirs(directory) for record in load_project(project)]


def _metric(trial, name):
    if trial.metrics.exists(name):
        return trial.metrics.get_last_value(name)
    return None


def _record(stage: str, trial, trial_dir: str) -> TrialRecord:
    values = {name: value for name, value in trial.hyperparameters.values.items() if not name.startswith("tuner/")}
    folds = []
    count = int(_metric(trial, "folds") or 0)
    for fold in range(count):
        folds.append(
            FoldRecord(
                score=float(_metric(trial, fold_metric(fold, "val_accuracy"))),
                epochs=int(_metric(trial, fold_metric(fold, "epochs")) or 0),
                seconds=float(_metric(trial, fold_metric(fold, "seconds")) or 0.0),
                last_epoch_seconds=_metric(trial, fold_metric(fold, "last_epoch_seconds")),
                images=_optional_int(_metric(trial, fold_metric(fold, "images"))),
            )
        )
    status = trial.status
    reason = ""
    if status == TrialStatus.FAILED:
        reason = failure_reason(trial_dir, trial.message)
    mean = _metric(trial, "val_accuracy") if status == TrialStatus.COMPLETED else None
    std = _metric(trial, "val_accuracy_std") if mean is not None else None
    hidden = trial.hyperparameters.values
    return TrialRecord(
        rung=int(hidden.get(RUNG_VALUE, 0)),
        rungs=int(hidden.get(RUNGS_VALUE, 1)),
        stage=stage,
        trial_id=trial.trial_id,
        status=status,
        values=values,
        mean=mean,
        std=std,
        folds=folds,
        reason=reason,
    )


def _optional_int(value):
    return None if value is None else int(value)


def best_record(records: list[TrialRecord]) -> TrialRecord | None:
    """The completed trial with the highest mean validation accuracy (first one on ties)."""
    completed = [record for record in records if record.completed]
    return max(completed, key=lambda record: record.mean) if completed else None


def hyperparameter_names(records: list[TrialRecord]) -> list[str]:
    """All hyperparameter names seen, sorted."""
    return sorted({name for record in records for name in record.values})


def result_rows(records: list[TrialRecord]) -> list[dict]:
    """One row per trial and fold (one row for a trial without fold results)."""
    names = hyperparameter_names(records)
    rows = []
    for record in records:
        common = {
            "stage": record.stage,
            "trial_id": record.trial_id,
            "status": record.status,
            "rung": record.rung,
            "mean_val_accuracy": _fmt(record.mean),
            "std_val_accuracy": _fmt(record.std),
            "reason": record.reason,
        }
        common.update({name: record.values.get(name, "") for name in names})
        folds = record.folds if record.completed else []
        if not folds:
            rows.append({**common, "fold": "", "val_accuracy": "", "epochs": "", "images": "", "seconds": ""})
        for index, fold in enumerate(folds):
            rows.append(
                {
                    **common,
                    "fold": index,
                    "val_accuracy": _fmt(fold.score),
                    "epochs": fold.epochs,
                    "images": "" if fold.images is None else fold.images,
                    "seconds": f"{fold.seconds:.2f}",
                }
            )
    return rows


def write_results_csv(records: list[TrialRecord], path) -> str:
    """Writes ``results.csv`` (one row per trial and fold) and returns its path."""
    names = hyperparameter_names(records)
    temporary = f"{path}.tmp"
    with open(temporary, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(FIXED_COLUMNS) + names)
        writer.writeheader()
        writer.writerows(result_rows(records))
    os.replace(temporary, path)
    return str(path)


def _fmt(value) -> str:
    return "" if value is None else f"{value:.4f}"


def failure_reason(trial_dir: str, message: str | None) -> str:
    """The one-line reason a trial failed, from its failure file or KerasTuner's traceback."""
    path = os.path.join(trial_dir, FAILURE_FILE)
    if os.path.exists(path):
        with open(path) as stream:
            return json.load(stream)["reason"]
    if message:
        last = [line for line in message.strip().splitlines() if line.strip()][-1]
        return last.split(": ", 1)[-1][:300]
    return "unknown (no message recorded)"
