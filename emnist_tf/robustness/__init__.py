"""How a network fails: corruptions and noise curves, adversarial attacks and training, the robustness report.

* :mod:`.corruptions`: Gaussian noise, salt-and-pepper, blur, occlusion; accuracy curves and psychometric fits.
* :mod:`.attacks`: the ``ATTACKS`` registry, one class per attack (FGSM, PGD), eager and graph mode alike.
* :mod:`.adversarial`: running the attacks, robust accuracy, adversarial training with any registered attack.
* :mod:`.report`: ``emnist-tf robustness``: the curves, galleries and ``robustness.json`` of saved runs.

Submodules are imported on use, so importing this package does not import TensorFlow.
"""
