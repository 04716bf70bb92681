"""Learning-rate schedules by name, their curves and plots, and clear errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure

from emnist_tf.modeling.schedules import SCHEDULES, make_schedule, plot_schedule, schedule_callbacks, schedule_curve

STEPS, EPOCHS, RATE = 10, 8, 0.1


@pytest.mark.parametrize("name", SCHEDULES)
def test_every_name_makes_a_rate_and_a_curve(name):
    rate = make_schedule(name, RATE, steps_per_epoch=STEPS, epochs=EPOCHS)
    steps, rates = schedule_curve(name, RATE, steps_per_epoch=STEPS, epochs=EPOCHS)
    assert len(steps) == len(rates) == STEPS * EPOCHS
    assert (rates > 0).all() or name == "cosine"
    assert rates.max() == pytest.approx(RATE, rel=1e-5)
    if name in ("constant", "plateau"):
        assert rate == RATE
    else:
        assert isinstance(rate, keras.optimizers.schedules.LearningRateSchedule)


def test_constant_is_flat():
    _, rates = schedule_curve("constant", RATE, steps_per_epoch=STEPS, epochs=EPOCHS)
    np.testing.assert_allclose(rates, RATE)


def test_step_drops_at_the_boundaries():
    _, rates = schedule_curve("step", RATE, steps_per_epoch=STEPS, epochs=EPOCHS, drop_epochs=(2, 6), drop_factor=0.5)
    np.testing.assert_allclose(rates[: 2 * STEPS], RATE)
    np.testing.assert_allclose(rates[2 * STEPS : 6 * STEPS], RATE * 0.5, rtol=1e-6)
    np.testing.assert_allclose(rates[6 * STEPS :], RATE * 0.25, rtol=1e-6)


def test_step_default_drops_half_way_and_three_quarters():
    _, rates = schedule_curve("step", RATE, steps_per_epoch=STEPS, epochs=EPOCHS)
    changes = np.flatnonzero(np.diff(rates)) + 1
    assert list(changes) == [4 * STEPS, 6 * STEPS]


def test_exponential_decays_smoothly_to_the_final_fraction():
    _, rates = schedule_curve("exponential", RATE, steps_per_epoch=STEPS, epochs=EPOCHS, final_fraction=0.1)
    assert (np.diff(rates) < 0).all()
    assert rates[-1] == pytest.approx(RATE * 0.1, rel=0.05)


def test_cosine_warmup_rises_then_falls():
    _, rates = schedule_curve(
        "cosine",
        RATE,
        steps_per_epoch=STEPS,
        epochs=EPOCHS,
        warmup_epochs=1,
        warmup_start_fraction=0.1,
        final_fraction=0.0,
    )
    peak = int(np.argmax(rates))
    assert peak == STEPS
    assert rates[0] == pytest.approx(RATE * 0.1)
    assert (np.diff(rates[: peak + 1]) > 0).all()
    assert (np.diff(rates[peak:]) < 0).all()
    assert rates[-1] < RATE * 0.01


def test_cosine_without_warmup_starts_at_the_peak():
    _, rates = schedule_curve("cosine", RATE, steps_per_epoch=STEPS, epochs=EPOCHS, warmup_epochs=0)
    assert rates[0] == pytest.approx(RATE)
    assert (np.diff(rates) < 0).all()


def test_cosine_warmup_is_capped_for_short_runs():
    _, rates = schedule_curve("cosine", RATE, steps_per_epoch=STEPS, epochs=1, warmup_epochs=1)
    assert 0 < int(np.argmax(rates)) <= STEPS // 5


def test_plateau_drops_after_patience_epochs_without_improvement():
    losses = [1.0, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]
    _, rates = schedule_curve(
        "plateau",
        RATE,
        steps_per_epoch=STEPS,
        epochs=EPOCHS,
        validation_losses=losses,
        plateau_drop_factor=0.5,
        plateau_patience=2,
    )
    per_epoch = rates[::STEPS]
    np.testing.assert_allclose(per_epoch, [RATE] * 5 + [RATE / 2] * 2 + [RATE / 4])


def test_plateau_is_a_callback_and_others_need_none():
    callbacks = schedule_callbacks("plateau", drop_factor=0.2, patience=3)
    assert len(callbacks) == 1 and isinstance(callbacks[0], keras.callbacks.ReduceLROnPlateau)
    assert callbacks[0].factor == pytest.approx(0.2) and callbacks[0].patience == 3
    assert all(schedule_callbacks(name) == [] for name in SCHEDULES if name != "plateau")


@pytest.mark.parametrize("name", SCHEDULES)
def test_plot_returns_a_figure_of_the_curve(name):
    figure = plot_schedule(name, RATE, steps_per_epoch=STEPS, epochs=EPOCHS)
    assert isinstance(figure, Figure)
    line = figure.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), schedule_curve(name, RATE, steps_per_epoch=STEPS, epochs=EPOCHS)[1])


def test_unknown_name_lists_valid_ones():
    for call in (
        lambda: make_schedule("linear"),
        lambda: schedule_curve("linear"),
        lambda: schedule_callbacks("linear"),
    ):
        with pytest.raises(ValueError, match="constant, step, exponential, cosine, plateau"):
            call()


@pytest.mark.parametrize("name", ["step", "exponential", "cosine"])
def test_per_step_schedules_need_the_run_length(name):
    with pytest.raises(ValueError, match="steps_per_epoch and epochs"):
        make_schedule(name, RATE)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"drop_factor": 1.5}, "drop_factor"),
        ({"drop_epochs": (0,)}, "drop_epochs"),
    ],
)
def test_bad_numbers_give_clear_errors(options, message):
    options = {"learning_rate": RATE, **options}
    with pytest.raises(ValueError, match=message):
        make_schedule("step", steps_per_epoch=STEPS, epochs=EPOCHS, **options)
