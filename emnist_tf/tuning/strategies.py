"""Sweep strategies by name: :data:`STRATEGIES` maps a name to the object that runs it.

A strategy decides which trials a sweep runs and how its outcome reads in the report. Two
families implement the small :class:`Strategy` interface:

* :class:`StagedStrategy`: a sequence of stages (:class:`emnist_tf.tuning.space.Stage`), each
  a KerasTuner project whose candidates change a few hyperparameters of the best configuration
  so far; the winner is carried forward (:mod:`.greedy` runs them). ``greedy`` is one.
* :class:`JointStrategy`: one KerasTuner oracle over the whole space (``random``, ``bayesian``,
  ``hyperband``).

Adding a strategy is one class registered here, e.g. a staged strategy that skips the
architecture stage::

    class NoArchitecture(StagedStrategy):
        name = "no-architecture"

        def stages(self, kind, confirmation=False):
            return tuple(stage for stage in super().stages(kind, confirmation) if stage.name != "architecture")

    STRATEGIES["no-architecture"] = NoArchitecture()

This module imports neither TensorFlow nor KerasTuner at load time, so the command line lists
the names cheaply; the modules that do the work are imported when a strategy runs.
"""

from __future__ import annotations

import os

JOINT_PROJECT = "00_search"
"""KerasTuner project folder of a joint search."""


class Strategy:
    """How a sweep chooses its trials (the interface every registered strategy implements)."""

    name = ""

    def check(self, settings) -> None:
        """Raises ``ValueError`` for settings this strategy cannot run (default: a confirmation stage, rungs)."""
        if settings.confirmation_epochs is not None:
            raise ValueError(f"a confirmation stage needs a staged strategy such as greedy, not {self.name}")
        if settings.rungs > 1:
            raise ValueError(f"rungs within stages need a staged strategy such as greedy, not {self.name}")

    def planned_trials(
        self, kind: str, max_trials: int | None, confirmation: bool = False, *, rungs: int = 1, growth: int = 3
    ) -> int | None:
        """How many trials the sweep runs with these settings (``rungs``, ``growth``: a staged sweep's halving)."""
        raise NotImplementedError

    def planned_work(self, settings) -> float | None:
        """The sweep's work in epochs per fold times images share (:func:`.progress.trial_work`); None: unknown."""
        return None

    def resolve_trials(self, kind: str, max_trials: int | None) -> int | None:
        """The ``max_trials`` setting to store when the user gave ``max_trials`` (None: the default)."""
        return max_trials

    def search(self, directory, settings, hypermodel, train, progress) -> tuple[dict, dict | None]:
        """Runs (or resumes) the search; returns the baseline's values and the best values (None: none completed).

        ``train`` is ``(images, labels)``, or None for a distributed chief that only serves.
        """
        raise NotImplementedError

    def outcomes(self, directory, settings) -> list:
        """The :class:`emnist_tf.tuning.results.StageOutcome` list the report shows."""
        raise NotImplementedError

    def stage_keys(self, kind: str, name: str) -> tuple[str, ...]:
        """The hyperparameters a stage's table shows (empty: every value of each trial)."""
        return ()


class StagedStrategy(Strategy):
    """Stages of candidates, the winner carried forward; subclasses choose the stages.

    Each stage trains its candidates by successive halving over the settings' rungs
    (:mod:`.halving`; one rung: ``settings.epochs`` epochs per fold); a one-rung sweep's
    confirmation stage trains for ``settings.confirmation_epochs``.
    """

    def stages(self, kind: str, confirmation: bool = False) -> tuple:
        """The stages in the order they run (default: :func:`emnist_tf.tuning.space.stages`)."""
        from emnist_tf.tuning import space

        return space.stages(kind, confirmation)

    def check(self, settings) -> None:
        if settings.confirmation_epochs is not None and settings.confirmation_epochs < 1:
            raise ValueError(f"a confirmation stage needs at least 1 epoch, got {settings.confirmation_epochs}")

    def planned_trials(self, kind, max_trials, confirmation=False, *, rungs=1, growth=3) -> int:
        from emnist_tf.tuning import greedy

        stages = self.stages(kind, confirmation)
        return greedy.planned_trials(kind, max_trials, confirmation, stages=stages, rungs=rungs, growth=growth)

    def planned_work(self, settings) -> float:
        from emnist_tf.tuning import greedy

        confirmation = settings.confirmation_epochs is not None
        stages = self.stages(settings.model, confirmation)
        plan = {"stages": stages, "rungs": settings.rungs, "growth": settings.growth}
        counts = greedy.planned_rungs(settings.model, settings.max_trials, confirmation, **plan)
        work = sum(count * rung.epochs * rung.images_share for count, rung in zip(counts, settings.ladder()))
        if confirmation and settings.rungs == 1:  # its trials train for their own epochs
            confirmations = len(greedy.stage_candidates(stages[-1], {}, None)) if stages[-1].confirmation else 0
            work += confirmations * (settings.confirmation_epochs - settings.epochs)
        return work

    def search(self, directory, settings, hypermodel, train, progress):
        from emnist_tf.tuning import greedy

        outcome = greedy.run_greedy(
            directory,
            hypermodel,
            *(train or (None, None)),  # the chief only serves
            folds=settings.folds,
            epochs=settings.epochs,
            seed=settings.seed,
            trials_per_stage=settings.max_trials,
            confirmation_epochs=settings.confirmation_epochs,
            rungs=settings.ladder(),
            growth=settings.growth,
            progress=progress,
            stages=self.stages(settings.model, settings.confirmation_epochs is not None),
        )
        return outcome.baseline_values, outcome.best_values

    def outcomes(self, directory, settings) -> list:
        from emnist_tf.tuning import greedy

        return greedy.replay(directory, settings.model, stages=self.stages(settings.model, confirmation=True))

    def stage_keys(self, kind, name):
        if name == "baseline":
            return ("(baseline)",)
        return next((stage.keys for stage in self.stages(kind, confirmation=True) if stage.name == name), ())


