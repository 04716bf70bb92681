"""TrainingConfig: the one configuration from sweep to fit (no data needed)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from emnist_tf.modeling.configuration import ConfigError, TrainingConfig
from emnist_tf.modeling.models import build_mlp
from emnist_tf.modeling.training import DEFAULT_TRAINING, default_config, train


def test_a_configuration_round_trips_through_its_file_and_is_frozen(tmp_path):
    config = default_config("cnn", epochs=3, seed=5)
    assert config.label_smoothing == DEFAULT_TRAINING["cnn"]["label_smoothing"] and config.epochs == 3
    config = config.replace(architecture={"filters": [16, 32], "dense_units": [64]})
    path = config.save(tmp_path / "config.json")
    assert TrainingConfig.load(path) == config
    assert TrainingConfig.from_dict(json.loads(Path(path).read_text())).to_dict() == config.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 4


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"model": "mlp", "architecture": {"hidden_units": [64, 32, 16]}, "epochs": 0}, "'epochs'"),
        ({"model": "mlp", "architecture": {"hidden_units": [64, 32, 16]}, "momentum": 0.9}, "'momentum' is unknown"),
        ({"model": "mlp", "architecture": {"hidden_units": [64, 32]}}, "'architecture.hidden_units'"),
    ],
)
def test_a_bad_file_stops_in_one_line_naming_the_file_and_the_key(tmp_path, values, key):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(values))
    with pytest.raises(ConfigError) as caught:
        TrainingConfig.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and key in message and "\n" not in message and "--" not in message
    with pytest.raises(ConfigError, match="not valid JSON"):
        path.write_text("{")
        TrainingConfig.load(path)


def test_values_train_cannot_run_are_refused_where_the_configuration_is_made():
    for changes, word in (
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"validation_fraction": 1}, "validation_fraction"),
    ):
        with pytest.raises(ConfigError, match=word):
            TrainingConfig(**changes)
    with pytest.raises(ConfigError, match="pass model='mlp' or 'cnn'"):
        TrainingConfig(architecture={"hidden_units": [8]})


def test_train_takes_the_configuration_whole_or_its_fields_as_keywords():
    rng = np.random.default_rng(0)
    images, labels = rng.random((64, 28, 28, 1), dtype="float32"), rng.integers(0, 4, 64)
    config = TrainingConfig(epochs=2, batch_size=32, validation_fraction=0.0, seed=1)
    whole = train(config, (images, labels), model=build_mlp(num_classes=4, hidden_units=(8,), seed=0), verbose=0)
    keywords = train(
        build_mlp(num_classes=4, hidden_units=(8,), seed=0),
        (images, labels),
        epochs=2,
        batch_size=32,
        validation_fraction=0.0,
        seed=1,
        verbose=0,
    )
    assert whole.epochs_run == keywords.epochs_run == 2
    np.testing.assert_allclose(whole.history["loss"], keywords.history["loss"], rtol=1e-5)
    built = train(
        config.replace(model="mlp", architecture={"hidden_units": [8]}, epochs=1), (images, labels), verbose=0
    )
    assert built.settings["model"] == "mlp" and built.model.output_shape[-1] == 4 and built.epochs_run == 1
    with pytest.raises(ValueError, match="nothing to train"):
        train(config, (images, labels), verbose=0)
    with pytest.raises(TypeError):
        train(config, (images, labels), momentum=0.9, verbose=0)
