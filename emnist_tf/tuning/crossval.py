"""Cross-validation inside every KerasTuner trial.

KerasTuner scores a Keras model on one validation set. :class:`CrossValidationTuner`
instead trains a fresh model on each of ``folds`` stratified folds, reports the
mean validation accuracy as the trial's score and keeps every fold's accuracy,
epochs and seconds as trial metrics (so they travel to the chief oracle in a
distributed sweep). A trial that goes NaN, runs out of memory or raises is
recorded as failed with a one-line reason, and the search carries on.

Example:
    >>> tuner = CrossValidationTuner(oracle=make_oracle("random", max_trials=4, epochs=2),
    ...                              hypermodel=make_hypermodel("mlp"), folds=3,
    ...                              directory="sweep", project_name="search")
    >>> tuner.search(images, labels)
"""

from __future__ import annotations

import gc
import math
import os
import time

import keras
import keras_tuner
import numpy as np

from emnist_tf.tuning import distributed, kt_adapter
from emnist_tf.tuning.halving import IMAGES_SHARE_VALUE
from emnist_tf.tuning.oracles import atomic_write_json
from emnist_tf.tuning.results import FAILURE_FILE, fold_metric


class CrossValidationTuner(keras_tuner.Tuner):
    """A KerasTuner ``Tuner`` whose ``run_trial`` runs stratified k-fold cross-validation.

    Args:
        oracle: a KerasTuner oracle (see :mod:`emnist_tf.tuning.oracles`).
        hypermodel: an :mod:`emnist_tf.tuning.space` hypermodel.
        folds: number of stratified folds per trial (at least 2).
        seed: seeds the fold split.
        progress: optional :class:`emnist_tf.tuning.progress.Progress` to report to.
        stage: stage name shown in progress lines.
        **kwargs: ``directory``, ``project_name``, ``overwrite`` for KerasTuner.
    """

    def __init__(
        self,
        oracle,
        hypermodel,
        *,
        folds: int = 3,
        seed: int = 0,
        progress=None,
        stage: str = "search",
        **kwargs,
    ):
        if folds < 2:
            raise ValueError(f"cross-validation needs at least 2 folds, got {folds}; pass folds=2 or more")
        _make_reload_possible(kwargs.get("directory"), kwargs.get("project_name"))
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)
        self.folds = folds
        self.seed = seed
        self.progress = progress
        self.stage = stage
        self.last_metrics = None

    # ----------------------------------------------------------------- trials
    def run_trial(self, trial, images, labels, **kwargs):
        """Trains one model per fold, for the epochs the trial's values say, and returns the trial's metrics dict."""
        from emnist_tf import data

        hp = trial.hyperparameters
        try:
            epochs = int(hp.values[kt_adapter.EPOCHS_VALUE])  # the oracle decided (oracles.ResumableOracleMixin)
            images, labels = _share(images, labels, hp.values.get(IMAGES_SHARE_VALUE), self.seed)
            metrics = {}
            scores = []
            for fold, (train_index, validation_index) in enumerate(
                data.stratified_folds(labels, folds=self.folds, seed=self.seed)
            ):
                score, epochs_run, seconds, last_epoch_seconds = self._run_fold(
                    hp,
                    fold,
                    images[train_index],
                    labels[train_index],
                    images[validation_index],
                    labels[validation_index],
                    epochs,
                )
                scores.append(score)
                metrics[fold_metric(fold, "val_accuracy")] = score
                metrics[fold_metric(fold, "epochs")] = float(epochs_run)
                metrics[fold_metric(fold, "seconds")] = seconds
                metrics[fold_metric(fold, "images")] = float(len(train_index))
                if last_epoch_seconds is not None:
                    metrics[fold_metric(fold, "last_epoch_seconds")] = last_epoch_seconds
        except keras_tuner.errors.FailedTrialError as error:
            self._record_failure(trial, str(error))
            raise
        except Exception as error:  # noqa: BLE001 - any failure fails the trial, not the sweep
            reason = f"{type(error).__name__}: {_first_line(str(error))}"
            self._record_failure(trial, reason)
            raise keras_tuner.errors.FailedTrialError(reason) from error
        finally:
            _free_memory()
        metrics["val_accuracy"] = float(np.mean(scores))
        metrics["val_accuracy_std"] = float(np.std(scores))
        metrics["folds"] = float(len(scores))
        self.last_metrics = metrics
        return metrics

    def _run_fold(self, hp, fold, train_images, train_labels, validation_images, validation_labels, epochs):
        _free_memory()
        keras.utils.set_random_seed(self.seed + fold)
        started = time.perf_counter()
        model = self.hypermodel.build(hp)
        history = self.hypermodel.fit(
            hp,
            model,
            train_images,
            train_labels,
            validation_data=(validation_images, validation_labels),
            epochs=epochs,
            callbacks=[keras.callbacks.TerminateOnNaN()],
        )
        seconds = time.perf_counter() - started
        losses = history.history.get("loss", [])
        accuracies = history.history.get("val_accuracy", [])
        bad = [index for index, value in enumerate(losses) if not math.isfinite(value)]
        if bad or not accuracies or not math.isfinite(accuracies[-1]):
            epoch = (bad[0] if bad else len(losses) - 1) + 1
            raise keras_tuner.errors.FailedTrialError(f"NaN loss in fold {fold + 1} at epoch {epoch}")
        del model
        epoch_seconds = history.history.get("epoch_seconds") or [None]  # absent from a plain Keras History
        return float(accuracies[-1]), len(losses), seconds, epoch_seconds[-1]

    def _record_failure(self, trial, reason: str) -> None:
        path = os.path.join(self.get_trial_dir(trial.trial_id), FAILURE_FILE)
        atomic_write_json(path, {"trial_id": trial.trial_id, "reason": reason, "tuner_id": self.tuner_id})

    # ------------------------------------------------------- KerasTuner hooks
    def search(self, *fit_args, **fit_kwargs):
        """Runs the search; a chief oracle serves the workers instead (see :mod:`.distributed`)."""
        if kt_adapter.is_chief_oracle():
            self.save()
            distributed.serve_oracle(self.oracle)
            return
        fit_kwargs.setdefault("verbose", 0)
        super().search(*fit_args, **fit_kwargs)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        self.last_metrics = None
        if self.progress is not None:
            self.progress.trial_started(trial, stage=self.stage, tuner_id=self.tuner_id)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.progress is not None:
            self.progress.trial_finished(trial, stage=self.stage, metrics=self.last_metrics)

    def save(self):
        atomic_write_json(kt_adapter.tuner_state_file(self), self.get_state())
        if not kt_adapter.is_worker(self):
            self.oracle.save()

    def save_model(self, trial_id, model, step=0):
        """Models are not kept per trial: the best configuration is retrained at the end."""

    def load_model(self, trial):
        raise NotImplementedError("models are not kept per trial; retrain the best hyperparameters")


def _make_reload_possible(directory, project_name) -> None:
    """KerasTuner reloads a project only when the tuner file exists; a kill before the
    first trial ended leaves ``oracle.json`` without it. Create an empty tuner file then."""
    if directory is None or project_name is None:
        return
    project = os.path.join(str(directory), project_name)
    tuner_file = os.path.join(project, f"{os.environ.get('KERASTUNER_TUNER_ID', 'tuner0')}.json")
    if os.path.exists(os.path.join(project, "oracle.json")) and not os.path.exists(tuner_file):
        atomic_write_json(tuner_file, {})


def _share(images, labels, share, seed: int):
    """A stratified ``share`` of the images (a short rung of a stage, :mod:`.halving`); all of them for None or 1."""
    from emnist_tf import data

    if share is None or share >= 1:
        return images, labels
    chosen = data.stratified_subsample(labels, max(1, round(len(labels) * share)), seed=seed)
    return images[chosen], labels[chosen]


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else "no message"


def _free_memory() -> None:
    keras.backend.clear_session()
    gc.collect()