class GreedyStrategy(StagedStrategy):
    """One technique at a time from the baseline (:func:`emnist_tf.tuning.space.stages`)."""

    name = "greedy"


class JointStrategy(Strategy):
    """One KerasTuner oracle searching every hyperparameter at once; subclasses make the oracle."""

    def make_oracle(self, max_trials: int, epochs: int, seed: int):
        """A resumable oracle (:mod:`emnist_tf.tuning.oracles`) whose trials train ``epochs`` epochs per fold."""
        raise NotImplementedError

    def planned_trials(self, kind, max_trials, confirmation=False, *, rungs=1, growth=3) -> int | None:
        return max_trials

    def resolve_trials(self, kind, max_trials):
        """The trial budget: ``max_trials``, by default as many trials as the greedy sweep."""
        return max_trials if max_trials is not None else STRATEGIES["greedy"].planned_trials(kind, None)

    def search(self, directory, settings, hypermodel, train, progress):
        from emnist_tf.tuning import results, space
        from emnist_tf.tuning.crossval import CrossValidationTuner

        oracle = self.make_oracle(settings.max_trials, settings.epochs, settings.seed)
        tuner = CrossValidationTuner(
            oracle,
            hypermodel,
            folds=settings.folds,
            seed=settings.seed,
            progress=progress,
            stage=self.name,
            directory=os.path.join(str(directory), results.PROJECTS),
            project_name=JOINT_PROJECT,
        )
        if train is None:  # the chief only serves the oracle
            tuner.search()
        else:
            tuner.search(*train)
        best = results.best_record(results.load_trials(directory))
        return space.baseline_values(settings.model), None if best is None else best.values

    def outcomes(self, directory, settings) -> list:
        from emnist_tf.tuning import results

        records = [record for path in results.project_dirs(directory) for record in results.load_project(path)]
        return [results.StageOutcome(0, self.name, None, records, results.best_record(records))]


class RandomStrategy(JointStrategy):
    """KerasTuner's random search."""

    name = "random"

    def make_oracle(self, max_trials, epochs, seed):
        from emnist_tf.tuning import oracles

        return oracles.RandomSearchOracle(max_trials=max_trials, epochs=epochs, **oracles.common_options(seed))


class BayesianStrategy(JointStrategy):
    """KerasTuner's Bayesian optimisation (a Gaussian process), after three random trials."""

    name = "bayesian"

    def make_oracle(self, max_trials, epochs, seed):
        from emnist_tf.tuning import oracles

        return oracles.BayesianOptimizationOracle(
            max_trials=max_trials, epochs=epochs, num_initial_points=min(max_trials, 3), **oracles.common_options(seed)
        )


class HyperbandStrategy(JointStrategy):
    """KerasTuner's Hyperband: brackets of trials promoted to more epochs, at most ``epochs`` per fold."""

    name = "hyperband"

    def make_oracle(self, max_trials, epochs, seed):
        from emnist_tf.tuning import oracles

        # Hyperband's own length depends on max_epochs; iterate until the budget is spent.
        return oracles.HyperbandOracle(
            max_trials=max_trials,
            max_epochs=max(1, epochs),
            factor=3,
            hyperband_iterations=max_trials,
            **oracles.common_options(seed),
        )


STRATEGIES: dict[str, Strategy] = {
    strategy.name: strategy
    for strategy in (GreedyStrategy(), RandomStrategy(), BayesianStrategy(), HyperbandStrategy())
}
"""Every sweep strategy by name: the command line's choices and what :func:`emnist_tf.tuning.sweep.run_sweep` runs."""


def get_strategy(name: str) -> Strategy:
    """The strategy called ``name``.

    Raises:
        ValueError: for an unknown name (one line listing the known ones).
    """
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return STRATEGIES[name]


def make_oracle(strategy: str, *, max_trials: int, epochs: int = 1, seed: int = 0):
    """A resumable oracle for the joint search called ``strategy`` (its trials train ``epochs`` epochs per fold).

    Raises:
        ValueError: for a name that is not a joint strategy.
    """
    chosen = get_strategy(strategy)
    if not isinstance(chosen, JointStrategy):
        joint = ", ".join(name for name, value in STRATEGIES.items() if isinstance(value, JointStrategy))
        raise ValueError(f"{strategy!r} is not a joint search; choose one of {joint}")
    return chosen.make_oracle(max_trials, epochs, seed)
