"""Successive halving inside one greedy stage: which candidate trains next, and at which length.

A stage's candidates are first trained briefly (rung 0); the better part is promoted to a longer
trial with more images (rung 1), and so on; the stage is decided among the trials of the last
(longest) rung only, so a technique that pays off late is not rejected by a short trial. A rung
trains only when it has more candidates than it would promote: a stage of one or two candidates
trains them at the last rung straight away.

Everything here is pure logic on trial outcomes, so the oracle that runs a stage
(:class:`emnist_tf.tuning.oracles.CandidateOracle`) and the tests share it.

Example:
    >>> rung_sizes(6, rungs=2, growth=3)
    [6, 2]
    >>> next_trial(6, 2, 3, [TrialState(0, index, 0.5 + index / 100) for index in range(6)])
    ('run', 1, 4)
"""

from __future__ import annotations

import dataclasses
import math

RUNG_VALUE = "tuner/rung"
"""A trial value: the rung (0: the shortest) the trial belongs to."""
RUNGS_VALUE = "tuner/rungs"
"""A trial value: how many rungs its stage has (the last one decides)."""
CANDIDATE_VALUE = "tuner/candidate"
"""A trial value: the candidate's position in its stage."""
IMAGES_SHARE_VALUE = "tuner/images_share"
"""A trial value: the share of the sweep's training images the trial cross-validates on."""
LEAST_PROMOTED = 2
"""A rung promotes at least this many candidates (when it has them)."""


@dataclasses.dataclass(frozen=True)
class TrialState:
    """What the oracle knows of one trial of a stage.

    Attributes:
        rung: the trial's rung.
        candidate: the candidate's position in the stage.
        score: mean validation accuracy when completed; None while running or when failed.
        finished: whether the trial has ended (completed or failed).
    """

    rung: int
    candidate: int
    score: float | None
    finished: bool = True


@dataclasses.dataclass(frozen=True)
class Rung:
    """One trial length: epochs per fold and the share of the sweep's training images."""

    epochs: int
    images_share: float


def ladder(epochs: int, rungs: int, growth: int, longest_epochs: int | None = None) -> list[Rung]:
    """The rungs of a stage: rung ``r`` trains ``epochs * growth**r`` epochs (at most ``longest_epochs``)
    on ``1 / growth**(rungs - 1 - r)`` of the images, so the last rung trains on all of them.

    Example:
        >>> ladder(2, 2, 3)
        [Rung(epochs=2, images_share=0.3333333333333333), Rung(epochs=6, images_share=1.0)]
    """
    longest = longest_epochs or epochs * growth ** (rungs - 1)
    return [Rung(min(longest, epochs * growth**rung), 1.0 / growth ** (rungs - 1 - rung)) for rung in range(rungs)]


def promoted_count(count: int, growth: int) -> int:
    """How many of ``count`` candidates a rung promotes: a ``1/growth`` share, at least :data:`LEAST_PROMOTED`."""
    return min(count, max(LEAST_PROMOTED, math.ceil(count / growth)))


def trains(rung: int, rungs: int, count: int, growth: int) -> bool:
    """Whether a rung with ``count`` candidates trains them (the last always does; others only to halve)."""
    return rung == rungs - 1 or count > promoted_count(count, growth)


def rung_sizes(count: int, rungs: int, growth: int) -> list[int]:
    """Trials each rung runs for a stage of ``count`` candidates when no trial fails."""
    sizes = []
    for rung in range(rungs):
        if trains(rung, rungs, count, growth):
            sizes.append(count)
            count = promoted_count(count, growth)
        else:
            sizes.append(0)
    return sizes


def best_candidates(scores: dict[int, float | None], count: int) -> list[int]:
    """The ``count`` candidates with the highest scores (failed ones never), in stage order.

    Ties go to the earlier candidate.
    """
    ranked = sorted((index for index, score in scores.items() if score is not None), key=lambda i: (-scores[i], i))
    return sorted(ranked[:count])


def next_trial(count: int, rungs: int, growth: int, trials: list[TrialState]) -> tuple:
    """What a stage of ``count`` candidates runs next, given its trials so far.

    Returns:
        ``("run", rung, candidate)``, ``("wait",)`` while a rung's trials still run and the next
        rung depends on them, or ``("done",)``.
    """
    assigned = list(range(count))
    for rung in range(rungs):
        if not assigned:
            break
        if not trains(rung, rungs, len(assigned), growth):
            continue
        here = [trial for trial in trials if trial.rung == rung]
        proposed = {trial.candidate for trial in here}
        missing = [index for index in assigned if index not in proposed]
        if missing:
            return ("run", rung, missing[0])
        if rung == rungs - 1:
            break
        if not all(trial.finished for trial in here):
            return ("wait",)
        scores = {trial.candidate: trial.score for trial in here if trial.candidate in assigned}
        assigned = best_candidates(scores, promoted_count(len(assigned), growth))
    return ("done",)


def planned_trials(count: int, rungs: int, growth: int) -> int:
    """Trials of a stage of ``count`` candidates over every rung (none failing)."""
    return sum(rung_sizes(count, rungs, growth))
