"""Progress lines for long sweeps: trial i of N, stage, best so far, time left.

Example output::

    [tune] trial 4/19 | stage activation (3/10) | started: activation=elu
    [tune] trial 4/19 done | val_accuracy 0.6120 ± 0.0110 | best so far 0.6311 | 3.2 s | ETA 0:00:48
"""

from __future__ import annotations

import datetime
import sys
import time

from emnist_tf.tuning.kt_adapter import EPOCHS_VALUE, TrialStatus

RECENT_TRIALS = 3
"""The time left is estimated from this many most recent trials."""


def format_duration(seconds: float) -> str:
    """Formats seconds as H:MM:SS, e.g. ``format_duration(75) == "0:01:15"``."""
    return str(datetime.timedelta(seconds=int(round(max(0.0, seconds)))))


class Progress:
    """Prints one line when a trial starts and one when it ends.

    Args:
        total: trials in the whole sweep (all stages).
        finished: trials already finished before this process started (resumed runs).
        best: best mean validation accuracy already reached, if any.
        stream: where to print (stdout by default).
        listeners: callables ``listener(progress)`` called after each finished trial
            (the memory benchmark uses this).
        work: the whole sweep's work and the work already done, in epochs per fold times the share of
            images (trials of a staged sweep's rungs differ in length); None: every trial counts alike.
    """

    def __init__(
        self,
        total: int,
        finished: int = 0,
        best: float | None = None,
        stream=None,
        listeners=None,
        work: tuple[float, float] | None = None,
    ):
        self.total = total
        self.work_total, self.work_done = work if work is not None else (None, 0.0)
        self._finish_work: list[float] = []
        self.finished = finished
        self.best = best
        self.stream = stream or sys.stdout
        self.listeners = list(listeners or [])
        self.stage_numbers: dict[str, int] = {}
        self.stage_count = 0
        self._session_started = time.perf_counter()
        self._finish_times: list[float] = []
        self._trial_started: dict[str, float] = {}
        self.ran: list[str] = []

    def _print(self, text: str) -> None:
        print(f"[tune] {text}", file=self.stream, flush=True)

    def trial_started(self, trial, stage: str, tuner_id: str = "tuner0") -> None:
        """Reports that ``trial`` starts (called by the tuner)."""
        self._trial_started[trial.trial_id] = time.perf_counter()
        values = {name: value for name, value in trial.hyperparameters.values.items() if not name.startswith("tuner/")}
        shown = ", ".join(f"{name}={_short(value)}" for name, value in sorted(values.items()))
        stage_text = stage
        if stage in self.stage_numbers:
            stage_text = f"{stage} ({self.stage_numbers[stage]}/{self.stage_count})"
        epochs = trial.hyperparameters.values.get(EPOCHS_VALUE)  # set by the oracle (oracles.ResumableOracleMixin)
        length = "" if epochs is None else f" ({epochs} epochs per fold)"
        self._print(
            f"trial {self.finished + 1}/{self.total} | stage {stage_text} | {tuner_id} "
            f"runs trial_{trial.trial_id}{length}: {shown}"
        )

    def trial_finished(self, trial, stage: str, metrics: dict | None = None) -> None:
        """Reports the end of ``trial``: score, best so far and estimated time left."""
        self.finished += 1
        if self.work_total is not None:
            work = trial_work(trial.hyperparameters.values)
            self.work_done += work
            self._finish_work.append(work)
        self.ran.append(trial.trial_id)
        now = time.perf_counter()
        self._finish_times.append(now)
        seconds = now - self._trial_started.pop(trial.trial_id, now)
        if trial.status == TrialStatus.COMPLETED and metrics:
            score = metrics["val_accuracy"]
            spread = metrics.get("val_accuracy_std", 0.0)
            outcome = f"val_accuracy {score:.4f} ± {spread:.4f}"
            if self.best is None or score > self.best:
                self.best = score
        else:
            outcome = f"FAILED ({trial.status})"
        best = "none yet" if self.best is None else f"{self.best:.4f}"
        self._print(
            f"trial {self.finished}/{self.total} done | stage {stage} | trial_{trial.trial_id} | "
            f"{outcome} | best so far {best} | {seconds:.1f} s | ETA {format_duration(self.eta())}"
        )
        for listener in self.listeners:
            listener(self)

    @property
    def session_finished(self) -> int:
        """Trials finished by this process."""
        return len(self._finish_times)

    def eta(self) -> float:
        """Seconds left: the trials left times the mean interval between the last few trials' ends.

        Recent trials predict the rest better than a mean since the start: a greedy sweep's later
        stages all train the architecture the first stages chose, which can cost several times
        the baseline's trial. Intervals between ends (not trial durations) count any gaps and any
        trials that run side by side on other workers.
        """
        if not self._finish_times:
            return 0.0
        marks = [self._session_started, *self._finish_times][-(RECENT_TRIALS + 1) :]
        if self.work_total is not None:  # trials of different lengths: seconds per unit of work
            recent = sum(self._finish_work[-(len(marks) - 1) :])
            if recent > 0:
                return (marks[-1] - marks[0]) / recent * max(0.0, self.work_total - self.work_done)
        per_trial = (marks[-1] - marks[0]) / (len(marks) - 1)
        return per_trial * max(0, self.total - self.finished)

    def message(self, text: str) -> None:
        """Prints any other sweep-level line (stage starts, final evaluation)."""
        self._print(text)


def trial_work(values: dict) -> float:
    """A trial's work: its epochs per fold times its share of the sweep's images (1 when not set)."""
    from emnist_tf.tuning.halving import IMAGES_SHARE_VALUE

    return float(values.get(EPOCHS_VALUE) or 1) * float(values.get(IMAGES_SHARE_VALUE) or 1.0)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
