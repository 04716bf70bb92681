"""Looking inside a trained network: single units, representations across depth, few-shot transfer, preferred inputs.

* :mod:`.activations`: the one place that reads a layer (sub-models, the batched forward pass, units, copies).
* :mod:`.neurons`: first-layer weights, top images, class selectivity, one-unit portraits.
* :mod:`.probes`: linear read-outs of every hidden layer against depth; cluster quality; maps.
* :mod:`.fewshot`: N-way K-shot learning of unseen classes on a network's embedding.
* :mod:`.features`: activation maximisation (preferred inputs of classes, units and channels).

Submodules are imported on use, so importing this package does not import TensorFlow.
"""
