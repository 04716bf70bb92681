"""Feature visualisation: the input each unit prefers, by gradient ascent on the image.

After Erhan, Bengio, Courville and Vincent (2009), "Visualizing higher-layer
features of a deep network", in the style of tf-keras-vis: one batched
``tf.GradientTape`` loop optimises many units from several random starts each,
with small swappable callables for the score (:mod:`.objectives`), the
penalties (:mod:`.regularizers`) and the constraints and input modifiers
(:mod:`.modifiers`). :func:`write_preferred_inputs` does it all for a saved run
(:mod:`.saved_runs`, what ``emnist-tf visualize`` calls).

Example:
    >>> from emnist_tf.interpret.features import maximize_classes, top_activating_images, plot_preferred_inputs
    >>> result = maximize_classes(model, starts=4, seed=0)          # all 47 classes at once
    >>> top = top_activating_images(model, test_images, "logits", count=3)
    >>> plot_preferred_inputs(result, top).savefig("classes.png")
"""

from emnist_tf.interpret.activations import TopImages, top_activating_images, unit_activations
from emnist_tf.interpret.features.figures import plot_preferred_inputs
from emnist_tf.interpret.features.maximize import (
    Maximizer,
    PreferredInputs,
    Progress,
    default_constraints,
    default_input_modifiers,
    default_regularizers,
    feature_model,
    maximize,
    maximize_classes,
)
from emnist_tf.interpret.features.modifiers import Blur, ClipRange, Jitter, NormConstraint
from emnist_tf.interpret.features.objectives import ChannelMean, ClassLogit, ClassMargin, DenseUnit, UnitActivation
from emnist_tf.interpret.features.regularizers import L2Decay, TotalVariation, total_variation
from emnist_tf.interpret.features.saved_runs import write_preferred_inputs

__all__ = [
    "Blur",
    "ChannelMean",
    "ClassLogit",
    "ClassMargin",
    "ClipRange",
    "DenseUnit",
    "Jitter",
    "L2Decay",
    "Maximizer",
    "NormConstraint",
    "PreferredInputs",
    "Progress",
    "TopImages",
    "TotalVariation",
    "UnitActivation",
    "default_constraints",
    "default_input_modifiers",
    "default_regularizers",
    "feature_model",
    "maximize",
    "maximize_classes",
    "plot_preferred_inputs",
    "top_activating_images",
    "total_variation",
    "unit_activations",
    "write_preferred_inputs",
]
