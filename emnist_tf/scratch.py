"""A fully connected network written from scratch in NumPy, trained by backpropagation.

Everything a framework hides is written out here: the forward pass, the output
error, the error propagated back through the transposed weights times the
activation's derivative, and the gradients of weights and biases, all vectorised
over the mini-batch (one matrix product per layer instead of a Python loop over
examples). :meth:`Network.train_epoch_per_example` keeps the textbook
one-example-at-a-time loop so that the speed-up of vectorising can be measured,
and :func:`gradient_check` compares backpropagation with finite differences and
with ``tf.GradientTape`` on the same weights.

Shapes: a batch of inputs is ``(batch, features)``; ``weights[l]`` is
``(units_out, units_in)`` and ``biases[l]`` is ``(units_out,)``, so a layer computes
``z = a @ W.T + b``.

Example:
    >>> from emnist_tf import scratch
    >>> network = scratch.Network([784, 20, 10], activation="sigmoid", cost="quadratic", seed=0)
    >>> history = network.fit(train_x, train_labels, epochs=30, batch_size=10,
    ...                       learning_rate=3.0, test_data=(test_x, test_labels))
    >>> network.save("digits.json"); same = scratch.Network.load("digits.json")
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from scipy import special

ACTIVATIONS = ("sigmoid", "relu")
COSTS = ("quadratic", "cross_entropy")
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax")
WEIGHT_INITS = ("scaled", "normal")
FORMAT_NAME = "emnist_tf.scratch.Network"
FORMAT_VERSION = 1


# ---------------------------------------------------------------- activations
def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-z)), without overflow warnings."""
    return special.expit(z)


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid: s(z) * (1 - s(z))."""
    s = special.expit(z)
    return s * (1.0 - s)


def relu(z: np.ndarray) -> np.ndarray:
    """max(0, z)."""
    return np.maximum(z, 0.0)


def relu_prime(z: np.ndarray) -> np.ndarray:
    """Derivative of ReLU: 1 where z > 0, else 0."""
    return (z > 0).astype(z.dtype)


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (rows of a batch)."""
    return special.softmax(z, axis=-1)


_HIDDEN = {"sigmoid": (sigmoid, sigmoid_prime), "relu": (relu, relu_prime)}


