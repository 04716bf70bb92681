"""The end of a sweep: retrain chosen configurations on all training images, test them.

Cross-validation chooses; the test set only reports. The best configuration and
the baseline are each trained once on the whole training set (every fold's
images) and evaluated on the test set; the best model is saved as
``best_model.keras``. Each result is written to ``final/<name>.json`` and is not
recomputed when the sweep command runs again.

Example:
    >>> result = train_and_test(make_hypermodel("mlp"), values, train, test, epochs=5)
    >>> result["test_accuracy"]
"""

from __future__ import annotations

import json
import os
import time

import keras
import keras_tuner

from emnist_tf.tuning.oracles import atomic_write_json

FINAL = "final"
BEST_MODEL = "best_model.keras"


def hyperparameters_for(hypermodel, values: dict) -> keras_tuner.HyperParameters:
    """A full ``HyperParameters`` object holding ``values`` (defaults for the rest)."""
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    hp.values.update({name: value for name, value in values.items() if not name.startswith("tuner/")})
    return hp


def train_and_test(hypermodel, values: dict, train, test, *, epochs: int, seed: int = 0):
    """Trains ``values``' model on ``train`` and evaluates it on ``test``.

    Args:
        hypermodel: a :mod:`emnist_tf.tuning.space` hypermodel.
        values: hyperparameter values.
        train: ``(images, labels)`` to train on.
        test: ``(images, labels)`` to evaluate on.
        epochs: training epochs.
        seed: seeds the weights and shuffling.

    Returns:
        ``(model, result)`` where result has test_accuracy, test_loss, train_seconds, epochs.
    """
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    hp = hyperparameters_for(hypermodel, values)
    started = time.perf_counter()
    model = hypermodel.build(hp)
    hypermodel.fit(hp, model, *train, epochs=epochs)
    seconds = time.perf_counter() - started
    scores = model.evaluate(*test, batch_size=512, verbose=0, return_dict=True)
    result = {
        "test_accuracy": float(scores.get("accuracy", scores.get("compile_metrics", float("nan")))),
        "test_loss": float(scores["loss"]),
        "train_seconds": round(seconds, 2),
        "epochs": epochs,
        "train_examples": int(len(train[1])),
        "test_examples": int(len(test[1])),
        "values": hp.values,
    }
    return model, result


def final_results(
    directory, hypermodel, configurations: dict, train, test, *, epochs: int, seed: int = 0, progress=None
) -> dict:
    """Trains and tests every named configuration not tested yet; saves the best model.

    Args:
        directory: the sweep folder.
        hypermodel: the sweep's hypermodel.
        configurations: ``{"baseline": values, "best": values}``; "best" is saved as the model.
        train: ``(images, labels)``.
        test: ``(images, labels)``.
        epochs: training epochs.
        seed: seed.
        progress: optional progress printer.

    Returns:
        ``{name: result dict}``.
    """
    folder = os.path.join(str(directory), FINAL)
    outcome = {}
    for name, values in configurations.items():
        path = os.path.join(folder, f"{name}.json")
        if os.path.exists(path):
            with open(path) as stream:
                outcome[name] = json.load(stream)
            continue
        if progress is not None:
            progress.message(
                f"final: training the {name} configuration on all "
                f"{len(train[1])} training images, testing on {len(test[1])}"
            )
        model, result = train_and_test(hypermodel, values, train, test, epochs=epochs, seed=seed)
        if name == "best":
            model.save(os.path.join(str(directory), BEST_MODEL))
        atomic_write_json(path, result)
        outcome[name] = result
        del model
        keras.backend.clear_session()
    return outcome


def load_final(directory) -> dict:
    """The test results written so far (``{}`` before the sweep's end)."""
    folder = os.path.join(str(directory), FINAL)
    outcome = {}
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json"):
                with open(os.path.join(folder, name)) as stream:
                    outcome[name[:-5]] = json.load(stream)
    return outcome
