"""Where the assignment keeps its parts inside ``--out``.

* ``sweeps/<kind>/``: one sweep folder per model kind (with ``best.json`` and ``baseline.json``);
* ``runs/<kind>-<baseline|best>/``: one evaluated run folder per final training;
* ``report.html``: the hand-in page; ``assignment.json``: the settings, checked on resume.
"""

from __future__ import annotations

from pathlib import Path

SWEEPS = "sweeps"
RUNS = "runs"
REPORT_FILE = "report.html"
CONFIGURATIONS = ("baseline", "best")


def run_dir(out, kind: str, name: str) -> Path:
    """The run folder of one final training, e.g. ``OUT/runs/cnn-best``."""
    return Path(out) / RUNS / f"{kind}-{name}"


def sweep_dir(out, kind: str) -> Path:
    """The sweep folder of one model kind, e.g. ``OUT/sweeps/mlp``."""
    return Path(out) / SWEEPS / kind
