"""Learning-rate schedules by name, and a plot of each one's curve over a run.

Names (``SCHEDULES``):

* ``constant``: the same rate for the whole run.
* ``step``: piecewise constant; multiplied by ``drop_factor`` at each of
  ``drop_epochs`` (default: half-way and three quarters of the way).
* ``exponential``: smooth decay to ``final_fraction`` of the rate at the last step.
* ``cosine``: linear warm-up from ``warmup_start_fraction`` of the rate over
  ``warmup_epochs``, then cosine decay to ``final_fraction`` of it.
* ``plateau``: constant until the validation loss stops improving for ``patience``
  epochs, then multiplied by ``drop_factor``; it is a callback
  (:func:`schedule_callbacks`), so the optimiser gets a plain number.

All of them are Keras built-ins, so a saved model reloads without custom objects.

Example:
    >>> from emnist_tf.modeling.schedules import make_schedule, plot_schedule
    >>> schedule = make_schedule("cosine", 2e-3, steps_per_epoch=100, epochs=10)
    >>> figure = plot_schedule("cosine", 2e-3, steps_per_epoch=100, epochs=10)
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from matplotlib.figure import Figure

from emnist_tf.choices import SCHEDULES

_PER_STEP = ("step", "exponential", "cosine")


def make_schedule(
    name: str = "constant",
    learning_rate: float = 1e-3,
    *,
    steps_per_epoch: int | None = None,
    epochs: int | None = None,
    warmup_epochs: float = 1.0,
    warmup_start_fraction: float = 0.05,
    final_fraction: float = 0.0,
    drop_epochs: Sequence[int] | None = None,
    drop_factor: float = 0.1,
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Returns the learning rate for an optimiser: a number or a Keras schedule.

    Args:
        name: one of ``SCHEDULES``.
        learning_rate: the starting rate (the peak after warm-up for ``cosine``).
        steps_per_epoch: optimiser steps (batches) per epoch; needed by the per-step
            schedules ``step``, ``exponential`` and ``cosine``.
        epochs: epochs of the run; needed by the per-step schedules.
        warmup_epochs: ``cosine`` warm-up length in epochs (0: none, fractions allowed);
            never more than a fifth of the run, so short runs still decay.
        warmup_start_fraction: ``cosine`` rate at step 0 as a fraction of ``learning_rate``.
        final_fraction: rate at the last step as a fraction of ``learning_rate``
            (``cosine``; ``exponential`` uses ``max(final_fraction, 0.01)``).
        drop_epochs: ``step`` epochs at which the rate drops (default: 1/2 and 3/4 of the run).
        drop_factor: ``step`` (and ``plateau``) multiplier at each drop.

    Returns:
        ``learning_rate`` itself for ``constant`` and ``plateau``, else a
        ``keras.optimizers.schedules.LearningRateSchedule``.

    Raises:
        ValueError: for an unknown name, or missing/invalid lengths.
    """
    _check_name(name)
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    if name not in _PER_STEP:
        return float(learning_rate)
    total_steps = _total_steps(name, steps_per_epoch, epochs)
    if name == "step":
        return _step_schedule(learning_rate, steps_per_epoch, epochs, drop_epochs, drop_factor)
    if name == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=total_steps, decay_rate=max(final_fraction, 0.01)
        )
    return _cosine_schedule(
        learning_rate, steps_per_epoch, total_steps, warmup_epochs, warmup_start_fraction, final_fraction
    )


def schedule_callbacks(
    name: str,
    *,
    drop_factor: float = 0.5,
    patience: int = 2,
    minimum_learning_rate: float = 1e-6,
    monitor: str = "val_loss",
) -> list[keras.callbacks.Callback]:
    """Returns the callbacks a schedule needs during ``fit`` (only ``plateau`` needs one).

    Args:
        name: one of ``SCHEDULES``.
        drop_factor: ``plateau`` multiplier when the monitored value stalls.
        patience: ``plateau`` epochs without improvement before a drop.
        minimum_learning_rate: ``plateau`` never goes below this.
        monitor: the logged value to watch (``"loss"`` when there is no validation set).
    """
    _check_name(name)
    if name != "plateau":
        return []
    return [
        keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, factor=drop_factor, patience=patience, min_lr=minimum_learning_rate
        )
    ]


