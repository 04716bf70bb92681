"""KerasTuner's distributed mode on localhost: a chief oracle and two workers, fast mode."""

from __future__ import annotations

import collections
import csv
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emnist_tf.tuning import distributed, greedy, results, space
from emnist_tf.tuning.settings import load_settings

HANG_GUARD_SECONDS = 3600
"""Only hung processes take this long; on a loaded 2-core machine these sweeps take minutes."""
pytestmark = pytest.mark.timeout(HANG_GUARD_SECONDS + 300)  # only a hang times out

RAN = re.compile(r"runs trial_(\d+)")
GREEDY_RAN = re.compile(r"trial \d+/\d+ \| stage (\w+) \| worker\d runs trial_(\d+)( \(\d+ epochs per fold\))?: (.*)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run_chief_and_workers(emnist_dir, command):
    port = _free_port()
    base = {name: value for name, value in os.environ.items() if not name.startswith("KERASTUNER_")}
    base.update(EMNIST_TF_FAST="1", EMNIST_TF_DATA=str(emnist_dir), TF_CPP_MIN_LOG_LEVEL="2")
    processes = {}
    for tuner_id in ("chief", "worker0", "worker1"):
        environment = dict(base, **distributed.environment(tuner_id, port))
        processes[tuner_id] = subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    outputs = {}
    try:
        for tuner_id, process in processes.items():
            outputs[tuner_id], _ = process.communicate(timeout=HANG_GUARD_SECONDS)
            assert process.returncode == 0, f"{tuner_id} failed:\n{outputs[tuner_id][-3000:]}"
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    return outputs


def test_a_greedy_sweep_spreads_each_stage_over_two_workers_every_trial_once(emnist_dir, tmp_path):
    directory = tmp_path / "greedy"
    command = [sys.executable, "-m", "emnist_tf", "tune", "--model", "mlp", "--strategy", "greedy", "--folds", "2"]
    command += ["--epochs", "1", "--limit", "376", "--max-trials", "2", "--dir", str(directory), "--fast"]
    command += ["--confirm-epochs", "1"]  # the confirmation stage's trials carry their epochs to the workers
    outputs = _run_chief_and_workers(emnist_dir, command)
    ran = collections.Counter(
        found for worker in ("worker0", "worker1") for found in GREEDY_RAN.findall(outputs[worker])
    )
    assert not GREEDY_RAN.findall(outputs["chief"]), "the chief only serves the oracle"
    records = results.load_trials(directory)
    settings = load_settings(directory)
    planned = greedy.planned_trials("mlp", settings.max_trials, confirmation=True)
    assert len(records) == planned == settings.trial_budget() and all(r.completed for r in records)
    stages = {record.stage for record in records}
    assert len(stages) == len(space.stages("mlp", confirmation=True)) >= 3  # every stage, one after the other
    # A worker prints its own tuner's stage, and the confirmation's first candidate repeats the winner's values,
    # so lines can look alike: every trial completed and as many runs as trials means each ran once.
    assert sum(ran.values()) == len(records), "each trial once"
    assert RAN.findall(outputs["worker0"]) and RAN.findall(outputs["worker1"]), "both workers trained"
    outcome = greedy.replay(directory, "mlp")
    assert [stage.name for stage in outcome] == [stage.name for stage in space.stages("mlp", confirmation=True)]
    assert len(outcome[-1].records) == 2 and outcome[-1].carried is None
    assert all(length for _, _, length, _ in ran)  # every trial's epochs come from the chief's oracle
    assert (directory / "best.json").exists() and (directory / "baseline.json").exists()


def test_a_chief_and_two_workers_run_every_trial_exactly_once(emnist_dir, tmp_path):
    directory = str(tmp_path / "random")
    command = [
        sys.executable,
        "-m",
        "emnist_tf",
        "tune",
        "--model",
        "mlp",
        "--strategy",
        "random",
        "--folds",
        "2",
        "--epochs",
        "1",
        "--limit",
        "376",
        "--dir",
        directory,
        "--fast",
    ]
    outputs = _run_chief_and_workers(emnist_dir, command)
    ran = RAN.findall(outputs["worker0"]) + RAN.findall(outputs["worker1"])
    assert not RAN.findall(outputs["chief"]), "the chief only serves the oracle"
    records = results.load_trials(directory)
    assert len(records) == 2 and all(record.completed for record in records)
    assert sorted(ran) == sorted(record.trial_id for record in records), "each trial ran exactly once"
    rows = list(csv.DictReader(Path(os.path.join(directory, "results.csv")).read_text().splitlines()))
    assert sorted((row["trial_id"], row["fold"]) for row in rows) == sorted(
        (record.trial_id, fold) for record in records for fold in ("0", "1")
    )
    assert os.path.exists(os.path.join(directory, "final", "best", "model.keras"))
    assert "worker done" in outputs["worker0"] and "worker done" in outputs["worker1"]
