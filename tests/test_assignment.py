"""``emnist-tf assignment --budget fast`` end to end: killed (SIGKILL) in a sweep and in the final training,
resumed by the same command, then its report, which must equal the report of a run never interrupted;
the final runs trained from the sweeps' best.json. One fixture runs the assignment (killed twice and
resumed) beside one run never interrupted; every test only reads their results."""

from __future__ import annotations

import collections
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest

from emnist_tf.assignment import pipeline
from emnist_tf.tuning import configs, greedy, space
from emnist_tf.tuning.sweep import load_settings

TRIAL_DONE = re.compile(r"\[tune\] trial \d+/\d+ done \| stage (\w+) \| trial_(\d+)")
HANG_GUARD_SECONDS = 3600
"""Only a hung run takes this long: the fast budget ends in minutes even on a loaded 2-core machine."""

# The fixture runs the assignment four times (three resumed parts and one uninterrupted run); the
# project-wide pytest timeout would turn a busy machine into a failure, so only hangs time out here.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2 * HANG_GUARD_SECONDS)]
SWEEP_STAGE = re.compile(r"\[assignment\] stage (\d)/7: sweep (\w+)")
TRAIN_DONE = re.compile(r"\[assignment\] train (\S+) done")


def _environment(emnist_dir):
    environment = {name: value for name, value in os.environ.items() if not name.startswith("KERASTUNER_")}
    environment.update(EMNIST_TF_FAST="1", EMNIST_TF_DATA=str(emnist_dir), TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg")
    return environment


def _run_until(command, environment, log_path: Path, should_kill, timeout=HANG_GUARD_SECONDS) -> bool:
    """Runs ``command``; SIGKILLs it as soon as ``should_kill(log so far)``; True if it was killed.

    ``timeout`` only guards against a hung process; it is no speed requirement."""
    with open(log_path, "w") as log:
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
        deadline = time.monotonic() + timeout
        while child.poll() is None and time.monotonic() < deadline:
            if should_kill is not None and should_kill(log_path.read_text()):
                os.kill(child.pid, signal.SIGKILL)
                child.wait()
                return True
            time.sleep(0.2)
        if child.poll() is None:
            child.kill()
            child.wait()
            pytest.fail(
                f"the assignment seems to hang (still running after {timeout} s): {log_path.read_text()[-2000:]}"
            )
    assert child.returncode == 0, log_path.read_text()[-3000:]
    return False


@pytest.fixture(scope="module")
def assignment(emnist_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("assignment")
    out, reference = folder / "out", folder / "reference"
    command = [sys.executable, "-m", "emnist_tf", "assignment", "--budget", "fast", "--fast", "--out"]
    environment = _environment(emnist_dir)
    logs = [folder / f"run{index}.log" for index in range(3)]

    def in_the_sweep(text):  # a few MLP trials finished, the sweep goes on
        return len(TRIAL_DONE.findall(text)) >= 3

    def in_the_final_training(text):  # the first final run has started (it lasts a few seconds)
        return "stage 3/7: train mlp-baseline" in text

    with open(folder / "reference.log", "w") as reference_log:  # the same command, never interrupted
        uninterrupted = subprocess.Popen(
            [*command, str(reference)], stdout=reference_log, stderr=subprocess.STDOUT, env=environment
        )
        try:
            killed_in_sweep = _run_until([*command, str(out)], environment, logs[0], in_the_sweep)
            killed_in_training = _run_until([*command, str(out)], environment, logs[1], in_the_final_training)
            at_training_kill = sorted(path.name for path in (out / pipeline.RUNS).glob("*"))
            _run_until([*command, str(out)], environment, logs[2], None)
            uninterrupted.wait(timeout=HANG_GUARD_SECONDS)
        finally:
            uninterrupted.kill()
    assert uninterrupted.returncode == 0, (folder / "reference.log").read_text()[-3000:]
    return {
        "out": out,
        "reference": reference,
        "logs": [path.read_text() for path in logs],
        "killed": (killed_in_sweep, killed_in_training),
        "at_training_kill": at_training_kill,
    }


def test_both_kills_happened_where_intended(assignment):
    assert assignment["killed"] == (True, True)
    first, second, _ = assignment["logs"]
    assert "sweep mlp" in first and "train mlp-baseline" not in first
    assert "train mlp-baseline" in second and "train mlp-baseline done" not in second
    assert "mlp-baseline" not in assignment["at_training_kill"]  # a killed run leaves no run folder


def test_every_trial_and_training_run_ran_exactly_once(assignment):
    out = assignment["out"]
    finished = collections.Counter()
    trained = collections.Counter()
    for log in assignment["logs"]:
        kind = None
        for line in log.splitlines():
            stage = SWEEP_STAGE.search(line)
            kind = stage.group(2) if stage else kind
            done = TRIAL_DONE.search(line)
            if done:
                finished[(kind, *done.groups())] += 1
            trained.update(TRAIN_DONE.findall(line))
    assert finished and max(finished.values()) == 1, [key for key, count in finished.items() if count > 1]
    for kind in ("mlp", "cnn"):
        settings = load_settings(pipeline.sweep_dir(out, kind))
        assert settings.confirmation_epochs is not None  # every budget ends its sweeps with a confirmation
        planned = settings.trial_budget()
        assert settings.rungs > 1  # each stage by successive halving
        # with several rungs the confirmation stage trains one trial: the winner with the default's techniques
        assert planned == greedy.planned_trials(kind, settings.max_trials, rungs=settings.rungs) + 1
        assert sum(1 for key in finished if key[0] == kind) == planned
        trial_files = list((pipeline.sweep_dir(out, kind) / "projects").glob("*/trial_*/trial.json"))
        assert len(trial_files) == planned
        assert all(json.loads(path.read_text())["status"] == "COMPLETED" for path in trial_files)
    assert trained == {f"{kind}-{name}": 1 for kind in ("mlp", "cnn") for name in ("baseline", "best")}


def test_the_report_names_the_winners_and_shows_every_part(assignment):
    out = assignment["out"]
    page = (out / pipeline.REPORT_FILE).read_text()
    for text in (
        "Winner of the MLP sweep",
        "Winner of the CNN sweep",
        "MLP: baseline versus winner",
        "CNN: baseline versus winner",
        "Part 2: the best MLP versus the best CNN",
        "Training curves",
        "First six test images",
        "Confusion matrix",
        "precision",
        "recall",
    ):
        assert text in page, text
    assert len(re.findall(r"the (MLP|CNN) winner (beat|did not beat|only tied with) its baseline", page)) == 2
    stages = len(space.stages("mlp", confirmation=True)) + len(space.stages("cnn", confirmation=True))
    # each sweep's confirmation stage tries the default's techniques at the last rung; every stage says its length
    assert page.count("This last stage tries the winner with the default model's") == 2
    assert page.count("successive halving") == 2 and page.count("<p>Decided at ") == stages
    assert page.count("data:image/png;base64,") >= stages + 1 + 2 * 3  # stage figures, comparison, run figures
    assert "<script" not in page and 'src="http' not in page  # self-contained
    for kind in ("mlp", "cnn"):
        for name in pipeline.CONFIGURATIONS:
            metrics = json.loads((pipeline.run_dir(out, kind, name) / "metrics.json").read_text())
            assert {"accuracy", "precision_macro", "recall_macro", "f1_macro", "per_class"} <= set(metrics)


TIMING_KEYS = {"train_seconds", "seconds_per_epoch", "epoch_seconds", "saved_at", "evaluated_at"}


def _blank(value):
    if isinstance(value, list):
        return [_blank(item) for item in value]
    return "1970-01-01T00:00:00+00:00" if isinstance(value, str) else 0.0


def _without_timings(value):
    """A run's JSON with wall-clock times and timestamps blanked: the only things two runs may differ in."""
    if isinstance(value, dict):
        return {key: _blank(item) if key in TIMING_KEYS else _without_timings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_timings(item) for item in value]
    return value


def _sweep_rows(out, kind):
    with open(pipeline.sweep_dir(out, kind) / "results.csv", newline="") as table:
        return [{key: value for key, value in row.items() if key != "seconds"} for row in csv.DictReader(table)]


def test_the_resumed_assignment_equals_one_never_interrupted(assignment, emnist_dir, tmp_path):
    from emnist_tf.assignment.report import write_report

    out, reference = assignment["out"], assignment["reference"]
    for kind in ("mlp", "cnn"):
        assert _sweep_rows(out, kind) == _sweep_rows(reference, kind)  # every trial, fold by fold
        for name in pipeline.CONFIGURATIONS:
            assert (pipeline.sweep_dir(out, kind) / f"{name}.json").read_text() == (
                pipeline.sweep_dir(reference, kind) / f"{name}.json"
            ).read_text()
    pages = []
    for source in (out, reference):  # the same report once the clocks are blanked (figures included)
        copy = shutil.copytree(source, tmp_path / source.name)
        for path in (copy / pipeline.RUNS).glob("*/*.json"):
            path.write_text(json.dumps(_without_timings(json.loads(path.read_text()))))
        page = write_report(copy, data_dir=emnist_dir).read_text()
        pages.append(re.sub(r"Generated [^<]*? by", "Generated by", page).replace(str(copy), "OUT"))
    assert pages[0].count("data:image/png;base64,") >= 10
    assert pages[0] == pages[1]


def _layer_facts(model):
    facts = []
    for layer in model.layers:
        config = layer.get_config()
        facts.append(
            (
                type(layer).__name__,
                layer.name,
                config.get("units"),
                config.get("filters"),
                config.get("activation"),
                config.get("rate"),
                (config.get("kernel_regularizer") or {}).get("class_name"),
            )
        )
    return facts


def test_the_final_run_is_the_sweeps_winner_trained_from_best_json(assignment):
    """The final run trains best.json (the path of ``emnist-tf train --config``) into the winner's architecture."""
    import keras_tuner

    out = assignment["out"]
    sweep = pipeline.sweep_dir(out, "cnn")
    best = greedy.replay(sweep, "cnn")[-1].winner
    trained = keras.models.load_model(pipeline.run_dir(out, "cnn", "best") / "model.keras")
    hypermodel = space.make_hypermodel("cnn", num_classes=47)
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    hp.values.update(best.values)
    assert _layer_facts(trained) == _layer_facts(hypermodel.build(hp))
    run = json.loads((pipeline.run_dir(out, "cnn", "best") / "run.json").read_text())
    configuration = configs.load_config(sweep / configs.BEST_FILE)
    assert run["architecture"] == configuration["architecture"] and run["epochs"] == configuration["epochs"]
    assert run["seed"] == configuration["seed"] == 0


def test_another_budget_in_the_same_folder_is_refused_in_one_line(assignment, capsys, monkeypatch):
    from emnist_tf import config
    from emnist_tf.cli import main

    monkeypatch.delenv(config.FAST_ENV)  # fast mode would run the fast budget whatever budget is named
    assert main(["assignment", "--out", str(assignment["out"]), "--budget", "evening"]) == 2
    error = capsys.readouterr().err.strip()
    assert "other settings" in error and "\n" not in error and "--" not in error
    assert "assignment.json" in error  # the file that holds the folder's settings
