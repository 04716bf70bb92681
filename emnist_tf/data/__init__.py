"""EMNIST data: splits, sources (local NIST files or tfds), arrays, pipelines and views.

Example:
    >>> from emnist_tf.data import load_arrays, make_dataset, class_names
    >>> images, labels = load_arrays("balanced", "train", limit=5000, seed=0)
    >>> dataset = make_dataset(images, labels, batch_size=128, seed=0)
    >>> class_names("balanced")[labels[0]]
"""

from emnist_tf.data.inspect import class_count_table, class_counts, plot_samples
from emnist_tf.data.loading import EmnistData, describe_split, load_arrays, load_emnist, load_labels, upright_images
from emnist_tf.data.pipeline import make_dataset, train_validation_split
from emnist_tf.data.sampling import per_class_subsample, stratified_folds, stratified_subsample
from emnist_tf.data.splits import SPLITS, SplitInfo, class_names, split_info

__all__ = [
    "SPLITS",
    "EmnistData",
    "SplitInfo",
    "class_count_table",
    "class_counts",
    "class_names",
    "describe_split",
    "load_arrays",
    "load_emnist",
    "load_labels",
    "make_dataset",
    "per_class_subsample",
    "plot_samples",
    "split_info",
    "stratified_folds",
    "stratified_subsample",
    "train_validation_split",
    "upright_images",
]
