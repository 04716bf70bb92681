"""How a network fails: corruptions and noise curves, adversarial attacks and training, the robustness report.

* :mod:`.corruptions`: Gaussian noise, salt-and-pepper, blur, occlusion; accuracy curves and psychometric fits.
* :mod:`.adversarial`: FGSM and PGD (untargeted and targeted), robust accuracy, adversarial training.
* :mod:`.report`: ``emnist-tf robustness``: the curves, galleries and ``robustness.json`` of saved runs.

Submodules are imported on use, so importing this package does not import TensorFlow.
"""
