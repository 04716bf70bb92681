"""Notebook 05: the technique investigation is the student's, and its checks test behaviour, not our choices.

- the check cells pass on the solution and on an honest answer written another way (functional API,
  scikit-learn's folds, another cross-validation loop, other values within the assignment's lists,
  another greedy implementation), and fail on answers that break what the exercise asks;
- graded by the sandboxed grader on the real data (slow): that other answer earns full automatic marks,
  and a search that calls the library's sweep earns 0 for the search exercise (and only for it);
- the solution regions of 05-06 hold the student's code (at least 150 lines, no library sweep), and every
  written answer has its rubric in the instructor guide.
"""

from __future__ import annotations

import json
from pathlib import Path

import course_grading
import nbformat
import numpy as np
import pytest

from emnist_tf.course import notebooks

REPO = Path(__file__).resolve().parents[1]
NB05 = "05-technique-sweeps"
NB06 = "06-evaluation-comparison"
ASSIGNMENT_NOTEBOOKS = (NB05, NB06)

# ------------------------------------------------------------------ an honest answer written differently
OTHER_BUILD_MODEL = """
kind = config["model"]
if kind not in ("mlp", "cnn"):
    raise ValueError("model must be mlp or cnn")
penalty = None
if config["regularizer"] == "l1":
    penalty = keras.regularizers.l1(config["regularization"])
elif config["regularizer"] == "l2":
    penalty = keras.regularizers.l2(config["regularization"])
inputs = keras.Input(shape=(28, 28, 1))
x = inputs
if kind == "mlp":
    if len(config["hidden_units"]) < 3:
        raise ValueError("an MLP needs three hidden layers")
    x = keras.layers.Reshape((784,))(x)
    widths = config["hidden_units"]
else:
    if len(config["filters"]) < 2:
        raise ValueError("a CNN needs two convolutions")
    for count in config["filters"]:
        x = keras.layers.Conv2D(count, 3, activation=config["activation"], kernel_regularizer=penalty)(x)
        if config["batch_norm"]:
            x = keras.layers.BatchNormalization()(x)
        if x.shape[1] > 2:
            x = keras.layers.MaxPooling2D(2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    widths = config["dense_units"]
for width in widths:
    x = keras.layers.Dense(width, activation=config["activation"], kernel_regularizer=penalty)(x)
    if config["batch_norm"]:
        x = keras.layers.BatchNormalization()(x)
    if config["dropout"]:
        x = keras.layers.Dropout(config["dropout"])(x)
return keras.Model(inputs, keras.layers.Dense(47, activation="softmax")(x))
"""
OTHER_FOLDS = """
from sklearn.model_selection import StratifiedKFold

splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
return list(splitter.split(np.zeros(len(labels)), labels))
"""
OTHER_OPTIMIZER = """
rate = config["learning_rate"]
if config["schedule"] == "exponential":
    rate = keras.optimizers.schedules.ExponentialDecay(rate, decay_steps=max(1, steps // 3), decay_rate=0.7)
classes = {"adam": keras.optimizers.Adam, "nadam": keras.optimizers.Nadam, "sgd": keras.optimizers.SGD,
           "rmsprop": keras.optimizers.RMSprop}
return classes[config["optimizer"]](learning_rate=rate)
"""
OTHER_CROSS_VALIDATE = """
accuracies = []
for fold, (train, valid) in enumerate(stratified_folds(labels, folds, seed)):
    keras.utils.set_random_seed(seed + fold)
    model = build_model(config)
    steps = epochs * -(-len(train) // config["batch_size"])
    model.compile(make_optimizer(config, steps), keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")])
    history = model.fit(images[train], labels[train], validation_data=(images[valid], labels[valid]),
                        epochs=epochs, batch_size=config["batch_size"], verbose=0)
    accuracies.append(history.history["val_acc"][-1])
accuracies = np.array(accuracies)
return {"scores": accuracies.tolist(), "mean": float(accuracies.mean()), "spread": float(accuracies.std())}
"""
OTHER_SPACE = """
common = {"activation": "leaky_relu", "batch_norm": False, "dropout": 0.0, "regularizer": "l2",
          "regularization": 1e-5, "optimizer": "nadam", "learning_rate": 2e-3, "schedule": "exponential",
          "batch_size": 128}
mlp_baseline = {"model": "mlp", "hidden_units": [128, 64, 32], **common}
cnn_baseline = {"model": "cnn", "filters": [16, 32], "dense_units": [64], **common}
techniques = [
    ("activation", [{"activation": name} for name in ("leaky_relu", "selu", "tanh")]),
    ("optimizer", [{"optimizer": "nadam"}, {"optimizer": "sgd", "learning_rate": 0.05},
                   {"optimizer": "rmsprop", "learning_rate": 1e-3}]),
    ("learning-rate schedule", [{"schedule": "exponential"}, {"schedule": "constant"}]),
    ("normalisation", [{"batch_norm": False}, {"batch_norm": True}]),
    ("penalty", [{"regularizer": "l2"}, {"regularizer": "none"}, {"regularizer": "l1", "regularization": 1e-6}]),
    ("dropout", [{"dropout": 0.0}, {"dropout": 0.4}]),
]
mlp_stages = [("architecture", [{"hidden_units": [128, 64, 32]}, {"hidden_units": [256, 128, 64, 32]}])] + techniques
cnn_stages = [("architecture", [{"filters": [16, 32], "dense_units": [64]},
                                {"filters": [16, 32, 32], "dense_units": []}])] + techniques
"""
OTHER_SCORER = """
table = {json.dumps(config, sort_keys=True): result for config, result in records}
return lambda config: table[json.dumps(config, sort_keys=True)]
"""
OTHER_GREEDY = """
import copy

current, tables = copy.deepcopy(baseline), []
for stage_name, options in stages:
    measured = [score({**current, **option}) for option in options]
    best_index = int(np.argmax([result["mean"] for result in measured]))  # argmax keeps the first of ties
    current.update(options[best_index])
    rows = [{"change": option, "mean": result["mean"], "spread": result["spread"]}
            for option, result in zip(options, measured)]
    tables.append({"stage": stage_name, "winner": options[best_index], "rows": rows})
return current, tables
"""
OTHER_ANSWER = {
    "ex05_build_model": [OTHER_BUILD_MODEL],
    "ex05_folds": [OTHER_FOLDS],
    "ex05_cross_validate": [OTHER_OPTIMIZER, OTHER_CROSS_VALIDATE],
    "ex05_space": [OTHER_SPACE],
    "ex05_greedy": [OTHER_SCORER, OTHER_GREEDY],
}
LIBRARY_GREEDY = """
from emnist_tf.tuning.sweep import run_sweep

outcome = run_sweep("sweeps/by-the-library", model=baseline["model"], strategy="greedy", folds=2, epochs=1,
                    limit=300, max_trials=1, final=False)
return {**baseline, **outcome.best_values}, []
"""


