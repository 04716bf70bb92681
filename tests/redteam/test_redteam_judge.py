"""Red team: exports crafted by hand reach the judge, which must refuse them cheaply.

Inside the sandbox the student can rewrite the grader's exporter, so any
bytes may arrive as an exported ``.npy`` or ``.keras`` file. The judge must
refuse what would make it misbehave: a few hundred bytes asking for gigabytes.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from emnist_tf.grading import judge

REPO = Path(__file__).resolve().parents[2]


def _huge_model_archive(units: int = 30000) -> bytes:
    """A Sequential model whose single Dense layer holds units x units float32 weights (3.6 GB for 30000)."""
    dense = {
        "module": "keras.layers",
        "class_name": "Dense",
        "registered_name": None,
        "config": {"name": "dense", "units": units, "activation": "linear", "use_bias": True},
        "build_config": {"input_shape": [None, units]},
    }
    layer_in = {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "registered_name": None,
        "config": {"batch_shape": [None, units], "dtype": "float32", "name": "in"},
    }
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "huge", "layers": [layer_in, dense]}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", b"")
    return buffer.getvalue()


def _bare_judge(scratch: Path) -> judge.Judge:
    """A judge without a sandbox whose scratch folder (where it reads exports beneath) is ``scratch``."""
    bare = judge.Judge.__new__(judge.Judge)
    bare.scratch = scratch
    return bare


def _import_one(tmp_path: Path, item: dict, files: dict[str, bytes]):
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "manifest.json").write_text(json.dumps({"x": item}))
    values, problems = _bare_judge(tmp_path)._import(tmp_path, ["x"])
    return values, problems


def test_an_array_of_zero_size_items_claiming_trillions_of_elements_is_refused(tmp_path):
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3, dtype="V0"))
    header = buffer.getvalue().replace(b"(3,)", b"(1099511627776,)")  # 2**40 items of 0 bytes: iterating never ends
    values, problems = _import_one(tmp_path, {"t": "array", "file": "v0.npy"}, {"v0.npy": header})
    assert "x" not in values and "x" in problems


def test_a_model_archive_that_unpacks_to_more_than_the_export_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(judge, "MAX_EXPORT_BYTES", 10_000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", " " * 50_000)  # a zip bomb in miniature: 50 kB from a few hundred bytes
    assert len(buffer.getvalue()) < 1000
    with pytest.raises(judge.ExportError, match="too much"):
        judge.Importer(tmp_path, None)._model(buffer.getvalue())


@pytest.mark.slow
def test_a_model_config_asking_for_gigabytes_fails_inside_the_judges_memory_cap(tmp_path):
    """Before the cap, loading this 700-byte export held 11.8 GB in the judge for 107 s.

    Under the cap TensorFlow either raises or crashes the judge (then only
    this student's notebook is "not graded"); either way its memory stays small.
    """
    (tmp_path / "huge.keras").write_bytes(_huge_model_archive())
    program = f"""
from pathlib import Path
from emnist_tf.grading import judge
from emnist_tf.grading.sandbox import Limits
judge.limit_own_memory(Limits(memory_mb=1024))
try:
    judge.Importer(None, None)._model(Path({str(tmp_path / "huge.keras")!r}).read_bytes())
    print("LOADED")
except Exception as error:
    print("REFUSED", type(error).__name__)
"""
    child = subprocess.Popen(
        [sys.executable, "-c", program],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    _, status, usage = os.wait4(child.pid, 0)
    output = child.stdout.read().decode()
    assert "LOADED" not in output
    assert "REFUSED" in output or os.WIFSIGNALED(status) or os.WEXITSTATUS(status) != 0
    assert usage.ru_maxrss < 3 * 1024 * 1024, f"the judge held {usage.ru_maxrss} kB"


def test_a_manifest_nested_past_the_recursion_limit_fails_one_value_not_the_notebook(tmp_path):
    (tmp_path / "manifest.json").write_text('{"x": ' + '{"t": "list", "items": [' * 100_000 + "]}" * 100_000 + "}")
    values, problems = _bare_judge(tmp_path)._import(tmp_path, ["x"])
    assert values == {} and "x" in problems
