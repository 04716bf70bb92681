"""Notebooks 07 and 08: the student writes the network and the analysis, the checks follow the contract.

- 07 trains the [784, 20, 10] network and analyses its hidden units; 08 reads every layer, probes it with
  scikit-learn and measures separability by depth; together their solution regions hold at least 80 lines
  of student code;
- every check reads only its exercise's declared answers, names it defines itself and the modules the
  solution imports (never a variable of a given cell);
- every written answer has a rubric entry in the instructor guide;
- graded on the real data: honest answers written another way (functional API, other names, widths and
  optimisers, an entropy-based selectivity index, the silhouette instead of the Fisher ratio) get every
  automatic point (a notebook with no work gets none: tests/redteam/test_redteam_contract.py).
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import nbformat
import pytest
from course_grading import lost_points, solved

from emnist_tf.course import notebooks
from emnist_tf.grading import plan

REPO = Path(__file__).resolve().parents[1]
NAMES = ("07-single-neurons", "08-representations-depth")
MIN_STUDENT_LINES = 80


def _read(name: str, folder: str = "solutions") -> nbformat.NotebookNode:
    return nbformat.read(str(REPO / folder / f"{name}.ipynb"), as_version=4)


def _student_lines(notebook) -> int:
    """Non-blank, non-comment lines between the solution markers of the notebook's code cells."""
    count = 0
    for cell in notebook.cells:
        if cell.cell_type != "code" or notebooks.cell_kind(cell) != "solution":
            continue
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if text in (notebooks.BEGIN_SOLUTION, notebooks.END_SOLUTION):
                inside = text == notebooks.BEGIN_SOLUTION
            elif inside and text and not text.startswith("#"):
                count += 1
    return count


def test_solution_regions_of_07_and_08_hold_the_students_code():
    counts = {name: _student_lines(_read(name)) for name in NAMES}
    print("student lines per notebook:", counts)
    assert sum(counts.values()) >= MIN_STUDENT_LINES, f"solution regions of 07-08 hold only {counts}"
    assert all(count >= 30 for count in counts.values()), f"each notebook's analysis is the student's: {counts}"


def _defined_names(source: str) -> set[str]:
    """Names a check binds itself (assignments, loop targets, comprehensions, function arguments)."""
    bound = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.Lambda)) and hasattr(node, "name"):
            bound.add(node.name)
    return bound


def _module_names(solution) -> set[str]:
    tree = ast.parse(plan.import_lines(solution))
    names = set()
    for node in tree.body:
        for alias in node.names:
            names.add((alias.asname or alias.name).split(".")[0])
    return names


@pytest.mark.parametrize("name", NAMES)
def test_checks_read_only_declared_answers_their_own_names_and_modules(name):
    solution = _read(name)
    modules = _module_names(solution)
    for exercise in notebooks.exercises(solution, name=name).values():
        for check in exercise.checks:
            read = plan.free_names(check.source) - _defined_names(check.source) - modules
            read -= set(dir(builtins))
            assert read <= set(exercise.answers), (
                f"{name} {check.cell_id} reads {sorted(read - set(exercise.answers))}, "
                f"which are not answers of {exercise.name} ({exercise.answers})"
            )
        if exercise.checks:
            assert exercise.answers, f"{name} {exercise.name}: declare the names the grader may take"


@pytest.mark.parametrize("name", NAMES)
def test_every_written_answer_has_a_rubric_entry(name):
    guide = (REPO / "course" / "instructor_guide.md").read_text(encoding="utf-8")
    written = [exercise for exercise in notebooks.exercises(_read(name), name=name).values() if exercise.written]
    assert written, f"{name} needs at least one written answer"
    for exercise in written:
        assert f"`{exercise.name}`" in guide, f"no rubric entry for {exercise.name} in the instructor guide"


# ---------------------------------------------------------------- graded on the real data

