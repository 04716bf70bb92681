"""Robustness report for saved runs: noise curves, epsilon curves and an adversarial gallery.

This is what ``emnist-tf robustness DIR [DIR ...]`` does. For one or more run
directories (written by ``emnist-tf train --out DIR``) it evaluates each model on the
test images of its split and writes, into the output folder:

* ``noise_curves.png``: accuracy against level for every corruption, with the fitted
  psychometric curves, all models overlaid;
* ``noise_confusion.png``: confusion matrices of the first model at chosen Gaussian
  noise levels;
* ``epsilon_curves.png``: robust accuracy against epsilon under every attack of
  :data:`~emnist_tf.robustness.attacks.ATTACKS` (FGSM and PGD), all models;
* ``adversarial_gallery.png``: originals, perturbations and PGD images of the first model
  (correctly classified test images first);
* ``robustness.json``: every number behind the figures.

Example:
    >>> paths = write_report(["runs/mlp", "runs/cnn"], out_dir="runs/robustness")
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emnist_tf import config
from emnist_tf.evaluation.metrics import most_confused_pairs
from emnist_tf.robustness import adversarial, corruptions
from emnist_tf.robustness.attacks import ATTACKS, options_for

DEFAULT_EPSILONS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
CONFUSION_LEVELS = (0.0, 0.3, 0.6)
GALLERY_EPSILON = 0.1
GALLERY_ATTACK = "pgd"  # the strongest registered attack: also the one the summary lines quote
REPORT_FILES = (
    "noise_curves.png",
    "noise_confusion.png",
    "epsilon_curves.png",
    "adversarial_gallery.png",
    "robustness.json",
)


def _model_names(run_dirs: Sequence[Path], configs: Sequence[dict]) -> list[str]:
    names = [str(run_config.get("model") or folder.name).upper() for folder, run_config in zip(run_dirs, configs)]
    if len(set(names)) < len(names):
        names = [f"{name} ({folder.name})" for name, folder in zip(names, run_dirs)]
    return names


def write_report(
    run_dirs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    examples: int = 2000,
    attack_examples: int = 500,
    epsilons: Sequence[float] = DEFAULT_EPSILONS,
    steps: int = 20,
    seed: int = 0,
) -> dict[str, Path]:
    """Evaluates the runs' robustness and writes the figures and JSON of :data:`REPORT_FILES`.

    Args:
        run_dirs: one or more run directories (the first one is used for the gallery
            and the confusion matrices).
        out_dir: where to write (default: the first run directory).
        data_dir: folder of EMNIST files (default: the run's, else ``EMNIST_TF_DATA``).
        examples: test images for the noise curves (fast mode caps them, saying so).
        attack_examples: test images attacked per epsilon (also capped).
        epsilons: L-infinity radii of the epsilon curves.
        steps: iterations of the attacks that take ``steps`` (PGD; also capped).
        seed: seed of the test subsample, the noise and the attacks' random starts.

    Returns:
        ``{file name: path}`` of the files written.

    Raises:
        RunError: if a run directory is missing or incomplete.
        DataError: if the test images of a run's split cannot be loaded.
    """
    from emnist_tf import data
    from emnist_tf.modeling import runs

    if not run_dirs:
        raise ValueError("no run directory given; pass at least one folder written by save_run or the train command")
    run_dirs = [Path(folder) for folder in run_dirs]
    out = Path(out_dir) if out_dir is not None else run_dirs[0]
    out.mkdir(parents=True, exist_ok=True)
    loaded = [runs.load_run(folder) for folder in run_dirs]
    names = _model_names(run_dirs, [run.config for run in loaded])
    examples = config.cap(int(examples), "examples", say="test images for the noise curves")
    attack_examples = min(config.cap(int(attack_examples), "examples", say="attacked test images"), examples)
    steps = config.cap(int(steps), "steps", say="PGD steps")
    test_sets, noise, attacks, results = {}, {}, {}, {}
    for name, run, folder in zip(names, loaded, run_dirs):
        split = run.config.get("split") or "balanced"
        source = data_dir or run.config.get("data_dir")
        if (split, source) not in test_sets:
            test_sets[(split, source)] = data.load_arrays(split, "test", data_dir=source, limit=examples, seed=seed)
        noise[name], attacks[name], results[name] = _evaluate_model(
            run.model,
            *test_sets[(split, source)],
            attack_examples=attack_examples,
            epsilons=epsilons,
            steps=steps,
            seed=seed,
        )
        results[name] = {"run_dir": str(folder), "split": split, **results[name]}
    first = loaded[0]
    split = first.config.get("split") or "balanced"
    images, labels = test_sets[(split, data_dir or first.config.get("data_dir"))]
    paths = {name: out / name for name in REPORT_FILES}
    _save(corruptions.plot_noise_curves(noise), paths["noise_curves.png"])
    _save(adversarial.plot_epsilon_curves(attacks), paths["epsilon_curves.png"])
    results[names[0]]["most_confused"] = _write_first_model_figures(
        first.model, images, labels, split, paths, steps=steps, seed=seed
    )
    report = {
        "fast_mode": config.fast_mode(),
        "seed": seed,
        "steps": steps,
        "gallery_epsilon": GALLERY_EPSILON,
        "models": results,
    }
    paths["robustness.json"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return paths


def _evaluate_model(model, images, labels, *, attack_examples, epsilons, steps, seed):
    """Noise curves on all ``images``, epsilon curves on a stratified subsample of them."""
    from emnist_tf.data import stratified_subsample

    curves = corruptions.noise_curves(model, images, labels, seed=seed)
    chosen = stratified_subsample(labels, attack_examples, seed=seed)
    attacked = (images[chosen], labels[chosen])
    epsilon_curves = {
        method: adversarial.robust_accuracy_curve(
            model, *attacked, epsilons, method=method, seed=seed, **options_for(method, {"steps": steps})
        )
        for method in ATTACKS
    }
    result = {
        "test_examples": int(len(labels)),
        "attack_examples": int(len(chosen)),
        "clean_accuracy": corruptions.accuracy(model, images, labels),
        "noise": {
            corruption: {**curve.to_dict(), "fit": corruptions.fit_curve(curve).to_dict()}
            for corruption, curve in curves.items()
        },
        "adversarial": {method: curve.to_dict() for method, curve in epsilon_curves.items()},
    }
    return curves, epsilon_curves, result


def _write_first_model_figures(model, images, labels, split, paths, *, steps, seed) -> dict:
    """Confusions under Gaussian noise and the :data:`GALLERY_ATTACK` gallery; returns the top confusions by level."""
    from emnist_tf.data import class_names as split_class_names

    class_names = split_class_names(split)
    matrices = corruptions.confusion_at_levels(
        model, images, labels, "gaussian", CONFUSION_LEVELS, num_classes=len(class_names), seed=seed
    )
    _save(
        corruptions.plot_confusions(matrices, corruption="gaussian", class_names=class_names),
        paths["noise_confusion.png"],
    )
    correct = np.nonzero(corruptions.predict_labels(model, images) == labels)[0]
    chosen = np.concatenate([correct, np.setdiff1d(np.arange(len(labels)), correct)])[:8]
    adversarial_images = adversarial.attack(
        model,
        images[chosen],
        labels[chosen],
        GALLERY_EPSILON,
        method=GALLERY_ATTACK,
        seed=seed,
        **options_for(GALLERY_ATTACK, {"steps": steps}),
    )
    _save(
        adversarial.plot_gallery(model, images[chosen], labels[chosen], adversarial_images, class_names=class_names),
        paths["adversarial_gallery.png"],
    )
    return {
        f"gaussian {level:g}": most_confused_pairs(matrix, class_names, top=5) for level, matrix in matrices.items()
    }


def _save(figure, path: Path) -> None:
    figure.savefig(path, dpi=110)


def summary_lines(report_path: str | os.PathLike) -> list[str]:
    """One line per model from a ``robustness.json``: clean accuracy, thresholds, :data:`GALLERY_ATTACK` accuracy."""
    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    lines = []
    for name, result in report["models"].items():
        thresholds = ", ".join(
            f"{corruption} {values['fit']['threshold']:.2g}" for corruption, values in result["noise"].items()
        )
        curve = result["adversarial"][GALLERY_ATTACK]
        robust = ", ".join(
            f"eps {epsilon:g}: {value:.3f}"
            for epsilon, value in zip(curve["epsilons"], curve["accuracies"])
            if epsilon in (0.05, 0.1)
        )
        lines.append(
            f"{name}: clean accuracy {result['clean_accuracy']:.3f}; halfway thresholds {thresholds}; "
            f"{GALLERY_ATTACK.upper()} accuracy {robust or np.round(curve['accuracies'], 3).tolist()}"
        )
    return lines
