"""Compiling and training a model on EMNIST, with everything a run should record.

:func:`train` loads a split (or takes arrays), keeps a stratified validation
split, feeds both through the ``tf.data`` pipeline of :mod:`emnist_tf.data`,
records per-epoch loss, accuracy and learning rate, times the run, stops early
with the best weights restored when asked, stops with a clear message when the
loss turns NaN, and can write TensorBoard logs.

Example:
    >>> from emnist_tf.modeling.training import default_config, train
    >>> result = train(default_config("cnn", epochs=5), "balanced")
    >>> result.history["val_accuracy"][-1], result.train_seconds, result.device
    >>> train(build_cnn(), "balanced", epochs=5, schedule="cosine")   # the keyword form
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import math
import time
from collections.abc import Sequence

import keras
import numpy as np

from emnist_tf import devices
from emnist_tf.errors import EmnistTfError
from emnist_tf.modeling.configuration import TrainingConfig
from emnist_tf.modeling.losses import classification_loss
from emnist_tf.modeling.optimizers import make_optimizer
from emnist_tf.modeling.schedules import make_schedule, schedule_callbacks

DEFAULT_TRAINING = {
    # Both recipes weigh the classes equally ("balanced"): the rebuilt balanced training file
    # has 709 to 2,265 images of 19 classes instead of 2,400, and a model trained on it without
    # weights favours the common class of a look-alike pair (q/9, f/F, G/6) on the balanced
    # test file. On official, equal-sized files the weights are all 1.
    "mlp": {
        "epochs": 20,
        "batch_size": 128,
        "optimizer": "adam",
        "learning_rate": 2e-3,
        "schedule": "cosine",
        "augmentation": True,
        "validation_fraction": 0.05,
        "class_weight": "balanced",
    },
    # The CNN fits the training images closely, so it gets milder shifts and turns than
    # the MLP, and label smoothing 0.1: both measured better on the test file (the README's
    # benchmark section has the figures).
    "cnn": {
        "epochs": 12,
        "batch_size": 128,
        "optimizer": "adam",
        "learning_rate": 2e-3,
        "schedule": "cosine",
        "validation_fraction": 0.05,
        "class_weight": "balanced",
        "label_smoothing": 0.1,
        "augmentation": {"rotation_degrees": 5, "shift_fraction": 0.05, "zoom_fraction": 0.05},
    },
}
"""The training settings of ``emnist-tf train`` and ``benchmarks/accuracy.py`` for each model kind."""

STEPS_PER_EXECUTION = 16
"""Most batches ``train`` runs per call into the TensorFlow graph."""


class TrainingDivergedError(EmnistTfError, ValueError):
    """The loss became NaN or infinite during training."""


@dataclasses.dataclass
class TrainingResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained model (best weights restored when early stopping was on).
        history: per-epoch lists: ``loss``, ``accuracy``, ``val_loss``,
            ``val_accuracy`` (when there is a validation set), ``learning_rate``
            (at the first step of each epoch) and ``epoch_seconds``.
        train_seconds: wall-clock seconds spent in ``fit``.
        seconds_per_epoch: ``train_seconds / epochs_run``.
        device: where it trained, e.g. ``"CPU (2 cores)"``.
        epochs_run: epochs actually run (fewer than asked after early stopping).
        settings: the training settings used (JSON-friendly), for ``run.json``.
    """

    model: keras.Model
    history: dict[str, list[float]]
    train_seconds: float
    seconds_per_epoch: float
    device: str
    epochs_run: int
    settings: dict = dataclasses.field(default_factory=dict)