def schedule_curve(
    name: str,
    learning_rate: float = 1e-3,
    *,
    steps_per_epoch: int = 100,
    epochs: int = 10,
    validation_losses: Sequence[float] | None = None,
    plateau_drop_factor: float = 0.5,
    plateau_patience: int = 2,
    **options,
) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(steps, learning_rates)``: the rate at every optimiser step of a run.

    ``plateau`` depends on the validation loss, so its curve is simulated from
    ``validation_losses`` (one per epoch; by default a loss that improves and then
    stalls), with the same rule as Keras' ``ReduceLROnPlateau``.

    Args:
        name: one of ``SCHEDULES``.
        learning_rate, steps_per_epoch, epochs, **options: as for :func:`make_schedule`.
        validation_losses: ``plateau`` only: the loss at the end of each epoch.
        plateau_drop_factor, plateau_patience: ``plateau`` only.
    """
    _check_name(name)
    steps = np.arange(steps_per_epoch * epochs)
    if name == "plateau":
        per_epoch = _simulate_plateau(learning_rate, epochs, validation_losses, plateau_drop_factor, plateau_patience)
        return steps, np.repeat(per_epoch, steps_per_epoch)
    schedule = make_schedule(name, learning_rate, steps_per_epoch=steps_per_epoch, epochs=epochs, **options)
    if not callable(schedule):
        return steps, np.full(len(steps), schedule, dtype="float64")
    return steps, np.asarray([float(schedule(int(step))) for step in steps])


def plot_schedule(
    name: str,
    learning_rate: float = 1e-3,
    *,
    steps_per_epoch: int = 100,
    epochs: int = 10,
    **options,
) -> Figure:
    """Draws the learning rate against the optimiser step (epochs on a second axis).

    Takes the same arguments as :func:`schedule_curve`.

    Example:
        >>> plot_schedule("step", 0.1, steps_per_epoch=50, epochs=20).savefig("step.png")
    """
    steps, rates = schedule_curve(name, learning_rate, steps_per_epoch=steps_per_epoch, epochs=epochs, **options)
    figure = Figure(figsize=(6, 3.5), layout="constrained")
    axes = figure.add_subplot()
    axes.plot(steps, rates, color="tab:blue")
    axes.set_xlabel("optimiser step")
    axes.set_ylabel("learning rate")
    axes.set_title(f"{name} schedule ({epochs} epochs x {steps_per_epoch} steps)")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    top = axes.secondary_xaxis("top", functions=(lambda s: s / steps_per_epoch, lambda e: e * steps_per_epoch))
    top.set_xlabel("epoch")
    return figure


def _check_name(name: str) -> None:
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")


def _total_steps(name: str, steps_per_epoch: int | None, epochs: int | None) -> int:
    if not steps_per_epoch or not epochs or steps_per_epoch < 1 or epochs < 1:
        raise ValueError(
            f"schedule {name!r} needs positive steps_per_epoch and epochs, got "
            f"steps_per_epoch={steps_per_epoch!r}, epochs={epochs!r}"
        )
    return steps_per_epoch * epochs


def _step_schedule(learning_rate, steps_per_epoch, epochs, drop_epochs, drop_factor):
    if drop_epochs is None:
        drop_epochs = sorted({max(1, epochs // 2), max(1, (3 * epochs) // 4)})
    drop_epochs = sorted(drop_epochs)
    if not drop_epochs or drop_epochs[0] < 1:
        raise ValueError(f"drop_epochs must be positive epoch numbers, got {drop_epochs!r}")
    if not 0 < drop_factor < 1:
        raise ValueError(f"drop_factor must be in (0, 1), got {drop_factor!r}")
    # Keras keeps values[i] up to and including boundaries[i]; the drop should start the epoch.
    boundaries = [int(epoch * steps_per_epoch) - 1 for epoch in drop_epochs]
    values = [float(learning_rate * drop_factor**index) for index in range(len(boundaries) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


def _cosine_schedule(learning_rate, steps_per_epoch, total_steps, warmup_epochs, warmup_start_fraction, final_fraction):
    if warmup_epochs < 0:
        raise ValueError(f"warmup_epochs must be 0 or more, got {warmup_epochs!r}")
    warmup_steps = min(int(round(warmup_epochs * steps_per_epoch)), total_steps // 5)
    if warmup_steps == 0:
        return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total_steps, alpha=final_fraction)
    return keras.optimizers.schedules.CosineDecay(
        learning_rate * warmup_start_fraction,
        decay_steps=total_steps - warmup_steps,
        alpha=final_fraction,
        warmup_target=learning_rate,
        warmup_steps=warmup_steps,
    )


def _simulate_plateau(learning_rate, epochs, validation_losses, drop_factor, patience):
    if validation_losses is None:
        validation_losses = [
            1.0 / (1 + epoch) if epoch < epochs // 3 else 1.0 / (1 + epochs // 3) for epoch in range(epochs)
        ]
    if len(validation_losses) != epochs:
        raise ValueError(f"validation_losses needs one loss per epoch ({epochs}), got {len(validation_losses)}")
    rates, rate, best, wait = [], float(learning_rate), np.inf, 0
    for loss in validation_losses:
        rates.append(rate)
        if loss < best:
            best, wait = loss, 0
            continue
        wait += 1
        if wait >= patience:
            rate, wait = rate * drop_factor, 0
    return np.asarray(rates)
