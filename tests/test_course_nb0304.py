"""Notebooks 03 and 04 grade the specification, not our choices.

An honest answer written with other widths, rates, names and another style (``Sequential.add`` with
``Reshape``, the functional API with strided and 5x5 convolutions, an absolute step schedule, a cosine-decay
optimiser, ``ReduceLROnPlateau``, a hand-written cross-entropy, a convolution by shifted copies) earns every
automatic point of 03 and 04 (a notebook with no work earns none: tests/redteam/test_redteam_contract.py).
Graded by the real grader (sandbox and judge) on the real data in fast mode. The checks themselves follow the
check-cell contract: each exercise declares its answers, and no check reads a name the student's notebook
defines outside them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from course_grading import lost_points, solved

from emnist_tf.course import notebooks
from emnist_tf.grading import plan

REPO = Path(__file__).resolve().parents[1]
NAMES = ("03-mlp", "04-cnn")

OTHER_MLP = """
mlp = keras.Sequential(name="wide_then_narrow")
mlp.add(keras.Input(shape=(28, 28, 1)))
mlp.add(keras.layers.Reshape((784,)))
for width in (384, 192, 96, 48):
    mlp.add(keras.layers.Dense(width, activation="elu", kernel_regularizer=keras.regularizers.L2(1e-5)))
    mlp.add(keras.layers.Dropout(0.1))
mlp.add(keras.layers.Dense(47, activation="softmax", name="letters"))
"""
HONEST_03 = {
    "ex03_build_mlp": OTHER_MLP,
    "ex03_class_weights": (
        "from sklearn.utils.class_weight import compute_class_weight\n"
        "classes = np.arange(num_classes)\n"
        "values = compute_class_weight('balanced', classes=classes, y=np.asarray(labels))\n"
        "return {int(c): float(v) for c, v in zip(classes, values)}"
    ),
    "ex03_schedule": "return 2e-3 * 0.5 ** (epoch // 4)  # an absolute step schedule: the rate in use is ignored",
    "ex03_fit": (
        "steps = int(np.ceil(len(train_images) / 64)) * EPOCHS\n"
        "rate = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps, alpha=0.05)\n"
        "mlp.compile(optimizer=keras.optimizers.RMSprop(rate), loss=keras.losses.SparseCategoricalCrossentropy(),\n"
        "            metrics=[keras.metrics.SparseCategoricalAccuracy(name='accuracy')])\n"
        "history = mlp.fit(train_images, train_labels, validation_data=(valid_images, valid_labels),\n"
        "                  epochs=EPOCHS, batch_size=64, class_weight=class_weights, verbose=0,\n"
        "                  callbacks=[keras.callbacks.EarlyStopping(monitor='val_loss', patience=2,\n"
        "                                                           restore_best_weights=True)])"
    ),
    "ex03_history": ("losses = list(history['val_loss'])\nreturn 1 + min(range(len(losses)), key=losses.__getitem__)"),
    "ex03_train_step": (
        "variables = model.trainable_weights\n"
        "with tf.GradientTape() as tape:\n"
        "    probabilities = model(tf.convert_to_tensor(images), training=True)\n"
        "    picked = tf.gather(probabilities, tf.cast(labels, tf.int32), axis=1, batch_dims=1)\n"
        "    loss = -tf.reduce_mean(tf.math.log(picked))  # the cross-entropy written out\n"
        "for variable, gradient in zip(variables, tape.gradient(loss, variables)):\n"
        "    variable.assign(variable - learning_rate * gradient)\n"
        "return float(loss), model.get_weights()"
    ),
    "ex03_test_accuracy": (
        "hits = np.asarray(probabilities).argmax(-1) == np.asarray(labels)\nreturn hits.mean().item()"
    ),
}
OTHER_CNN = """
pixels = keras.Input(shape=(28, 28, 1), name="pixels")
edges = keras.layers.Conv2D(24, 5, activation="relu", name="edges")(pixels)
strokes = keras.layers.Conv2D(40, 3, strides=2, activation="relu", name="strokes")(edges)
parts = keras.layers.MaxPooling2D(name="parts")(keras.layers.Conv2D(64, 3, activation="relu")(strokes))
hidden = keras.layers.Dense(80, activation="gelu")(keras.layers.Flatten()(parts))
cnn = keras.Model(pixels, keras.layers.Dense(47, activation="softmax")(keras.layers.Dropout(0.3)(hidden)))
"""
HONEST_04 = {
    "ex04_convolve": (
        "k = kernel.shape[0]\n"
        "height, width = image.shape[0] - k + 1, image.shape[1] - k + 1\n"
        "out = np.zeros((height, width))\n"
        "for m in range(k):  # one shifted copy of the image per kernel weight\n"
        "    for n in range(k):\n"
        "        out += kernel[m, n] * image[m : m + height, n : n + width]\n"
        "return out"
    ),
    "ex04_build_cnn": OTHER_CNN,
    "ex04_fit": (
        "cnn.compile(keras.optimizers.Adam(2e-3), 'sparse_categorical_crossentropy', metrics=['accuracy'])\n"
        "history = cnn.fit(train_images, train_labels, batch_size=64, epochs=EPOCHS, verbose=0,\n"
        "                  validation_data=(valid_images, valid_labels), class_weight=class_weights,\n"
        "                  callbacks=[keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=1),\n"
        "                             keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)])"
    ),
}


def _solution(name: str):
    return nbformat.read(str(REPO / "solutions" / f"{name}.ipynb"), as_version=4)


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_declares_its_answers_and_checks_read_nothing_else(name):
    """A check reads its exercise's declared answers, its own names and the solution's imported modules."""
    solution = _solution(name)
    imported: dict = {}
    exec(plan.import_lines(solution), imported)
    for exercise in notebooks.exercises(solution, name=name).values():
        assert exercise.answers or not exercise.checks, f"{exercise.name} has checks but declares no answers"
        for check in exercise.checks:
            assigned = set()
            for _, code in notebooks.split_check(check.source):
                assigned |= _defined_names(code)
            foreign = plan.free_names(check.source) - set(exercise.answers) - assigned - set(imported)
            assert not foreign, f"{check.cell_id} reads {sorted(foreign)}, which the student's notebook defines"


def _defined_names(code: str) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


@pytest.mark.parametrize("name", NAMES)
def test_each_notebook_has_a_written_answer_with_a_rubric(name):
    written = [cell for exercise in notebooks.exercises(_solution(name)).values() for cell in exercise.written]
    guide = (REPO / "course" / "instructor_guide.md").read_text(encoding="utf-8")
    assert written, f"{name} has no written answer"
    for cell in written:
        assert f"`{cell.exercise}`" in guide, f"the instructor guide has no rubric for {cell.exercise}"


def course_submissions():
    """Honest answers in another style for 03 and 04 (tests/course_grading.py)."""
    return {"honest-03": ("03-mlp", solved("03-mlp", HONEST_03)), "honest-04": ("04-cnn", solved("04-cnn", HONEST_04))}


@pytest.mark.slow
@pytest.mark.parametrize("student", ["honest-03", "honest-04"])
def test_honest_answers_in_another_style_earn_every_point(student, course_grades):
    result = course_grades[student]
    lost = lost_points(result)
    assert result.max_points > 0 and not lost, f"{student}: an honest answer lost points: {lost}"
