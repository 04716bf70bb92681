"""The one fast-mode switch, decided at the edges.

Fast mode (``EMNIST_TF_FAST=1`` or ``--fast`` on any command) caps the number of
examples, epochs, tuner trials, folds, gradient-ascent steps and episodes, so that
CI, the notebook checks and a student on a laptop finish in seconds instead of
hours. Full runs are for benchmarks and users.

It is read only at the edges: the command-line handlers, the notebooks' setup cell,
recipe-level functions (a sweep, the assignment pipeline, the report writers) and
the tests. Primitives (``load_arrays``, ``train``, ``pgd``, ``maximize``,
``Network.fit``, the probes, the few-shot episodes) do exactly what their arguments
say: the edge passes them ``cap(value, ...)``.

Example:
    >>> from emnist_tf import config
    >>> epochs = config.cap(20, "epochs")   # 20, or 1 in fast mode
"""

from __future__ import annotations

import dataclasses
import os
import sys

FAST_ENV = "EMNIST_TF_FAST"
DATA_ENV = "EMNIST_TF_DATA"

_TRUE_WORDS = {"1", "true", "yes", "on"}


@dataclasses.dataclass(frozen=True)
class FastLimits:
    """Upper bounds applied to every run in fast mode.

    Attributes:
        train_examples: training images loaded per split (stratified subsample).
        test_examples: test images loaded per split (stratified subsample).
        epochs: training epochs.
        trials: tuner trials per search or stage.
        folds: cross-validation folds.
        steps: gradient-ascent and attack iterations.
        episodes: few-shot episodes.
        examples: any other "how many examples" argument (probes, galleries...).
    """

    train_examples: int = 3000
    test_examples: int = 1000
    epochs: int = 1
    trials: int = 2
    folds: int = 2
    steps: int = 20
    episodes: int = 20
    examples: int = 1000


FAST_LIMITS = FastLimits()


def fast_mode() -> bool:
    """Returns True when fast mode is on (``EMNIST_TF_FAST`` is 1/true/yes/on)."""
    return os.environ.get(FAST_ENV, "").strip().lower() in _TRUE_WORDS


def set_fast_mode(enabled: bool = True) -> None:
    """Turns fast mode on or off for this process and the processes it starts.

    It is stored in the environment so that notebook kernels, tuner workers and
    other subprocesses inherit it.
    """
    if enabled:
        os.environ[FAST_ENV] = "1"
    else:
        os.environ.pop(FAST_ENV, None)


def cap(value: int | None, limit: str, *, say: str | None = None) -> int | None:
    """Caps ``value`` by the fast-mode limit named ``limit`` when fast mode is on.

    Args:
        value: the requested amount; ``None`` means "all".
        limit: a field name of :class:`FastLimits`, e.g. ``"epochs"``.
        say: what the value is (e.g. ``"PGD steps"``); when given and fast mode lowers
            a value the user set, one line on standard error says so.

    Returns:
        ``value`` unchanged outside fast mode; otherwise the smaller of ``value``
        and the limit (the limit itself when ``value`` is ``None``).

    Raises:
        ValueError: if ``limit`` is not a field of :class:`FastLimits`.
    """
    names = [field.name for field in dataclasses.fields(FastLimits)]
    if limit not in names:
        raise ValueError(f"unknown fast-mode limit {limit!r}; choose one of {', '.join(names)}")
    if not fast_mode():
        return value
    bound = getattr(FAST_LIMITS, limit)
    if value is None:
        return bound
    if say is not None and value > bound:
        print(f"fast mode: {say} capped at {bound} (asked for {value})", file=sys.stderr)
    return min(value, bound)
