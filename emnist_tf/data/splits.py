"""The six EMNIST splits: sizes, classes and the class-to-character mapping.

Labels in this library are always class indices ``0 .. num_classes - 1``. NIST's
Letters files (and tfds) number the letters 1..26; :func:`to_class_indices`
shifts them in the one place where raw labels enter.

Example:
    >>> from emnist_tf.data import split_info, class_names
    >>> split_info("balanced").num_classes
    47
    >>> class_names("letters")[:3]
    ['Aa', 'Bb', 'Cc']
"""

from __future__ import annotations

import dataclasses
import functools
from importlib import resources

from emnist_tf.errors import DataError


@dataclasses.dataclass(frozen=True)
class SplitInfo:
    """What NIST publishes about one EMNIST split.

    Attributes:
        name: the split's name, e.g. ``"balanced"``.
        num_classes: number of classes the model predicts.
        train_size: images in NIST's official training file.
        test_size: images in NIST's official test file.
        label_offset: the first raw label in NIST's files (1 for letters, else 0).
        description: one line for people.
    """

    name: str
    num_classes: int
    train_size: int
    test_size: int
    label_offset: int
    description: str


SPLITS: dict[str, SplitInfo] = {
    info.name: info
    for info in (
        SplitInfo("balanced", 47, 112_800, 18_800, 0, "47 classes, digits and letters, similar letters merged"),
        SplitInfo("byclass", 62, 697_932, 116_323, 0, "62 classes: digits, capitals and small letters"),
        SplitInfo("bymerge", 47, 697_932, 116_323, 0, "47 classes, similar letters merged, unbalanced"),
        SplitInfo("letters", 26, 124_800, 20_800, 1, "26 letters, capital and small merged (NIST labels 1..26)"),
        SplitInfo("digits", 10, 240_000, 40_000, 0, "10 digits"),
        SplitInfo("mnist", 10, 60_000, 10_000, 0, "10 digits, MNIST's sizes"),
    )
}

SUBSETS = ("train", "test")


def split_info(split: str) -> SplitInfo:
    """Returns the :class:`SplitInfo` of ``split``.

    Raises:
        DataError: for an unknown split name; the message lists the valid ones.
    """
    try:
        return SPLITS[split]
    except KeyError:
        raise DataError(f"unknown EMNIST split {split!r}: choose one of {', '.join(SPLITS)}") from None


def check_subset(subset: str) -> str:
    """Returns ``subset`` if it is ``"train"`` or ``"test"``, else raises DataError."""
    if subset not in SUBSETS:
        raise DataError(f"unknown subset {subset!r}: choose 'train' or 'test'")
    return subset


def mapping_file_name(split: str) -> str:
    """NIST's name of the mapping file of ``split``."""
    return f"emnist-{split}-mapping.txt"


def parse_mapping(text: str, source: str = "mapping") -> dict[int, str]:
    """Parses NIST's mapping text ("label code [code ...]" per line) into label -> characters.

    Raises:
        DataError: if a line is not whole numbers.
    """
    mapping = {}
    for line_number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            label, *codes = (int(field) for field in fields)
        except ValueError:
            raise DataError(
                f"{source} line {line_number} is not 'label code [code]': {line.strip()!r}; "
                "use NIST's emnist-<split>-mapping.txt"
            ) from None
        mapping[label] = "".join(chr(code) for code in codes)
    return mapping


@functools.cache
def _packaged_mapping(split: str) -> dict[int, str]:
    text = resources.files("emnist_tf.data").joinpath("resources", mapping_file_name(split)).read_text()
    return parse_mapping(text, mapping_file_name(split))


def class_names(split: str) -> list[str]:
    """Returns the characters of each class index of ``split`` (NIST's official mapping).

    Letters give both cases of each class, e.g. ``"Aa"``.
    """
    info = split_info(split)
    mapping = _packaged_mapping(split)
    return [mapping[info.label_offset + index] for index in range(info.num_classes)]


def to_class_indices(raw_labels, split: str, source: str):
    """Turns raw labels from NIST's files or tfds into class indices ``0..C-1``.

    Args:
        raw_labels: integer NumPy array of labels as stored.
        split: the split the labels belong to.
        source: the file or source name, for the error message.

    Raises:
        DataError: if a label lies outside the split's range.
    """
    import numpy as np

    info = split_info(split)
    labels = np.asarray(raw_labels, dtype=np.int64) - info.label_offset
    bad = (labels < 0) | (labels >= info.num_classes)
    if bad.any():
        first = int(raw_labels[int(np.argmax(bad))])
        low, high = info.label_offset, info.label_offset + info.num_classes - 1
        raise DataError(
            f"{source}: label {first} is outside {low}..{high} for split {split!r} "
            f"({int(bad.sum())} such labels); the file belongs to another split or is corrupt"
        )
    return labels
