"""The whole assignment as one resumable pipeline: sweeps, final training, evaluation, one HTML report.

* :mod:`.budgets`: how much each budget (fast, evening, overnight) trains.
* :mod:`.pipeline`: :func:`~emnist_tf.assignment.pipeline.run_assignment`, what ``emnist-tf assignment`` runs.
* :mod:`.report`: the hand-in HTML page.

Example:
    >>> from emnist_tf.assignment.pipeline import run_assignment
    >>> run_assignment("runs/assignment", budget="evening")   # doctest: +SKIP
"""
