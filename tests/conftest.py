"""Shared fixtures: where the real EMNIST files are, and fast mode for every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emnist_tf import config


@pytest.fixture(autouse=True, scope="session")
def _fast_mode_for_the_session():
    """Fast mode from the start of the session, so module- and session-scoped fixtures are capped too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(config.FAST_ENV, "1")
        yield


@pytest.fixture(autouse=True)
def _fast_mode(_fast_mode_for_the_session, monkeypatch):
    """Every test runs in fast mode unless it switches it off itself (with monkeypatch.delenv)."""
    monkeypatch.setenv(config.FAST_ENV, "1")


@pytest.fixture(scope="session")
def emnist_dir() -> Path:
    """The folder of real EMNIST files named by EMNIST_TF_DATA; skips the test when unset."""
    value = os.environ.get(config.DATA_ENV)
    if not value:
        pytest.skip(f"needs real EMNIST files: set {config.DATA_ENV} to a folder of NIST's gzip IDX files")
    folder = Path(value)
    if not folder.is_dir():
        pytest.skip(f"{config.DATA_ENV}={value} is not a folder")
    return folder.resolve()


@pytest.fixture(scope="session")
def digits(emnist_dir):
    """3,000 training and 1,000 test images of real EMNIST digits: ``((x, y), (x, y))``."""
    from emnist_tf import data

    train = data.load_arrays("digits", "train", data_dir=emnist_dir, limit=3000, seed=0)
    test = data.load_arrays("digits", "test", data_dir=emnist_dir, limit=1000, seed=0)
    return train, test
