"""Building and training models: architectures, losses, optimisers, schedules, augmentation, training, run folders.

* :mod:`.models`: the MLP and CNN builders.
* :mod:`.losses`, :mod:`.optimizers`, :mod:`.schedules`, :mod:`.augmentation`: the pieces of a recipe.
* :mod:`.training`: the one training recipe (compile + fit) and :func:`~.training.train`.
* :mod:`.runs`: the run folder (model, history, settings) written after training.

Submodules are imported on use, so importing this package does not import TensorFlow.
"""
