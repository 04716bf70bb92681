"""The flat public API, fast mode and the command line's plumbing."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import emnist_tf
from emnist_tf import config


def test_every_public_name_resolves():
    for name in emnist_tf.__all__:
        assert getattr(emnist_tf, name) is not None, name


def test_public_names_come_from_where_the_table_says():
    for name, module in emnist_tf._EXPORTS.items():
        assert getattr(importlib.import_module(module), name) is getattr(emnist_tf, name)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = emnist_tf.nope


def test_fast_mode_caps_only_when_on(monkeypatch):
    monkeypatch.setenv(config.FAST_ENV, "0")
    assert not config.fast_mode() and config.cap(50, "epochs") == 50 and config.cap(None, "trials") is None
    monkeypatch.setenv(config.FAST_ENV, "1")
    assert config.fast_mode() and config.cap(50, "epochs") == config.FAST_LIMITS.epochs
    assert config.cap(None, "train_examples") == config.FAST_LIMITS.train_examples
    assert config.cap(0, "epochs") == 0
    with pytest.raises(ValueError, match="unknown fast-mode limit 'epoch'"):
        config.cap(3, "epoch")


def test_fast_flag_turns_fast_mode_on_for_the_command(monkeypatch):
    import emnist_tf.cli.data as data_command
    from emnist_tf.cli import main

    monkeypatch.delenv(config.FAST_ENV)
    seen = []
    monkeypatch.setattr(data_command, "run_info", lambda args: seen.append(config.fast_mode()) or 0)
    assert main(["data", "info"]) == 0 and seen == [False]
    assert main(["data", "info", "--fast"]) == 0 and seen == [False, True]


def test_python_dash_m_runs_the_command_line():
    result = subprocess.run([sys.executable, "-m", "emnist_tf", "--help"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "data" in result.stdout