def compile_model(
    model: keras.Model,
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    schedule: str = "constant",
    steps_per_epoch: int | None = None,
    epochs: int | None = None,
    *,
    schedule_options: dict | None = None,
    steps_per_execution: int = 1,
    label_smoothing: float = 0.0,
    run_eagerly: bool = False,
    **options,
) -> keras.Model:
    """Compiles ``model`` for integer labels: sparse cross-entropy and accuracy.

    Args:
        model: a model that outputs class probabilities (as the library's builders do).
        optimizer: a name from ``emnist_tf.modeling.optimizers.OPTIMIZERS``.
        learning_rate: the starting (or peak, for ``cosine``) learning rate.
        schedule: a name from ``emnist_tf.modeling.schedules.SCHEDULES``; ``plateau`` also needs
            the callback of ``schedule_callbacks("plateau")`` (``train`` adds it).
        steps_per_epoch: batches per epoch, needed by per-step schedules.
        epochs: epochs of the run, needed by per-step schedules.
        schedule_options: extra keywords for :func:`emnist_tf.modeling.schedules.make_schedule`.
        steps_per_execution: batches run per call into the TensorFlow graph; more than 1
            saves Python overhead per batch (callbacks then see every n-th batch).
        label_smoothing: spread this share of each label evenly over all classes
            (:func:`emnist_tf.modeling.losses.classification_loss`); 0: plain cross-entropy.
        run_eagerly: run every batch as Python code instead of a traced graph: faster only for runs
            of a few batches, where tracing costs more than it saves.
        **options: extra keywords for :func:`emnist_tf.modeling.optimizers.make_optimizer`
            (``momentum``, ``nesterov``, ``use_ema``, ``weight_decay``...).

    Returns:
        The same model, compiled.

    Example:
        >>> compile_model(model, "sgd", 0.05, "step", steps_per_epoch=700, epochs=10, nesterov=True)
    """
    rate = make_schedule(
        schedule, learning_rate, steps_per_epoch=steps_per_epoch, epochs=epochs, **(schedule_options or {})
    )
    model.compile(
        optimizer=make_optimizer(optimizer, rate, **options),
        loss=classification_loss(label_smoothing),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        run_eagerly=run_eagerly,
    )
    return model


def default_config(kind: str, **changes) -> TrainingConfig:
    """The default recipe of ``kind`` (:data:`DEFAULT_TRAINING`) as a configuration, with ``changes`` applied.

    Raises:
        ValueError: for an unknown kind.
    """
    if kind not in DEFAULT_TRAINING:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(DEFAULT_TRAINING)}")
    return TrainingConfig(model=kind, **{**DEFAULT_TRAINING[kind], **changes})


