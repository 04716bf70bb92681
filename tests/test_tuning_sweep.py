"""A fast greedy sweep through the CLI, killed with SIGKILL mid-way and resumed; then its report."""

from __future__ import annotations

import csv
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emnist_tf.cli import main
from emnist_tf.tuning import greedy, space

HANG_GUARD_SECONDS = 3600
"""Only a hung sweep takes this long; the fast sweep ends in minutes even on a loaded 2-core machine."""
pytestmark = pytest.mark.timeout(2 * HANG_GUARD_SECONDS)  # the fixture runs a sweep twice: only hangs time out

STAGE_TRIAL = re.compile(r"stage (\w+)\b.* runs trial_(\d+)")


def _environment(emnist_dir):
    environment = {name: value for name, value in os.environ.items() if not name.startswith("KERASTUNER_")}
    environment.update(EMNIST_TF_FAST="1", EMNIST_TF_DATA=str(emnist_dir), TF_CPP_MIN_LOG_LEVEL="2")
    return environment


def _trial_states(directory):
    states = {}
    for path in glob.glob(os.path.join(directory, "projects", "*", "trial_*", "trial.json")):
        stage = os.path.basename(os.path.dirname(os.path.dirname(path))).split("_", 1)[1]
        with open(path) as stream:
            state = json.load(stream)
        states[(stage, state["trial_id"])] = state["status"]
    return states


def _started(output: str) -> list[tuple[str, str]]:
    return [match.groups() for match in STAGE_TRIAL.finditer(output)]


@pytest.fixture(scope="module")
def killed_and_resumed(emnist_dir, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("sweep") / "mlp-greedy")
    command = [
        sys.executable,
        "-m",
        "emnist_tf",
        "tune",
        "--model",
        "mlp",
        "--strategy",
        "greedy",
        "--folds",
        "2",
        "--epochs",
        "1",
        "--limit",
        "376",
        "--dir",
        directory,
        "--fast",
        "--recycle-after",
        "8",
    ]
    environment = _environment(emnist_dir)
    log = open(os.path.join(os.path.dirname(directory), "first.log"), "w")  # noqa: SIM115 (the child writes it)
    first = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    deadline = time.monotonic() + HANG_GUARD_SECONDS
    while time.monotonic() < deadline and first.poll() is None:
        if sum(status == "COMPLETED" for status in _trial_states(directory).values()) >= 3:
            break
        time.sleep(0.2)
    assert first.poll() is None, "the sweep ended before it could be killed"
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    log.close()
    at_kill = _trial_states(directory)
    second = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=HANG_GUARD_SECONDS)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-3000:]
    return {
        "directory": directory,
        "at_kill": at_kill,
        "resumed_output": second.stdout,
        "first_output": Path(log.name).read_text(),
    }


def test_resumed_sweep_runs_every_trial_exactly_once(killed_and_resumed):
    directory = killed_and_resumed["directory"]
    at_kill = killed_and_resumed["at_kill"]
    finished_before = {key for key, status in at_kill.items() if status == "COMPLETED"}
    unfinished_before = {key for key, status in at_kill.items() if status != "COMPLETED"}
    rerun = _started(killed_and_resumed["resumed_output"])
    assert not finished_before & set(rerun), "a finished trial was run again"
    assert unfinished_before <= set(rerun), "the trial running at the kill was not run again"
    assert len(rerun) == len(set(rerun))
    final_states = _trial_states(directory)
    assert set(final_states.values()) == {"COMPLETED"}
    assert len(final_states) == greedy.planned_trials("mlp", 2)
    rows = list(csv.DictReader(Path(os.path.join(directory, "results.csv")).read_text().splitlines()))
    per_trial = {}
    for row in rows:
        per_trial.setdefault((row["stage"], row["trial_id"]), []).append(row["fold"])
    assert set(per_trial) == set(final_states)
    assert all(sorted(folds) == ["0", "1"] for folds in per_trial.values())
    names = set(space.baseline_values("mlp"))
    assert names <= set(rows[0]) and all(row["epochs"] == "1" and float(row["seconds"]) > 0 for row in rows)


def test_every_stage_has_a_table_and_a_figure_and_the_test_comparison_is_reported(killed_and_resumed):
    directory = killed_and_resumed["directory"]
    for number, name in enumerate(space.stage_names("mlp")):
        stem = os.path.join(directory, "stages", greedy.project_name(number, name))
        assert os.path.getsize(f"{stem}.png") > 1000
        table = Path(f"{stem}.md").read_text()
        assert table.count("**winner**") == 1 and table.count("| completed |") >= 1
    final = {
        name: json.loads(Path(os.path.join(directory, "final", f"{name}.json")).read_text())
        for name in ("baseline", "best")
    }
    summary = Path(os.path.join(directory, "summary.md")).read_text()
    for result in final.values():
        assert f"{result['test_accuracy']:.4f}" in summary
    assert os.path.exists(os.path.join(directory, "final", "best", "model.keras"))
    assert glob.glob(os.path.join(directory, "tensorboard", "*", "events.out.tfevents.*"))
    assert "ETA" in killed_and_resumed["first_output"] and "best so far" in killed_and_resumed["resumed_output"]
    assert "restarting the process after 8 trials" in killed_and_resumed["resumed_output"]


def test_tune_report_prints_every_stage_and_rewrites_the_figures(killed_and_resumed, capsys):
    directory = killed_and_resumed["directory"]
    figure = os.path.join(directory, "stages", "02_activation.png")
    os.remove(figure)
    assert main(["tune-report", directory]) == 0
    output = capsys.readouterr().out
    for number, name in enumerate(space.stage_names("mlp")):
        assert f"### Stage {number}: {name}" in output
    assert "Test set: baseline vs final" in output
    assert os.path.exists(figure)


def test_train_config_on_the_sweeps_best_json_gets_the_sweeps_own_test_accuracy(
    killed_and_resumed, emnist_dir, tmp_path
):
    """One path: the sweep's end trains best.json exactly as ``emnist-tf train --config`` does."""
    directory = killed_and_resumed["directory"]
    reported = json.loads(Path(directory, "final", "best.json").read_text())
    best = json.loads(Path(directory, "best.json").read_text())
    assert reported["epochs"] == best["epochs"] and best["seed"] == 0
    run = tmp_path / "best"
    arguments = ["train", "--config", os.path.join(directory, "best.json"), "--limit", "376", "--out", str(run)]
    assert main([*arguments, "--data-dir", str(emnist_dir), "--fast"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert json.loads((run / "run.json").read_text())["train_examples"] == reported["train_examples"]
    assert metrics["test_examples"] == reported["test_examples"]
    assert metrics["accuracy"] == reported["test_accuracy"]
