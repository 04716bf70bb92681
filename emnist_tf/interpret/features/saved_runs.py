"""Preferred inputs of a saved run's units, drawn beside the test images they like best.

This is what ``emnist-tf visualize DIR --layer NAME`` does, as one function: load a
run directory (:mod:`emnist_tf.modeling.runs`), find by gradient ascent the input
each chosen unit of a layer prefers, look up the test images of the run's split that
activate each unit most, and save the figure of :func:`plot_preferred_inputs`.
Sizes are taken as given: a caller that wants fast mode passes smaller ones.

Example:
    >>> result = write_preferred_inputs("runs/cnn", "logits", "runs/cnn/classes.png", steps=200)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from emnist_tf.interpret.activations import top_activating_images
from emnist_tf.interpret.features.figures import plot_preferred_inputs
from emnist_tf.interpret.features.maximize import PreferredInputs, maximize, maximize_classes

CLASS_LAYERS = ("logits", "probabilities")
"""Layer names that stand for the output classes: their units are scored on ``"logits"``."""


def write_preferred_inputs(
    run_dir: str | os.PathLike,
    layer: str,
    out: str | os.PathLike,
    *,
    units=None,
    starts: int = 4,
    steps: int = 200,
    top: int = 3,
    examples: int = 2000,
    data_dir: str | os.PathLike | None = None,
    callbacks: Iterable = (),
    seed: int = 0,
) -> PreferredInputs:
    """Draws the preferred input of units of a saved run's layer and saves the figure.

    Args:
        run_dir: a run directory (``model.keras`` and ``run.json``).
        layer: a layer name of the run's model; ``"logits"`` or ``"probabilities"``
            draws the output classes, scored by their log-odds
            (:func:`maximize_classes`), labelled with the class names.
        out: the image file to write (its folder is created).
        units: unit indices: a slice, a list or ``None`` for every unit of the layer.
        starts: random starts per unit.
        steps: ascent steps.
        top: test images shown beside each preferred input (0: none, and no data is read).
        examples: test images of the run's split searched for the top images.
        data_dir: folder of EMNIST files (default: the run's, else ``EMNIST_TF_DATA``).
        callbacks: ascent callbacks, e.g. ``[Progress()]``.
        seed: seed of the random starts and of the test subsample.

    Returns:
        The :class:`PreferredInputs` drawn (its ``units``, ``steps`` and ``seconds``
        describe the work done).

    Raises:
        ValueError: if ``top`` is negative, ``examples`` is below 1 or the layer does
            not exist (nothing is written then).
        RunError: if the run directory is missing or incomplete.
        DataError: if the test images of the run's split cannot be loaded.
    """
    from emnist_tf import data
    from emnist_tf.modeling import runs

    if top < 0 or examples < 1:
        raise ValueError(f"top images per unit must be >= 0 and test images searched >= 1, got {top} and {examples}")
    saved = runs.load_run(run_dir)
    split = saved.config.get("split") or "balanced"
    classes = layer in CLASS_LAYERS
    read_layer = "logits" if classes else layer
    options = dict(starts=starts, steps=steps, seed=seed, callbacks=callbacks)
    if classes:
        result = maximize_classes(saved.model, units, **options)
    else:
        result = maximize(saved.model, read_layer, units, **options)
    best = None
    if top:
        source = data_dir if data_dir is not None else saved.config.get("data_dir")
        images, _ = data.load_arrays(split, "test", data_dir=source, limit=examples, seed=seed)
        best = top_activating_images(saved.model, images, read_layer, units=result.units, count=min(top, len(images)))
    figure = plot_preferred_inputs(
        result,
        best,
        unit_labels=data.class_names(split) if classes else None,
        title=f"{Path(run_dir).name}: layer {layer} ({result.steps} steps)",
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    return result