# ---------------------------------------------------------------- data helpers
def to_vectors(images: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Flattens images ``(N, 28, 28[, 1])`` to rows ``(N, 784)`` of ``dtype``."""
    images = np.asarray(images)
    return images.reshape(len(images), -1).astype(dtype, copy=False)


def one_hot(labels: np.ndarray, num_classes: int, dtype=np.float64) -> np.ndarray:
    """One-hot rows ``(N, num_classes)`` for integer class indices 0..num_classes-1.

    Raises:
        ValueError: if a label lies outside 0..num_classes-1.
    """
    labels = np.asarray(labels).astype(np.int64).ravel()
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must be class indices 0..{num_classes - 1}, got {labels.min()}..{labels.max()}; "
            "use class indices (emnist_tf.data.load_arrays returns them)"
        )
    targets = np.zeros((labels.size, num_classes), dtype=dtype)
    targets[np.arange(labels.size), labels] = 1.0
    return targets


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")


@dataclasses.dataclass
class History:
    """What :meth:`Network.fit` measured, one entry per epoch.

    Attributes:
        train_cost: mean cost on the training data after each epoch.
        test_accuracy: accuracy on ``test_data`` after each epoch (empty without it).
        epoch_seconds: wall time of each epoch's training (evaluation excluded).
    """

    train_cost: list[float] = dataclasses.field(default_factory=list)
    test_accuracy: list[float] = dataclasses.field(default_factory=list)
    epoch_seconds: list[float] = dataclasses.field(default_factory=list)

    @property
    def best_test_accuracy(self) -> float | None:
        """The highest per-epoch test accuracy, or None without test data."""
        return max(self.test_accuracy) if self.test_accuracy else None

    @property
    def best_epoch(self) -> int | None:
        """1-based epoch of the highest test accuracy, or None without test data."""
        return int(np.argmax(self.test_accuracy)) + 1 if self.test_accuracy else None

    @property
    def total_seconds(self) -> float:
        """Training time summed over epochs."""
        return float(sum(self.epoch_seconds))


# ---------------------------------------------------------------- the network
class Network:
    """A fully connected network trained by mini-batch SGD with hand-written backprop.

    Args:
        sizes: units per layer, input first, e.g. ``[784, 20, 10]``.
        activation: hidden activation, ``"sigmoid"`` or ``"relu"``.
        cost: ``"quadratic"`` (half the squared error) or ``"cross_entropy"``.
        output_activation: ``"sigmoid"`` (default) or ``"softmax"`` (cross-entropy only).
        weight_init: ``"scaled"`` (Gaussian with std sqrt(1/fan_in), sqrt(2/fan_in)
            for ReLU) or ``"normal"`` (standard Gaussian, the textbook's first recipe).
        seed: seed of the initial weights.
        dtype: float type of the parameters (float64 for gradient checks).

    Raises:
        ValueError: for fewer than two layers, a non-positive size or an unknown option.
    """

    def __init__(
        self,
        sizes,
        activation: str = "sigmoid",
        cost: str = "quadratic",
        output_activation: str = "sigmoid",
        weight_init: str = "scaled",
        seed: int | None = 0,
        dtype=np.float64,
    ) -> None:
        sizes = [int(size) for size in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least two positive layer sizes, got {sizes}")
        _check_choice("activation", activation, ACTIVATIONS)
        _check_choice("cost", cost, COSTS)
        _check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
        _check_choice("weight_init", weight_init, WEIGHT_INITS)
        if output_activation == "softmax" and cost != "cross_entropy":
            raise ValueError("a softmax output needs cost='cross_entropy'; use a sigmoid output for the quadratic cost")
        self.sizes = sizes
        self.activation = activation
        self.cost = cost
        self.output_activation = output_activation
        self.weight_init = weight_init
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        gain = 2.0 if activation == "relu" else 1.0
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            std = 1.0 if weight_init == "normal" else np.sqrt(gain / fan_in)
            self.weights.append((rng.standard_normal((fan_out, fan_in)) * std).astype(self.dtype))
            bias_std = 1.0 if weight_init == "normal" else 0.0
            self.biases.append((rng.standard_normal(fan_out) * bias_std).astype(self.dtype))

    # ------------------------------------------------------------ forward
    @property
    def num_layers(self) -> int:
        """Number of layers including the input layer."""
        return len(self.sizes)

    def _output(self, z: np.ndarray) -> np.ndarray:
        return softmax(z) if self.output_activation == "softmax" else sigmoid(z)

    def forward(self, inputs: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Runs the network and keeps what backprop needs.

        Args:
            inputs: a batch ``(batch, sizes[0])``.

        Returns:
            ``(activations, weighted_inputs)``: ``activations[0]`` is the input and
            ``activations[l]`` the output of layer l; ``weighted_inputs[l-1]`` is its z.
        """
        inputs = self._check_inputs(inputs)
        hidden, _ = _HIDDEN[self.activation]
        activations, weighted_inputs = [inputs], []
        for layer, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            z = activations[-1] @ weight.T + bias
            weighted_inputs.append(z)
            last = layer == len(self.weights) - 1
            activations.append(self._output(z) if last else hidden(z))
        return activations, weighted_inputs

    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """Output activations ``(batch, sizes[-1])`` for a batch of inputs."""
        return self.forward(inputs)[0][-1]

    def hidden_activations(self, inputs: np.ndarray, layer: int = 1) -> np.ndarray:
        """Activations ``(batch, sizes[layer])`` of hidden layer ``layer`` (1 = first hidden).

        Raises:
            ValueError: if ``layer`` is not a hidden layer.
        """
        if not 1 <= layer <= self.num_layers - 2:
            raise ValueError(f"layer must be a hidden layer 1..{self.num_layers - 2}, got {layer}")
        return self.forward(inputs)[0][layer]

    def accuracy(self, inputs: np.ndarray, labels: np.ndarray, batch_size: int = 5000) -> float:
        """Fraction of inputs whose largest output is the true class index."""
        labels = np.asarray(labels).ravel()
        correct = 0
        for start in range(0, len(labels), batch_size):
            outputs = self.predict(inputs[start : start + batch_size])
            correct += int(np.sum(np.argmax(outputs, axis=1) == labels[start : start + batch_size]))
        return correct / max(len(labels), 1)

    def total_cost(self, inputs: np.ndarray, targets: np.ndarray) -> float:
        """Mean cost per example for one-hot (or any) targets ``(batch, sizes[-1])``."""
        _, weighted_inputs = self.forward(inputs)
        return float(self._cost_from_logits(weighted_inputs[-1], np.asarray(targets, dtype=self.dtype)))

    def _cost_from_logits(self, z: np.ndarray, targets: np.ndarray) -> float:
        if self.cost == "quadratic":
            return 0.5 * np.sum((self._output(z) - targets) ** 2) / len(z)
        if self.output_activation == "softmax":
            log_partition = special.logsumexp(z, axis=1, keepdims=True)
            return np.sum(targets * (log_partition - z)) / len(z)
        # -[y ln s(z) + (1-y) ln(1-s(z))] == softplus(z) - y z, stable for any z.
        return np.sum(np.logaddexp(0.0, z) - targets * z) / len(z)

    # ------------------------------------------------------------ backward
    def output_error(self, output: np.ndarray, z: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """dC/dz at the output layer for a batch.

        Quadratic cost with sigmoid output: ``(a - y) * s'(z)``; cross-entropy with a
        sigmoid or softmax output: ``a - y`` (the derivative of the output cancels).
        """
        if self.cost == "quadratic":
            return (output - targets) * sigmoid_prime(z)
        return output - targets

    def backprop(self, inputs: np.ndarray, targets: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Gradients of the mean cost over a batch, vectorised over the batch.

        Args:
            inputs: ``(batch, sizes[0])``.
            targets: ``(batch, sizes[-1])``, e.g. one-hot rows.

        Returns:
            ``(weight_gradients, bias_gradients)`` with the shapes of the parameters.
        """
        activations, weighted_inputs = self.forward(inputs)
        _, derivative = _HIDDEN[self.activation]
        batch = len(inputs)
        delta = self.output_error(activations[-1], weighted_inputs[-1], targets)
        weight_gradients = [np.empty(0)] * len(self.weights)
        bias_gradients = [np.empty(0)] * len(self.biases)
        for layer in range(len(self.weights) - 1, -1, -1):
            weight_gradients[layer] = delta.T @ activations[layer] / batch
            bias_gradients[layer] = delta.sum(axis=0) / batch
            if layer > 0:  # back through the transposed weights, times the activation's slope
                delta = (delta @ self.weights[layer]) * derivative(weighted_inputs[layer - 1])
        return weight_gradients, bias_gradients

    def backprop_example(self, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The textbook backprop for ONE example (1-D ``x`` and ``y``), for comparison."""
        hidden, derivative = _HIDDEN[self.activation]
        activation, activations, zs = x, [x], []
        for layer, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            z = weight @ activation + bias
            zs.append(z)
            activation = self._output(z) if layer == len(self.weights) - 1 else hidden(z)
            activations.append(activation)
        delta = self.output_error(activations[-1], zs[-1], y)
        weight_gradients = [np.outer(delta, activations[-2])]
        bias_gradients = [delta]
        for layer in range(len(self.weights) - 2, -1, -1):
            delta = (self.weights[layer + 1].T @ delta) * derivative(zs[layer])
            weight_gradients.insert(0, np.outer(delta, activations[layer]))
            bias_gradients.insert(0, delta)
        return weight_gradients, bias_gradients

    def sgd_step(self, inputs: np.ndarray, targets: np.ndarray, learning_rate: float) -> None:
        """One gradient-descent step on a mini-batch (vectorised)."""
        weight_gradients, bias_gradients = self.backprop(inputs, targets)
        for weight, bias, grad_w, grad_b in zip(self.weights, self.biases, weight_gradients, bias_gradients):
            weight -= learning_rate * grad_w
            bias -= learning_rate * grad_b

    # ------------------------------------------------------------ training
    def train_epoch(self, inputs, targets, *, batch_size: int, learning_rate: float, rng) -> None:
        """One epoch of mini-batch SGD, each mini-batch in one vectorised backprop."""
        order = rng.permutation(len(inputs))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            self.sgd_step(inputs[batch], targets[batch], learning_rate)

    def train_epoch_per_example(self, inputs, targets, *, batch_size: int, learning_rate: float, rng) -> None:
        """The same epoch as :meth:`train_epoch`, one example at a time (the textbook loop).

        The same ``rng`` state gives the same mini-batches and, up to rounding, the
        same weights as :meth:`train_epoch`; only the speed differs.
        """
        order = rng.permutation(len(inputs))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            sum_w = [np.zeros_like(weight) for weight in self.weights]
            sum_b = [np.zeros_like(bias) for bias in self.biases]
            for index in batch:
                grad_w, grad_b = self.backprop_example(inputs[index], targets[index])
                sum_w = [total + grad for total, grad in zip(sum_w, grad_w)]
                sum_b = [total + grad for total, grad in zip(sum_b, grad_b)]
            for weight, bias, total_w, total_b in zip(self.weights, self.biases, sum_w, sum_b):
                weight -= learning_rate / len(batch) * total_w
                bias -= learning_rate / len(batch) * total_b

    def fit(
        self,
        inputs: np.ndarray,
        labels: np.ndarray,
        *,
        epochs: int = 30,
        batch_size: int = 10,
        learning_rate: float = 3.0,
        test_data: tuple[np.ndarray, np.ndarray] | None = None,
        seed: int = 0,
        per_example: bool = False,
        verbose: bool = False,
    ) -> History:
        """Trains by mini-batch SGD and records cost, test accuracy and time per epoch.

        Args:
            inputs: images ``(N, 28, 28[, 1])`` or rows ``(N, sizes[0])``.
            labels: class indices ``(N,)`` (turned into one-hot targets here).
            epochs: passes over the data.
            batch_size: examples per mini-batch.
            learning_rate: the step size eta.
            test_data: optional ``(images, labels)`` scored after every epoch.
            seed: seed of the shuffling.
            per_example: use the one-example-at-a-time loop (slow; for comparison).
            verbose: print one line per epoch.

        Returns:
            A :class:`History`.

        Raises:
            ValueError: for non-positive epochs, batch size or learning rate.
        """
        if epochs < 1 or batch_size < 1 or learning_rate <= 0:
            raise ValueError(
                f"epochs and batch_size must be >= 1 and learning_rate > 0, got {epochs}, {batch_size}, {learning_rate}"
            )
        inputs = to_vectors(inputs, self.dtype)
        targets = one_hot(labels, self.sizes[-1], self.dtype)
        if test_data is not None:
            test_data = (to_vectors(test_data[0], self.dtype), np.asarray(test_data[1]).ravel())
        rng = np.random.default_rng(seed)
        step = self.train_epoch_per_example if per_example else self.train_epoch
        history = History()
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            step(inputs, targets, batch_size=batch_size, learning_rate=learning_rate, rng=rng)
            history.epoch_seconds.append(time.perf_counter() - started)
            history.train_cost.append(self.total_cost(inputs, targets))
            if test_data is not None:
                history.test_accuracy.append(self.accuracy(*test_data))
            if verbose:
                accuracy = f", test accuracy {history.test_accuracy[-1]:.4f}" if test_data is not None else ""
                print(
                    f"epoch {epoch:3d}: cost {history.train_cost[-1]:.4f}{accuracy} ({history.epoch_seconds[-1]:.2f} s)"
                )
        return history

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """The architecture and parameters as plain JSON-ready Python values."""
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "sizes": self.sizes,
            "activation": self.activation,
            "cost": self.cost,
            "output_activation": self.output_activation,
            "weight_init": self.weight_init,
            "dtype": self.dtype.name,
            "weights": [weight.tolist() for weight in self.weights],
            "biases": [bias.tolist() for bias in self.biases],
        }

    @classmethod
    def from_dict(cls, state: dict) -> Network:
        """Rebuilds a network from :meth:`to_dict`'s output.

        Raises:
            ValueError: if ``state`` is not a saved scratch network or its shapes disagree.
        """
        if not isinstance(state, dict) or state.get("format") != FORMAT_NAME:
            raise ValueError(f"not a saved scratch network (expected format {FORMAT_NAME!r})")
        network = cls(
            state["sizes"],
            activation=state["activation"],
            cost=state["cost"],
            output_activation=state.get("output_activation", "sigmoid"),
            weight_init=state.get("weight_init", "scaled"),
            seed=None,
            dtype=state.get("dtype", "float64"),
        )
        weights = [np.asarray(weight, dtype=network.dtype) for weight in state["weights"]]
        biases = [np.asarray(bias, dtype=network.dtype) for bias in state["biases"]]
        expected = [weight.shape for weight in network.weights] + [bias.shape for bias in network.biases]
        if [array.shape for array in weights + biases] != expected:
            raise ValueError("saved parameter shapes do not match the saved layer sizes; the file is damaged")
        network.weights, network.biases = weights, biases
        return network

    def save(self, path) -> Path:
        """Writes the network to a JSON file (floats round-trip exactly) and returns its path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict()))
        return path

    @classmethod
    def load(cls, path) -> Network:
        """Reads a network written by :meth:`save`.

        Raises:
            ValueError: if the file is not JSON of a saved scratch network.
        """
        try:
            state = json.loads(Path(path).read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not a JSON file of a scratch network ({error})") from None
        return cls.from_dict(state)

    def _check_inputs(self, inputs: np.ndarray) -> np.ndarray:
        inputs = np.asarray(inputs)
        if inputs.ndim != 2 or inputs.shape[1] != self.sizes[0]:
            inputs = inputs.reshape(len(inputs), -1) if inputs.ndim > 2 else inputs
        if inputs.ndim != 2 or inputs.shape[1] != self.sizes[0]:
            raise ValueError(
                f"inputs must be a batch of {self.sizes[0]} features, got shape {np.shape(inputs)}; "
                "flatten images first"
            )
        return inputs.astype(self.dtype, copy=False)


# ---------------------------------------------------------------- gradient checks
def numerical_gradients(network: Network, inputs, targets, epsilon: float = 1e-6):
    """Central finite differences of the mean cost for every weight and bias.

    Slow (two forward passes per parameter): use a tiny network.
    """
    inputs = network._check_inputs(inputs)
    targets = np.asarray(targets, dtype=network.dtype)
    results = []
    for group in (network.weights, network.biases):
        gradients = []
        for array in group:
            gradient = np.zeros_like(array)
            for index in np.ndindex(array.shape):
                saved = array[index]
                array[index] = saved + epsilon
                plus = network.total_cost(inputs, targets)
                array[index] = saved - epsilon
                minus = network.total_cost(inputs, targets)
                array[index] = saved
                gradient[index] = (plus - minus) / (2 * epsilon)
            gradients.append(gradient)
        results.append(gradients)
    return results[0], results[1]


def tensorflow_gradients(network: Network, inputs, targets):
    """The same gradients computed by ``tf.GradientTape`` on copies of the network's weights.

    The cost is written with TensorFlow's own ops (``tf.sigmoid``, ``tf.nn.relu``,
    ``tf.nn.softmax_cross_entropy_with_logits``...), independently of the NumPy code.
    """
    import tensorflow as tf

    dtype = tf.as_dtype(network.dtype.name)
    x = tf.constant(network._check_inputs(inputs), dtype=dtype)
    y = tf.constant(np.asarray(targets), dtype=dtype)
    weights = [tf.Variable(weight) for weight in network.weights]
    biases = [tf.Variable(bias) for bias in network.biases]
    hidden = tf.sigmoid if network.activation == "sigmoid" else tf.nn.relu
    with tf.GradientTape() as tape:
        activation = x
        for layer, (weight, bias) in enumerate(zip(weights, biases)):
            z = tf.matmul(activation, weight, transpose_b=True) + bias
            activation = z if layer == len(weights) - 1 else hidden(z)
        cost = _tensorflow_cost(network, activation, y)
    weight_gradients, bias_gradients = tape.gradient(cost, [weights, biases])
    return [grad.numpy() for grad in weight_gradients], [grad.numpy() for grad in bias_gradients]


def _tensorflow_cost(network: Network, logits, targets):
    import tensorflow as tf

    if network.cost == "quadratic":
        return 0.5 * tf.reduce_mean(tf.reduce_sum(tf.square(tf.sigmoid(logits) - targets), axis=1))
    if network.output_activation == "softmax":
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits))
    return tf.reduce_mean(tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits), axis=1))


def relative_error(first: np.ndarray, second: np.ndarray) -> float:
    """``|a - b| / max(|a| + |b|, tiny)`` with Euclidean norms over the whole array."""
    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    scale = np.linalg.norm(first) + np.linalg.norm(second)
    return float(np.linalg.norm(first - second) / max(scale, np.finfo(np.float64).tiny))


def gradient_check(network: Network, inputs, targets, *, epsilon: float = 1e-6) -> dict[str, float]:
    """Largest relative error of backprop against finite differences and against TensorFlow.

    Args:
        network: a small float64 network (finite differences cost two passes per parameter).
        inputs: a batch ``(batch, sizes[0])``.
        targets: ``(batch, sizes[-1])``.
        epsilon: finite-difference step.

    Returns:
        ``{"finite_differences": err, "tensorflow": err}``: the largest
        :func:`relative_error` over all weight and bias arrays (1e-6 or less means they agree).

    Raises:
        ValueError: if the network is not float64.
    """
    if network.dtype != np.float64:
        raise ValueError(f"gradient checks need a float64 network, got {network.dtype.name}; pass dtype=np.float64")
    backprop = network.backprop(network._check_inputs(inputs), np.asarray(targets, dtype=np.float64))
    errors = {}
    for name, reference in (
        ("finite_differences", numerical_gradients(network, inputs, targets, epsilon)),
        ("tensorflow", tensorflow_gradients(network, inputs, targets)),
    ):
        pairs = zip(backprop[0] + backprop[1], reference[0] + reference[1])
        errors[name] = max(relative_error(mine, theirs) for mine, theirs in pairs)
    return errors
