"""Keras optimisers by name, with the options the course compares.

Names: ``sgd`` (``momentum``, ``nesterov``), ``averaged_sgd`` (SGD whose weights
are replaced at the end of training by their exponential moving average: Keras
expresses weight averaging through ``use_ema``), ``adam``, ``adamw``, ``rmsprop``,
``adagrad`` and ``nadam``. Every optimiser accepts ``use_ema=True`` as well.

Example:
    >>> from emnist_tf.modeling.optimizers import make_optimizer
    >>> sgd = make_optimizer("sgd", learning_rate=0.05, momentum=0.9, nesterov=True)
    >>> averaged = make_optimizer("averaged_sgd", learning_rate=0.05)
"""

from __future__ import annotations

import keras

from emnist_tf.choices import OPTIMIZERS

_CLASSES = {
    "sgd": keras.optimizers.SGD,
    "averaged_sgd": keras.optimizers.SGD,
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "rmsprop": keras.optimizers.RMSprop,
    "adagrad": keras.optimizers.Adagrad,
    "nadam": keras.optimizers.Nadam,
}


def make_optimizer(
    name: str = "adam",
    learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
    *,
    momentum: float = 0.9,
    nesterov: bool = False,
    weight_decay: float | None = None,
    use_ema: bool = False,
    ema_momentum: float = 0.99,
    clipnorm: float | None = None,
    **options,
) -> keras.optimizers.Optimizer:
    """Returns a fresh Keras optimiser named ``name``.

    Args:
        name: one of ``OPTIMIZERS``.
        learning_rate: a number or a schedule from :func:`emnist_tf.modeling.schedules.make_schedule`.
        momentum: momentum of ``sgd``/``averaged_sgd`` (ignored by the others).
        nesterov: use Nesterov momentum (``sgd``/``averaged_sgd``).
        weight_decay: decoupled weight decay; ``adamw`` defaults to 1e-4, the others to none.
        use_ema: keep an exponential moving average of the weights and put it in the
            model at the end of ``fit`` (always on for ``averaged_sgd``).
        ema_momentum: the average's momentum (closer to 1 = longer memory).
        clipnorm: clip each gradient to this norm (None: no clipping).
        **options: any other keyword of the Keras optimiser class (e.g. ``beta_1``).

    Raises:
        ValueError: if ``name`` is unknown or a number is out of range.
    """
    if name not in _CLASSES:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    if isinstance(learning_rate, (int, float)) and learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    arguments = dict(
        learning_rate=learning_rate,
        use_ema=use_ema or name == "averaged_sgd",
        ema_momentum=ema_momentum,
        clipnorm=clipnorm,
        **options,
    )
    if name in ("sgd", "averaged_sgd"):
        arguments.update(momentum=momentum, nesterov=nesterov)
    if name == "adamw" and weight_decay is None:
        weight_decay = 1e-4
    if weight_decay is not None:
        arguments["weight_decay"] = weight_decay
    return _CLASSES[name](**arguments)