def train(
    config: TrainingConfig | keras.Model | str | None = None,
    data: str | tuple[np.ndarray, np.ndarray] = "balanced",
    *,
    model: keras.Model | str | None = None,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    num_classes: int | None = None,
    data_dir: str | None = None,
    limit: int | None = None,
    distribute: str | None = None,
    tensorboard_dir: str | None = None,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    verbose: str | int = "auto",
    run_eagerly: bool = False,
    **settings,
) -> TrainingResult:
    """Trains the model a :class:`~emnist_tf.modeling.configuration.TrainingConfig` describes and records the run.

    It prints the device it trains on and the wall-clock time. It uses a GPU when
    TensorFlow sees one; for mixed precision there, call
    ``emnist_tf.devices.configure_precision()`` *before* building the model (the
    command line does).

    ``train(config, data)`` is the one form; as a convenience the configuration's fields may
    also be given as keywords, with a built model (or a kind) first:
    ``train(model, (images, labels), epochs=5)`` builds ``TrainingConfig(epochs=5)`` and trains
    ``model`` with it; keywords given with a configuration replace its fields.

    Args:
        config: the configuration; or, for the keyword form, a built model or a model kind.
        data: a split name (its train subset is loaded) or ``(images, labels)``.
        model: a built Keras model that outputs probabilities, trained (and (re)compiled) instead
            of one built from ``config.model`` and ``config.architecture`` (seeded by ``config.seed``).
        validation_data: ``(images, labels)`` to validate on; by default a stratified
            ``config.validation_fraction`` of the training data is held out.
        num_classes: outputs of a model built from a kind (default: the split's classes, or
            the largest label + 1 for arrays).
        data_dir: folder of EMNIST files when ``data`` is a split name.
        limit: train on a stratified subsample of this many images of the split.
        distribute: None (one device) or ``"mirrored"``: ``tf.distribute.MirroredStrategy`` over
            every visible GPU (or logical device); the model is built (or cloned) and compiled
            in its scope.
        tensorboard_dir: write TensorBoard logs there (None: none).
        callbacks: extra Keras callbacks.
        verbose: Keras' ``fit`` verbosity (``"auto"`` shows a progress bar); 0 also silences
            the lines this function prints.
        run_eagerly: see :func:`compile_model`.
        **settings: fields of :class:`~emnist_tf.modeling.configuration.TrainingConfig`.

    Returns:
        A :class:`TrainingResult`.

    Raises:
        TrainingDivergedError: when the loss becomes NaN or infinite.
        ValueError: for bad arguments or labels the model cannot output.
    """
    from emnist_tf import data as emnist_data

    config, model = _configuration(config, model, settings)
    seed = config.seed
    keras.utils.set_random_seed(seed)
    split, images, labels = _training_arrays(data, data_dir, limit, seed)
    strategy = _distribution(distribute)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = _model_to_train(model, config, num_classes, split, labels, strategy)
    _check_labels(model, labels, split)
    held_out = validation_data is None and config.validation_fraction > 0
    if held_out:
        images, labels, *validation_data = emnist_data.train_validation_split(
            images, labels, validation_fraction=config.validation_fraction, seed=seed
        )
    weights = _class_weights(config.class_weight, labels, model.output_shape[-1])
    augment = _augmenter(config.augmentation, seed)
    batch_size = config.batch_size
    train_set = emnist_data.make_dataset(images, labels, batch_size=batch_size, seed=seed, augment=augment)
    validation_set = None
    if validation_data is not None:
        validation_set = emnist_data.make_dataset(*validation_data, batch_size=max(batch_size, 512), shuffle=False)
    steps_per_epoch = math.ceil(len(images) / batch_size)
    settled_momentum = settle_batch_norm(model, steps_per_epoch * config.epochs)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        compile_model(
            model,
            config.optimizer,
            config.learning_rate,
            config.schedule,
            steps_per_epoch,
            config.epochs,
            schedule_options=config.schedule_options,
            # Keras' multi-step loop fails under MirroredStrategy (a placeholder left unfed): one step per call.
            steps_per_execution=_steps_per_execution(steps_per_epoch) if strategy is None else 1,
            label_smoothing=config.label_smoothing,
            run_eagerly=run_eagerly,
            **(config.optimizer_options or {}),
        )
    device = devices.describe_device()
    if strategy is not None:
        device = f"{device}, mirrored over {strategy.num_replicas_in_sync} replica(s)"
    say = print if verbose != 0 else _silent
    recorder = _EpochRecorder()
    monitor = "val_loss" if validation_set is not None else "loss"
    all_callbacks = [
        recorder,
        *schedule_callbacks(config.schedule, monitor=monitor),
        *_optional_callbacks(config.early_stopping_patience, monitor, tensorboard_dir, quiet=verbose == 0),
        *(callbacks or ()),
    ]
    validation_count = 0 if validation_data is None else len(validation_data[1])
    say(
        f"Training {model.name} on {device}: {len(labels)} training and {validation_count} "
        f"validation images, {config.epochs} epoch(s) of {steps_per_epoch} batches of {batch_size}"
    )
    if settled_momentum is not None:
        say(f"Batch normalisation momentum {settled_momentum:.3f}: the moving statistics settle within this short run")
    started = time.perf_counter()
    fitted = model.fit(
        train_set,
        validation_data=validation_set,
        epochs=config.epochs,
        verbose=verbose,
        callbacks=all_callbacks,
        class_weight=weights,
        shuffle=False,
    )  # the dataset shuffles itself
    train_seconds = time.perf_counter() - started
    if recorder.diverged_epoch is not None:
        raise TrainingDivergedError(
            f"training diverged at epoch {recorder.diverged_epoch} (loss is NaN or infinite): lower the "
            f"learning rate (it was {config.learning_rate:g}), or turn on batch_norm or gradient clipping"
        )
    history = _history(fitted.history, recorder)
    epochs_run = len(history["loss"])
    say(
        f"Trained {epochs_run} epoch(s) in {train_seconds:.1f} s "
        f"({train_seconds / max(epochs_run, 1):.1f} s/epoch) on {device}"
    )
    built = {"model": config.model, "architecture": dict(config.architecture)} if config.model else {}
    recorded = dict(
        split=split,
        data_dir=None if data_dir is None else str(data_dir),
        batch_size=batch_size,
        epochs=config.epochs,
        optimizer=config.optimizer,
        learning_rate=config.learning_rate,
        schedule=config.schedule,
        validation_fraction=config.validation_fraction if held_out else 0.0,
        early_stopping_patience=config.early_stopping_patience,
        seed=seed,
        augmentation=_augmentation_setting(config.augmentation),
        label_smoothing=config.label_smoothing,
        class_weight=config.class_weight if isinstance(config.class_weight, (str, type(None))) else "custom",
        train_examples=int(len(labels)),
        validation_examples=validation_count,
        distribute=distribute,
        **built,
        precision=keras.mixed_precision.global_policy().name,
    )
    return TrainingResult(
        model=model,
        history=history,
        train_seconds=train_seconds,
        seconds_per_epoch=train_seconds / max(epochs_run, 1),
        device=device,
        epochs_run=epochs_run,
        settings=recorded,
    )


