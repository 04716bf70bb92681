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
    "describe_split": "emnist_tf.data",
    "make_dataset": "emnist_tf.data",
    "train_validation_split": "emnist_tf.data",
    "stratified_folds": "emnist_tf.data",
    "class_count_table": "emnist_tf.data",
    "plot_samples": "emnist_tf.data",
    # models, optimisers, schedules, training, saved runs
    "build_mlp": "emnist_tf.models",
    "build_cnn": "emnist_tf.models",
    "build_model": "emnist_tf.models",
    "hidden_layer_names": "emnist_tf.models",
    "make_optimizer": "emnist_tf.optimizers",
    "make_schedule": "emnist_tf.schedules",
    "schedule_curve": "emnist_tf.schedules",
    "plot_schedule": "emnist_tf.schedules",
    "train": "emnist_tf.training",
    "compile_model": "emnist_tf.training",
    "classification_loss": "emnist_tf.losses",
    "SmoothedSparseCrossentropy": "emnist_tf.losses",
    "TrainingResult": "emnist_tf.training",
    "TrainingDivergedError": "emnist_tf.training",
    "save_run": "emnist_tf.runs",
    "load_run": "emnist_tf.runs",
    "Run": "emnist_tf.runs",
    "RunError": "emnist_tf.runs",
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
    "build_report": "emnist_tf.report",
    # technique sweeps
    "run_sweep": "emnist_tf.tuning",
    "run_greedy": "emnist_tf.tuning",
    "CrossValidationTuner": "emnist_tf.tuning",
    "MlpHyperModel": "emnist_tf.tuning",
    "CnnHyperModel": "emnist_tf.tuning",
    "make_hypermodel": "emnist_tf.tuning",
    # inside the network
    "Network": "emnist_tf.scratch",
    "gradient_check": "emnist_tf.scratch",
    "plot_weight_heatmaps": "emnist_tf.neurons",
    "top_k_images": "emnist_tf.neurons",
    "class_selectivity": "emnist_tf.neurons",
    "plot_selectivity": "emnist_tf.neurons",
    "plot_unit_portrait": "emnist_tf.neurons",
    "layer_activations": "emnist_tf.probes",
    "readout_by_depth": "emnist_tf.probes",
    "plot_readout_by_depth": "emnist_tf.probes",
    "plot_layer_maps": "emnist_tf.probes",
    # robustness, attacks, few-shot
    "corrupt": "emnist_tf.robustness",
    "noise_curves": "emnist_tf.robustness",
    "fit_psychometric": "emnist_tf.robustness",
    "plot_noise_curves": "emnist_tf.robustness",
    "confusion_at_levels": "emnist_tf.robustness",
    "fgsm": "emnist_tf.adversarial",
    "pgd": "emnist_tf.adversarial",
    "robust_accuracy_curve": "emnist_tf.adversarial",
    "plot_epsilon_curves": "emnist_tf.adversarial",
    "plot_gallery": "emnist_tf.adversarial",
    "adversarial_training": "emnist_tf.adversarial",
    "make_episodes": "emnist_tf.fewshot",
    "evaluate_fewshot": "emnist_tf.fewshot",
    "fewshot_table": "emnist_tf.fewshot",
    "plot_fewshot": "emnist_tf.fewshot",
    # feature visualisation
    "maximize": "emnist_tf.features",
    "maximize_classes": "emnist_tf.features",
    "Maximizer": "emnist_tf.features",
    "PreferredInputs": "emnist_tf.features",
    "top_activating_images": "emnist_tf.features",
    "plot_preferred_inputs": "emnist_tf.features",
    "NormConstraint": "emnist_tf.features",
    "ClipRange": "emnist_tf.features",
    "Blur": "emnist_tf.features",
    "Jitter": "emnist_tf.features",
    "TotalVariation": "emnist_tf.features",
    "L2Decay": "emnist_tf.features",
    "ClassMargin": "emnist_tf.features",
    "ClassLogit": "emnist_tf.features",
    "DenseUnit": "emnist_tf.features",
    "ChannelMean": "emnist_tf.features",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'emnist_tf' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
