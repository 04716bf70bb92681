"""Evaluation of trained models: metrics, figures and the MLP-versus-CNN comparison.

* :mod:`~emnist_tf.evaluation.metrics`: accuracy, precision/recall/F1 (macro and
  weighted), the per-class report, the confusion matrix and the most-confused pairs.
* :mod:`~emnist_tf.evaluation.figures`: confusion matrix, first six predictions,
  training curves, per-class F1.
* :mod:`~emnist_tf.evaluation.comparison`: one table and one figure for any runs.
* :mod:`~emnist_tf.evaluation.run_evaluation`: :func:`evaluate_run` on a saved run directory,
  :func:`evaluate_model` on a model in memory.

Example:
    >>> from emnist_tf.evaluation import evaluate_run, format_headline
    >>> print(format_headline(evaluate_run("runs/cnn")))   # doctest: +SKIP
"""

from emnist_tf.evaluation.comparison import COMPARISON_COLUMNS, comparison_table, format_comparison, plot_comparison
from emnist_tf.evaluation.figures import (
    figure_to_png,
    plot_confusion_matrix,
    plot_history,
    plot_per_class_f1,
    plot_predictions,
    save_figure,
)
from emnist_tf.evaluation.metrics import (
    classification_metrics,
    classification_report_text,
    confusion_matrix,
    cross_entropy,
    format_confused_pairs,
    most_confused_pairs,
    per_class_report,
)
from emnist_tf.evaluation.run_evaluation import (
    RESULT_FILES,
    evaluate_model,
    evaluate_predictions,
    evaluate_run,
    format_headline,
    load_metrics,
    write_figures,
)

__all__ = [
    "COMPARISON_COLUMNS",
    "RESULT_FILES",
    "classification_metrics",
    "classification_report_text",
    "comparison_table",
    "confusion_matrix",
    "cross_entropy",
    "evaluate_model",
    "evaluate_predictions",
    "evaluate_run",
    "figure_to_png",
    "format_comparison",
    "format_confused_pairs",
    "format_headline",
    "load_metrics",
    "most_confused_pairs",
    "per_class_report",
    "plot_comparison",
    "plot_confusion_matrix",
    "plot_history",
    "plot_per_class_f1",
    "plot_predictions",
    "save_figure",
    "write_figures",
]
