"""Which device TensorFlow trains on, and mixed precision where it helps.

Example:
    >>> from emnist_tf.devices import describe_device
    >>> describe_device()   # e.g. 'CPU (2 cores)' or 'GPU:0 (NVIDIA A100)'
"""

from __future__ import annotations

import os


def gpu_names() -> list[str]:
    """Returns a readable name for each visible GPU (empty on a CPU-only machine)."""
    import tensorflow as tf

    names = []
    for index, device in enumerate(tf.config.list_physical_devices("GPU")):
        details = tf.config.experimental.get_device_details(device)
        names.append(f"GPU:{index} ({details.get('device_name', 'unknown GPU')})")
    return names


def describe_device() -> str:
    """Returns the device Keras will train on, e.g. ``'GPU:0 (Tesla T4)'`` or ``'CPU (2 cores)'``."""
    gpus = gpu_names()
    if gpus:
        return gpus[0]
    return f"CPU ({os.cpu_count()} cores)"


def configure_precision(mixed_precision: bool | None = None) -> str:
    """Sets Keras' global dtype policy and returns its name.

    Mixed precision (float16 compute, float32 variables) speeds up training on
    GPUs with tensor cores and slows it down on CPUs, so by default it is turned
    on only when a GPU is present. Models must keep their last layer in float32
    (the library's builders do).

    Args:
        mixed_precision: True or False to force; None to decide by the device.
    """
    import keras

    use_mixed = bool(gpu_names()) if mixed_precision is None else mixed_precision
    policy = "mixed_float16" if use_mixed else "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy
