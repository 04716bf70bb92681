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


SHARED_RUNS = ("course_grades", "executed_solutions")  # fixtures that run many notebooks for many tests
SHARED_RUN_HANG_GUARD = 6 * 3600  # seconds; the first test to use one waits for the whole shared run


def pytest_collection_modifyitems(items):
    """Tests that use a shared run of notebooks get a hang guard far above its length on a loaded machine."""
    for item in items:
        if set(SHARED_RUNS) & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.timeout(SHARED_RUN_HANG_GUARD))


@pytest.fixture(scope="session")
def course_grades(request, emnist_dir, tmp_path_factory):
    """The real course notebooks handed in by the selected test files, graded in one run (tests/course_grading.py)."""
    import course_grading

    return course_grading.grade_course(request.session.items, tmp_path_factory.mktemp("course-grading"))


@pytest.fixture(params=["float32", "mixed_float16"])
def precision(request):
    """Runs a test under both precision policies (mixed_float16 is the GPU path, forced on the CPU here)."""
    import keras

    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy(previous)