def _read(name: str):
    return nbformat.read(str(REPO / "solutions" / f"{name}.ipynb"), as_version=4)


def _regions(source: str) -> list[str]:
    """The code between each pair of solution markers of a cell."""
    found, inside = [], None
    for line in source.splitlines():
        if line.strip() == notebooks.BEGIN_SOLUTION:
            inside = []
        elif line.strip() == notebooks.END_SOLUTION:
            found.append("\n".join(inside))
            inside = None
        elif inside is not None:
            inside.append(line)
    return found


def _replace_regions(source: str, bodies: list[str]) -> str:
    """``source`` with its solution regions (markers included) replaced by ``bodies``, indented like them."""
    lines, out, index = source.splitlines(), [], 0
    skipping = False
    for line in lines:
        if line.strip() == notebooks.BEGIN_SOLUTION:
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + body_line if body_line else "" for body_line in bodies[index].strip("\n").splitlines()]
            index, skipping = index + 1, True
        elif line.strip() == notebooks.END_SOLUTION:
            skipping = False
        elif not skipping:
            out.append(line)
    assert index == len(bodies), f"{len(bodies)} answers for {index} solution regions"
    return "\n".join(out)


def _answered(name: str, answers: dict[str, list[str]]):
    """The solution notebook with some exercises' regions replaced (the rest keep our answers)."""
    notebook = _read(name)
    for cell in notebook.cells:
        exercise = notebooks.cell_info(cell).get("exercise")
        if notebooks.cell_kind(cell) == "solution" and exercise in answers:
            cell.source = _replace_regions(cell.source, answers[exercise])
    return notebook