def _configuration(config, model, settings: dict) -> tuple[TrainingConfig, keras.Model | None]:
    """The configuration and the built model (if any) of ``train``'s arguments, in either form."""
    if isinstance(config, TrainingConfig):
        config = config.replace(**settings) if settings else config
    else:
        if config is not None:  # the keyword form: a built model or a kind comes first
            if model is not None:
                raise ValueError("give the model once: first, or as model=, not both")
            model = config
        if isinstance(model, str):
            settings = {"model": model, **settings}
            model = None
        config = TrainingConfig(**settings)
    if model is not None and not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model or a model kind ('mlp' or 'cnn'), got {type(model).__name__}")
    if model is None and config.model is None:
        raise ValueError("nothing to train: give a built model, or a model kind ('mlp' or 'cnn') and its architecture")
    return config, model


DISTRIBUTE_CHOICES = ("mirrored",)
"""Values of ``train(distribute=...)`` besides None."""


def _silent(*args, **kwargs) -> None:
    """Prints nothing (``verbose=0``)."""


def _distribution(distribute):
    """The ``tf.distribute`` strategy named by ``distribute`` (None: the default, one device)."""
    if distribute is None:
        return None
    if distribute not in DISTRIBUTE_CHOICES:
        raise ValueError(f"distribute must be None or one of {', '.join(DISTRIBUTE_CHOICES)}, got {distribute!r}")
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy()  # NCCL all-reduce between the GPUs
    # CPU replicas (logical devices): collective all-reduce can pack gradients differently per replica
    # and abort with a shape mismatch; summing on one device is exact and cheap there.
    return tf.distribute.MirroredStrategy(cross_device_ops=tf.distribute.ReductionToOneDevice())


def _model_to_train(model, config, num_classes, split, labels, strategy) -> keras.Model:
    """The model to train: built from the configuration, cloned into a strategy's scope, or ``model`` itself."""
    if model is None:
        from emnist_tf.modeling.models import build_model

        if num_classes is None:
            num_classes = _classes_of(split, labels)
        return build_model(config.model, num_classes=num_classes, seed=config.seed, **config.architecture)
    if strategy is None:
        return model
    try:
        copy = keras.models.clone_model(model)
    except Exception as error:  # noqa: BLE001 - any reason a model cannot be cloned
        raise ValueError(
            f"distribute needs a model it can rebuild in the strategy's scope ({type(error).__name__}); "
            "pass the model kind and its architecture instead of a built model"
        ) from None
    copy.set_weights(model.get_weights())
    return copy


def _classes_of(split, labels) -> int:
    if split is not None:
        from emnist_tf import data as emnist_data

        return emnist_data.split_info(split).num_classes
    return int(np.max(labels)) + 1 if len(labels) else 2


class _EpochRecorder(keras.callbacks.Callback):
    """Records the learning rate and duration of each epoch and watches for a NaN loss."""

    def __init__(self):
        super().__init__()
        self.learning_rates: list[float] = []
        self.epoch_seconds: list[float] = []
        self.diverged_epoch: int | None = None
        self._started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()
        rate = self.model.optimizer.learning_rate
        self.learning_rates.append(float(keras.ops.convert_to_numpy(rate)))

    def on_epoch_end(self, epoch, logs=None):
        # Checked once per epoch, not per batch: a batch hook would make Keras wait for
        # every step. The epoch's mean loss is NaN as soon as one batch's loss was.
        self.epoch_seconds.append(time.perf_counter() - self._started)
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(np.asarray(loss))):
            self.diverged_epoch = epoch + 1
            self.model.stop_training = True


def _history(raw: dict, recorder: _EpochRecorder) -> dict[str, list[float]]:
    history = {
        key: [float(value) for value in values] for key, values in raw.items() if not key.startswith("learning_rate")
    }
    epochs_run = len(history.get("loss", []))
    history["learning_rate"] = recorder.learning_rates[:epochs_run]
    history["epoch_seconds"] = recorder.epoch_seconds[:epochs_run]
    return history


def _training_arrays(data, data_dir, limit, seed):
    from emnist_tf import data as emnist_data

    if isinstance(data, str):
        images, labels = emnist_data.load_arrays(data, "train", data_dir=data_dir, limit=limit, seed=seed)
        return data, images, labels
    if isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = (np.asarray(part) for part in data)
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels: they must pair up one to one")
        return None, images, labels
    raise ValueError("data must be a split name such as 'balanced' or a pair (images, labels)")


