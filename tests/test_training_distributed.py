"""``train(..., distribute="mirrored")`` on a CPU split into two logical devices (in a subprocess:
logical devices must be configured before TensorFlow initialises)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3900)]  # the subprocess has its own hang guard (3600 s)

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from emnist_tf.modeling.models import build_mlp
    from emnist_tf.modeling.training import train

    rng = np.random.default_rng(0)
    labels = np.arange(512) % 10
    images = (rng.random((512, 28, 28, 1)) * 0.3 + labels[:, None, None, None] / 10).astype("float32")
    result = train("mlp", (images, labels), architecture={"hidden_units": [32, 32, 32]}, num_classes=10,
                   distribute="mirrored", epochs=2, batch_size=64, validation_fraction=0.0, verbose=0)
    cloned = train(build_mlp(num_classes=10, hidden_units=(16, 16, 16), seed=0), (images, labels),
                   distribute="mirrored", epochs=1, batch_size=64, validation_fraction=0.0, verbose=0)
    print(json.dumps({
        "replicas": result.model.distribute_strategy.num_replicas_in_sync,
        "strategy": type(result.model.distribute_strategy).__name__,
        "device": result.device,
        "loss": result.history["loss"],
        "cloned_replicas": cloned.model.distribute_strategy.num_replicas_in_sync,
        "settings": result.settings["distribute"],
    }))
    """
)


def test_mirrored_training_runs_on_two_logical_devices(tmp_path):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=environment, timeout=3600, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert facts["strategy"] == "MirroredStrategy" and facts["replicas"] == 2 and facts["cloned_replicas"] == 2
    assert "mirrored over 2 replica(s)" in facts["device"] and facts["settings"] == "mirrored"
    assert len(facts["loss"]) == 2 and facts["loss"][1] < facts["loss"][0]  # it learns
