"""emnist_tf: a Keras/TensorFlow course on the EMNIST handwritten characters.

The public API is flat: every name below can be imported from ``emnist_tf``
directly. Names are loaded on first use, so ``import emnist_tf`` stays quick and
TensorFlow is imported only by what needs it.

Example:
    >>> import emnist_tf
    >>> images, labels = emnist_tf.load_arrays("balanced", "train", limit=5000)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # fast mode and devices
    "fast_mode": "emnist_tf.config",
    "set_fast_mode": "emnist_tf.config",
    "describe_device": "emnist_tf.devices",
    "configure_precision": "emnist_tf.devices",
    # errors
    "EmnistTfError": "emnist_tf.errors",
    "DataError": "emnist_tf.errors",
    "DataNotFoundError": "emnist_tf.errors",
    # data
    "SPLITS": "emnist_tf.data",
    "SplitInfo": "emnist_tf.data",
    "EmnistData": "emnist_tf.data",
    "split_info": "emnist_tf.data",
    "class_names": "emnist_tf.data",
    "load_arrays": "emnist_tf.data",
    "load_emnist": "emnist_tf.data",
    "load_labels": "emnist_tf.data",
    "describe_split": "emnist_tf.data",
    "make_dataset": "emnist_tf.data",
    "train_validation_split": "emnist_tf.data",
    "stratified_folds": "emnist_tf.data",
    "class_count_table": "emnist_tf.data",
    "plot_samples": "emnist_tf.data",
    # models, optimisers, schedules, training, saved runs
    "build_mlp": "emnist_tf.modeling.models",
    "build_cnn": "emnist_tf.modeling.models",
    "build_model": "emnist_tf.modeling.models",
    "hidden_layer_names": "emnist_tf.modeling.models",
    "make_optimizer": "emnist_tf.modeling.optimizers",
    "make_schedule": "emnist_tf.modeling.schedules",
    "schedule_curve": "emnist_tf.modeling.schedules",
    "plot_schedule": "emnist_tf.modeling.schedules",
    "train": "emnist_tf.modeling.training",
    "default_config": "emnist_tf.modeling.training",
    "TrainingConfig": "emnist_tf.modeling.configuration",
    "compile_model": "emnist_tf.modeling.training",
    "classification_loss": "emnist_tf.modeling.losses",
    "SmoothedSparseCrossentropy": "emnist_tf.modeling.losses",
    "TrainingResult": "emnist_tf.modeling.training",
    "TrainingDivergedError": "emnist_tf.modeling.training",
    "save_run": "emnist_tf.modeling.runs",
    "load_run": "emnist_tf.modeling.runs",
    "Run": "emnist_tf.modeling.runs",
    "RunError": "emnist_tf.modeling.runs",
    # evaluation and the report
    "evaluate_run": "emnist_tf.evaluation",
    "evaluate_model": "emnist_tf.evaluation",
    "classification_metrics": "emnist_tf.evaluation",
    "per_class_report": "emnist_tf.evaluation",
    "confusion_matrix": "emnist_tf.evaluation",
    "most_confused_pairs": "emnist_tf.evaluation",
    "plot_confusion_matrix": "emnist_tf.evaluation",
    "plot_predictions": "emnist_tf.evaluation",
    "plot_history": "emnist_tf.evaluation",
    "plot_per_class_f1": "emnist_tf.evaluation",
    "comparison_table": "emnist_tf.evaluation",
    "plot_comparison": "emnist_tf.evaluation",
    "load_metrics": "emnist_tf.evaluation",
    "build_report": "emnist_tf.evaluation.report",
    # technique sweeps
    "run_sweep": "emnist_tf.tuning",
    "run_greedy": "emnist_tf.tuning",
    "CrossValidationTuner": "emnist_tf.tuning",
    "MlpHyperModel": "emnist_tf.tuning",
    "CnnHyperModel": "emnist_tf.tuning",
    "make_hypermodel": "emnist_tf.tuning",
    "STRATEGIES": "emnist_tf.tuning.strategies",
    "load_config": "emnist_tf.modeling.configuration",
    "check_config": "emnist_tf.modeling.configuration",
    "save_config": "emnist_tf.modeling.configuration",
    "ConfigError": "emnist_tf.modeling.configuration",
    "run_assignment": "emnist_tf.assignment.pipeline",
    # inside the network
    "Network": "emnist_tf.scratch",
    "gradient_check": "emnist_tf.scratch",
    "plot_weight_heatmaps": "emnist_tf.interpret.neurons",
    "class_selectivity": "emnist_tf.interpret.neurons",
    "plot_selectivity": "emnist_tf.interpret.neurons",
    "plot_unit_portrait": "emnist_tf.interpret.neurons",
    "layer_activations": "emnist_tf.interpret.activations",
    "unit_activations": "emnist_tf.interpret.activations",
    "top_activating_images": "emnist_tf.interpret.activations",
    "untrained_copy": "emnist_tf.interpret.activations",
    "readout_by_depth": "emnist_tf.interpret.probes",
    "plot_readout_by_depth": "emnist_tf.interpret.probes",
    "plot_layer_maps": "emnist_tf.interpret.probes",
    # robustness, attacks, few-shot
    "corrupt": "emnist_tf.robustness.corruptions",
    "noise_curves": "emnist_tf.robustness.corruptions",
    "fit_psychometric": "emnist_tf.robustness.corruptions",
    "plot_noise_curves": "emnist_tf.robustness.corruptions",
    "confusion_at_levels": "emnist_tf.robustness.corruptions",
    "fgsm": "emnist_tf.robustness.adversarial",
    "pgd": "emnist_tf.robustness.adversarial",
    "robust_accuracy_curve": "emnist_tf.robustness.adversarial",
    "plot_epsilon_curves": "emnist_tf.robustness.adversarial",
    "plot_gallery": "emnist_tf.robustness.adversarial",
    "adversarial_training": "emnist_tf.robustness.adversarial",
    "make_episodes": "emnist_tf.interpret.fewshot",
    "evaluate_fewshot": "emnist_tf.interpret.fewshot",
    "fewshot_table": "emnist_tf.interpret.fewshot",
    "plot_fewshot": "emnist_tf.interpret.fewshot",
    # feature visualisation
    "maximize": "emnist_tf.interpret.features",
    "maximize_classes": "emnist_tf.interpret.features",
    "Maximizer": "emnist_tf.interpret.features",
    "PreferredInputs": "emnist_tf.interpret.features",
    "plot_preferred_inputs": "emnist_tf.interpret.features",
    "NormConstraint": "emnist_tf.interpret.features",
    "ClipRange": "emnist_tf.interpret.features",
    "Blur": "emnist_tf.interpret.features",
    "Jitter": "emnist_tf.interpret.features",
    "TotalVariation": "emnist_tf.interpret.features",
    "L2Decay": "emnist_tf.interpret.features",
    "ClassMargin": "emnist_tf.interpret.features",
    "ClassLogit": "emnist_tf.interpret.features",
    "DenseUnit": "emnist_tf.interpret.features",
    "ChannelMean": "emnist_tf.interpret.features",
}

if TYPE_CHECKING:  # what editors and type checkers see; at run time names load on first use (below)
    from emnist_tf.assignment.pipeline import run_assignment
    from emnist_tf.config import fast_mode, set_fast_mode
    from emnist_tf.data import (
        SPLITS,
        EmnistData,
        SplitInfo,
        class_count_table,
        class_names,
        describe_split,
        load_arrays,
        load_emnist,
        load_labels,
        make_dataset,
        plot_samples,
        split_info,
        stratified_folds,
        train_validation_split,
    )
    from emnist_tf.devices import configure_precision, describe_device
    from emnist_tf.errors import DataError, DataNotFoundError, EmnistTfError
    from emnist_tf.evaluation import (
        classification_metrics,
        comparison_table,
        confusion_matrix,
        evaluate_model,
        evaluate_run,
        load_metrics,
        most_confused_pairs,
        per_class_report,
        plot_comparison,
        plot_confusion_matrix,
        plot_history,
        plot_per_class_f1,
        plot_predictions,
    )
    from emnist_tf.evaluation.report import build_report
    from emnist_tf.interpret.activations import (
        layer_activations,
        top_activating_images,
        unit_activations,
        untrained_copy,
    )
    from emnist_tf.interpret.features import (
        Blur,
        ChannelMean,
        ClassLogit,
        ClassMargin,
        ClipRange,
        DenseUnit,
        Jitter,
        L2Decay,
        Maximizer,
        NormConstraint,
        PreferredInputs,
        TotalVariation,
        maximize,
        maximize_classes,
        plot_preferred_inputs,
    )
    from emnist_tf.interpret.fewshot import evaluate_fewshot, fewshot_table, make_episodes, plot_fewshot
    from emnist_tf.interpret.neurons import (
        class_selectivity,
        plot_selectivity,
        plot_unit_portrait,
        plot_weight_heatmaps,
    )
    from emnist_tf.interpret.probes import plot_layer_maps, plot_readout_by_depth, readout_by_depth
    from emnist_tf.modeling.configuration import ConfigError, TrainingConfig, check_config, load_config, save_config
    from emnist_tf.modeling.losses import SmoothedSparseCrossentropy, classification_loss
    from emnist_tf.modeling.models import build_cnn, build_mlp, build_model, hidden_layer_names
    from emnist_tf.modeling.optimizers import make_optimizer
    from emnist_tf.modeling.runs import Run, RunError, load_run, save_run
    from emnist_tf.modeling.schedules import make_schedule, plot_schedule, schedule_curve
    from emnist_tf.modeling.training import TrainingDivergedError, TrainingResult, compile_model, default_config, train
    from emnist_tf.robustness.adversarial import (
        adversarial_training,
        fgsm,
        pgd,
        plot_epsilon_curves,
        plot_gallery,
        robust_accuracy_curve,
    )
    from emnist_tf.robustness.corruptions import (
        confusion_at_levels,
        corrupt,
        fit_psychometric,
        noise_curves,
        plot_noise_curves,
    )
    from emnist_tf.scratch import Network, gradient_check
    from emnist_tf.tuning import (
        CnnHyperModel,
        CrossValidationTuner,
        MlpHyperModel,
        make_hypermodel,
        run_greedy,
        run_sweep,
    )
    from emnist_tf.tuning.strategies import STRATEGIES

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'emnist_tf' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
