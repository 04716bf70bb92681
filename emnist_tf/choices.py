"""The names a user chooses from: model kinds, activations, regularisers, optimisers, schedules.

Kept apart from the modules that implement them so that the command line can
list the choices without importing TensorFlow.
"""

MODEL_KINDS = ("mlp", "cnn")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "gelu", "swish")
REGULARIZERS = ("none", "l1", "l2")
OPTIMIZERS = ("sgd", "averaged_sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam")
SCHEDULES = ("constant", "step", "exponential", "cosine", "plateau")
# Sweep strategies are named by their registry, emnist_tf.tuning.strategies.STRATEGIES.