def _exercise_cells(notebook, exercise: str) -> tuple[list[str], list[str]]:
    """(solution sources, check sources with their hidden parts) of one exercise."""
    solutions = [
        cell.source
        for cell in notebook.cells
        if notebooks.cell_info(cell).get("exercise") == exercise and notebooks.cell_kind(cell) == "solution"
    ]
    checks = [
        "\n".join(code for _, code in notebooks.split_check(cell.source))
        for cell in notebook.cells
        if notebooks.cell_info(cell).get("exercise") == exercise and notebooks.cell_kind(cell) == "check"
    ]
    return solutions, checks


def _run_checks(notebook, exercises: list[str], *, needs: tuple[str, ...] = ()) -> None:
    """Runs the solution cells of ``needs`` and ``exercises``, then the exercises' checks (hidden parts too)."""
    import keras

    namespace = {"keras": keras, "np": np, "json": json}
    for exercise in (*needs, *exercises):
        for source in _exercise_cells(notebook, exercise)[0]:
            exec(source, namespace)
    for exercise in exercises:
        for check in _exercise_cells(notebook, exercise)[1]:
            exec(check, dict(namespace))


# ------------------------------------------------------------------ the checks, run in this process


@pytest.mark.parametrize("answer", ["ours", "other"])
def test_the_search_checks_pass_for_any_honest_search(answer):
    notebook = _read(NB05) if answer == "ours" else _answered(NB05, OTHER_ANSWER)
    _run_checks(notebook, ["ex05_folds", "ex05_greedy"])


@pytest.mark.parametrize("answer", ["ours", "other"])
def test_the_model_and_space_checks_pass_for_any_model_within_the_rules(answer):
    notebook = _read(NB05) if answer == "ours" else _answered(NB05, OTHER_ANSWER)
    _run_checks(notebook, ["ex05_build_model", "ex05_space"])


@pytest.mark.slow
@pytest.mark.parametrize("answer", ["ours", "other"])
def test_the_cross_validation_check_passes_for_any_honest_loop(answer):
    notebook = _read(NB05) if answer == "ours" else _answered(NB05, OTHER_ANSWER)
    _run_checks(notebook, ["ex05_cross_validate"], needs=("ex05_build_model", "ex05_folds"))


WRONG_SEARCHES = {
    "never carries the winner forward": OTHER_GREEDY.replace("current.update(options[best_index])", "pass").replace(
        "return current, tables", "return {**baseline, **tables[-1]['winner']}, tables"
    ),
    "keeps the lowest mean": OTHER_GREEDY.replace("np.argmax", "np.argmin"),
    "keeps the last option": OTHER_GREEDY.replace(
        'int(np.argmax([result["mean"] for result in measured]))', "len(options) - 1"
    ),
}


@pytest.mark.parametrize("mistake", sorted(WRONG_SEARCHES))
def test_the_search_check_fails_a_search_that_is_not_greedy(mistake):
    wrong = _answered(NB05, {"ex05_greedy": [OTHER_SCORER, WRONG_SEARCHES[mistake]]})
    assert WRONG_SEARCHES[mistake] != OTHER_GREEDY
    with pytest.raises(AssertionError):
        _run_checks(wrong, ["ex05_greedy"])


def test_the_folds_check_fails_folds_that_are_not_stratified():
    unstratified = (
        "everything = np.arange(len(labels))\nreturn [(np.setdiff1d(everything, part), part) "
        "for part in np.array_split(everything, k)]"
    )
    with pytest.raises(AssertionError):
        _run_checks(_answered(NB05, {"ex05_folds": [unstratified]}), ["ex05_folds"])


def test_the_space_check_fails_a_space_missing_a_technique():
    two_activations = OTHER_SPACE.replace('("leaky_relu", "selu", "tanh")', '("leaky_relu", "selu")')
    with pytest.raises(AssertionError, match="activation"):
        _run_checks(_answered(NB05, {"ex05_space": [two_activations]}), ["ex05_space"], needs=("ex05_build_model",))