ALTERNATIVES_07 = {
    "ex07_network": """
image = keras.Input(shape=(28, 28, 1), name="image")
code = keras.layers.Dense(20, activation="relu", name="code")(keras.layers.Flatten(name="as_vector")(image))
network = keras.Model(image, keras.layers.Dense(10, activation="softmax", name="out")(code), name="mine")
network.compile(keras.optimizers.Adam(2e-3), keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
network.fit(digits.train_images, digits.train_labels, epochs=8, batch_size=64, validation_split=0.2, verbose=0)
""",
    "ex07_hidden": (
        "inner = model.layers[-2]\n"
        "return keras.ops.convert_to_numpy(keras.Model(model.inputs, inner.output)(np.asarray(images, 'float32')))"
    ),
    "ex07_weights": (
        "w = next(l for l in model.layers if l.get_weights() and l.get_weights()[0].shape[0] == 784).get_weights()[0]\n"
        "return np.stack([w[:, j].reshape(28, 28) for j in range(w.shape[1])])"
    ),
    "ex07_top_images": (
        "order = sorted(range(len(activations)), key=lambda row: -activations[row][unit])\nreturn np.array(order[:k])"
    ),
    "ex07_selectivity": """
a, y = np.asarray(activations, float), np.asarray(labels)
means = np.array([[a[y == c, u].mean() for c in range(num_classes)] for u in range(a.shape[1])])
totals = means.sum(axis=1, keepdims=True)
shares = np.where(totals > 0, means / np.where(totals > 0, totals, 1.0), 1.0 / num_classes)
with np.errstate(divide="ignore", invalid="ignore"):
    entropy = -np.sum(np.where(shares > 0, shares * np.log(shares), 0.0), axis=1)
return 1.0 - entropy / np.log(num_classes), means.argmax(axis=1)
""",
    "ex07_wide": """
inputs = keras.Input((28, 28, 1))
wide_hidden = keras.layers.Dense(128, activation="sigmoid")(keras.layers.Flatten()(inputs))
wide_network = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(wide_hidden))
wide_network.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
wide_network.fit(digits.train_images, digits.train_labels, epochs=6, batch_size=32, verbose=0)
figure = Figure()
""",
}
ALTERNATIVES_08 = {
    "ex08_features": """
wanted = [model.get_layer(name).output for name in layer_names]
values = keras.Model(inputs=model.inputs, outputs=wanted)(np.asarray(images, "float32"), training=False)
values = values if isinstance(values, (list, tuple)) else [values]
return [keras.ops.convert_to_numpy(value).reshape(len(images), -1) for value in values]
""",
    "ex08_probe": """
scaler = StandardScaler().fit(train_features)
classifier = LogisticRegression(C=0.5, max_iter=1000).fit(scaler.transform(train_features), train_labels)
return float(np.mean(classifier.predict(scaler.transform(test_features)) == np.asarray(test_labels)))
""",
    "ex08_separability": """
# the silhouette score
return float(silhouette_score(np.asarray(features), np.asarray(labels)))
""",
    "ex08_depth": """
def representations(model, images):
    return [images.reshape(len(images), -1), *layer_features(model, images, layer_names)]

(fit_x, fit_y), (score_x, score_y) = fit, score
seen = {"trained": trained, "untrained": untrained}
fitted = {key: representations(model, fit_x) for key, model in seen.items()}
scored = {key: representations(model, score_x) for key, model in seen.items()}
rows = []
for depth, layer in enumerate(["pixels", *layer_names]):
    row = {"layer": layer, "separability": separability(scored["trained"][depth], score_y)}
    for key in seen:
        row[key] = probe_accuracy(fitted[key][depth], fit_y, scored[key][depth], score_y)
    rows.append(row)
return rows
""",
}


def course_submissions():
    """Honest answers written another way for 07 and 08 (tests/course_grading.py)."""
    return {
        f"other-style-{name}": (name, solved(name, answers))
        for name, answers in ((NAMES[0], ALTERNATIVES_07), (NAMES[1], ALTERNATIVES_08))
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_honest_answers_written_another_way_get_every_automatic_point(name, course_grades):
    graded = course_grades[f"other-style-{name}"]
    assert graded.max_points > 0 and not lost_points(graded), f"{name}: lost points {lost_points(graded)}"
