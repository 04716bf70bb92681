"""Every private KerasTuner symbol the sweeps use lives in kt_adapter and still exists in the installed version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import emnist_tf
from emnist_tf.tuning import kt_adapter
from emnist_tf.tuning.oracles import CandidateOracle


@pytest.mark.parametrize(("owner", "attribute"), kt_adapter.PRIVATE_SYMBOLS)
def test_every_private_symbol_still_exists(owner, attribute):
    assert kt_adapter.resolve(owner, attribute) is not None


def test_a_moved_symbol_fails_loudly_naming_it():
    with pytest.raises(ImportError, match=r"keras_tuner.Tuner._no_such_method: adapt emnist_tf/tuning/kt_adapter.py"):
        kt_adapter.resolve("keras_tuner.Tuner", "_no_such_method")
    with pytest.raises(ImportError, match=r"keras_tuner.src.nowhere.Thing"):
        kt_adapter.resolve("keras_tuner.src.nowhere", "Thing")


def test_the_oracle_state_the_resume_logic_edits_exists(tmp_path):
    oracle = CandidateOracle({"x": 0}, [{"x": 1}])
    oracle._set_project_dir(str(tmp_path), "project")
    for name in kt_adapter.ORACLE_STATE_ATTRIBUTES:
        assert hasattr(oracle, name), f"KerasTuner oracles no longer have {name}: adapt kt_adapter.py"
    assert isinstance(kt_adapter.retry_queue(oracle), list)
    assert kt_adapter.oracle_state_file(oracle).endswith("oracle.json")


def test_no_other_module_reaches_into_kerastuner_privately():
    private = re.compile(r"keras_tuner\.src|\._get_tuner_fname|\._is_worker\(|\._get_oracle_fname|\._retry_queue")
    offenders = [
        str(path.relative_to(Path(emnist_tf.__file__).parent))
        for path in Path(emnist_tf.__file__).parent.rglob("*.py")
        if path.name != "kt_adapter.py" and private.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