def test_the_space_check_fails_a_space_that_can_produce_a_two_layer_mlp():
    shallow = OTHER_SPACE.replace('{"hidden_units": [256, 128, 64, 32]}', '{"hidden_units": [256, 128]}')
    lenient = OTHER_BUILD_MODEL.replace('raise ValueError("an MLP needs three hidden layers")', "pass")
    with pytest.raises(AssertionError, match="3 hidden layers"):
        answer = _answered(NB05, {"ex05_build_model": [lenient], "ex05_space": [shallow]})
        _run_checks(answer, ["ex05_space"], needs=("ex05_build_model",))


# ------------------------------------------------------------------ what the student writes


def _student_lines(name: str) -> list[str]:
    code = []
    for cell in _read(name).cells:
        if notebooks.cell_kind(cell) == "solution":
            for region in _regions(cell.source):
                code += [line for line in region.splitlines() if line.strip() and not line.strip().startswith("#")]
    return code


def test_the_student_writes_the_investigation_and_the_evaluation():
    lines = {name: _student_lines(name) for name in ASSIGNMENT_NOTEBOOKS}
    print({name: len(code) for name, code in lines.items()})
    assert sum(len(code) for code in lines.values()) >= 150
    for code in lines.values():
        assert not [line for line in code if "run_sweep" in line or "run_greedy" in line or "tuning." in line]


def test_every_written_answer_has_its_rubric_in_the_instructor_guide():
    guide = (REPO / "course" / "instructor_guide.md").read_text(encoding="utf-8")
    written = [
        notebooks.cell_info(cell)
        for name in ASSIGNMENT_NOTEBOOKS
        for cell in _read(name).cells
        if notebooks.cell_kind(cell) == "written"
    ]
    assert len(written) >= 8
    for info in written:
        section = guide.split(f"`{info['exercise']}`", 1)
        assert len(section) == 2, f"no rubric for {info['exercise']} in the instructor guide"
        rubric = section[1][:3000]
        for level in ("Full", "Partial", "No points"):
            assert level in rubric, f"the rubric of {info['exercise']} does not say what earns {level.lower()}"


# ------------------------------------------------------------------ graded by the sandboxed grader


def _exercise_notebook_with(answers: dict[str, list[str]]):
    """The exercise notebook as a student hands it in: ``answers`` over the stubs, our answers elsewhere."""
    solution, exercise = _read(NB05), nbformat.read(str(REPO / "exercises" / f"{NB05}.ipynb"), as_version=4)
    for ours, theirs in zip(solution.cells, exercise.cells):
        if notebooks.cell_kind(theirs) == "solution":
            name = notebooks.cell_info(theirs)["exercise"]
            theirs.source = _replace_regions(ours.source, answers.get(name) or _regions(ours.source))
    return exercise


def course_submissions():
    """An honest answer written another way, and a no-work notebook whose search calls the library's sweep
    beside an honest model builder (tests/course_grading.py)."""
    library_caller = {"ex05_build_model": OTHER_BUILD_MODEL, "ex05_greedy": [OTHER_SCORER, LIBRARY_GREEDY]}
    return {
        "other-style-05": (NB05, _exercise_notebook_with(OTHER_ANSWER)),
        "library-caller-05": (NB05, course_grading.no_work(NB05, answers=library_caller)),
    }


@pytest.mark.slow
def test_graded_an_other_honest_answer_earns_full_marks(course_grades):
    lost = course_grading.lost_points(course_grades["other-style-05"])
    assert course_grades["other-style-05"].max_points >= 18 and not lost, (
        f"an honest answer written differently lost points: {lost}"
    )


@pytest.mark.slow
def test_graded_a_search_that_calls_the_library_sweep_earns_nothing_for_the_search_only(course_grades):
    earned = course_grading.earned(course_grades["library-caller-05"])
    assert earned["ex05_greedy"] == 0, "a search that calls the library's sweep earned points"
    assert earned["ex05_build_model"] > 0, "calling the sweep in the search costs only the search exercise"
