"""The course tooling: solution notebooks as the single source, exercises, lesson figures.

* :mod:`emnist_tf.course.notebooks`: markers, cell metadata (ours and nbgrader's), exercise notebooks.
* :mod:`emnist_tf.course.build`: ``emnist-tf course build`` / ``course check``.
* :mod:`emnist_tf.course.execution`: cells in a fresh Jupyter kernel with a time limit (the notebook tests).
* :mod:`emnist_tf.course.lesson_figures`: the lessons' figures.

Grading lives apart, in :mod:`emnist_tf.grading`.
"""