def _check_labels(model, labels, split) -> None:
    outputs = model.output_shape[-1]
    if len(labels) and int(labels.max()) >= outputs:
        hint = f"split_info({split!r}).num_classes" if split else "the number of classes"
        raise ValueError(
            f"labels go up to {int(labels.max())} but the model has {outputs} outputs; build it with num_classes={hint}"
        )


SETTLED_SHARE = 0.01
"""The largest share of a batch-norm layer's starting statistics (mean 0, variance 1) left after training."""


def settle_batch_norm(model: keras.Model, steps: int, share: float = SETTLED_SHARE) -> float | None:
    """Lowers batch normalisation's momentum where a run is too short for its moving statistics to settle.

    ``BatchNormalization`` predicts with moving averages updated each step as
    ``moving = momentum * moving + (1 - momentum) * batch``, so after ``steps`` steps a share
    ``momentum ** steps`` of the starting mean 0 and variance 1 remains. With Keras' 0.99 and a
    short run (189 steps leave 15%) a model that has learned can predict at chance. Every
    batch-norm layer (nested ones too) whose momentum would leave more than ``share`` gets
    ``share ** (1 / steps)``; long runs (about 460 steps or more at 0.99) are left alone.

    Args:
        model: the model about to be trained.
        steps: the training steps of the run (batches per epoch times epochs).
        share: the largest share of the starting statistics allowed to remain.

    Returns:
        The momentum given to the layers it lowered, or None when none needed it.
    """
    needed = share ** (1 / max(1, steps))
    lowered = None
    pending = list(model.layers)
    while pending:
        layer = pending.pop()
        pending.extend(getattr(layer, "layers", ()))
        if isinstance(layer, keras.layers.BatchNormalization) and layer.momentum > needed:
            layer.momentum = lowered = needed
    return lowered


def _steps_per_execution(steps_per_epoch: int) -> int:
    """Batches per graph call: a few, to save Python overhead, never more than an epoch has.

    With the index-gather pipeline it makes the library at least as fast as a bare ``fit``
    (``benchmarks/throughput.py``; figures in the README); the progress bar and batch-level
    callbacks then update every few batches.
    """
    return max(1, min(STEPS_PER_EXECUTION, steps_per_epoch))


def _class_weights(class_weight, labels, num_classes) -> dict[int, float] | None:
    """The ``class_weight`` of ``fit``: None, a checked copy of a dict, or the balanced weights."""
    if class_weight is None:
        return None
    if isinstance(class_weight, dict):
        bad = sorted(key for key in class_weight if not 0 <= int(key) < num_classes)
        if bad:
            raise ValueError(f"class_weight has classes {bad} outside 0..{num_classes - 1}")
        return {int(key): float(value) for key, value in class_weight.items()}
    if class_weight != "balanced":
        raise ValueError(f"class_weight must be 'balanced', a dict {{class: weight}} or None, got {class_weight!r}")
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(labels)
    weights = dict.fromkeys(range(num_classes), 0.0)  # a class absent from the data weighs nothing
    weights.update(zip(present.tolist(), compute_class_weight("balanced", classes=present, y=labels).tolist()))
    return weights


def _augmenter(augmentation, seed):
    if augmentation is None or augmentation is False:
        return None
    if augmentation is True or isinstance(augmentation, dict):
        from emnist_tf.modeling.augmentation import make_augmenter

        options = augmentation if isinstance(augmentation, dict) else {}
        known = set(inspect.signature(make_augmenter).parameters) - {"seed"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(
                f"unknown augmentation option(s) {', '.join(unknown)}; use any of {', '.join(sorted(known))}"
            )
        return make_augmenter(seed=seed, **options)
    if callable(augmentation):
        return augmentation
    raise ValueError(
        "augmentation must be True, False/None, a dict of make_augmenter keywords "
        "or a function (images, labels) -> (images, labels)"
    )


def _augmentation_setting(augmentation) -> bool | dict:
    """What a run records of its augmentation: its make_augmenter keywords, or whether there was any."""
    return dict(augmentation) if isinstance(augmentation, dict) else bool(augmentation)


def _optional_callbacks(patience, monitor, tensorboard_dir, quiet=False) -> list[keras.callbacks.Callback]:
    extra = []
    if patience is not None:
        extra.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, patience=patience, restore_best_weights=True, verbose=0 if quiet else 1
            )
        )
    if tensorboard_dir is not None:
        extra.append(keras.callbacks.TensorBoard(log_dir=str(tensorboard_dir)))
    return extra
