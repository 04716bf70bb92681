"""The course machinery: solution notebooks as the single source, exercises, grading.

* :mod:`emnist_tf.course.notebooks`: markers, cell metadata (ours and nbgrader's), exercise notebooks.
* :mod:`emnist_tf.course.build`: ``emnist-tf course build`` / ``course check``.
* :mod:`emnist_tf.course.execution`: cells in a fresh Jupyter kernel with a time limit (the notebook tests).
* :mod:`emnist_tf.course.sandbox`: one submission's bubblewrap sandbox and its limits.
* :mod:`emnist_tf.course.runner`: the cell runner inside the sandbox (standalone, no emnist_tf import).
* :mod:`emnist_tf.course.judge`: the trusted process that runs the checks on exported plain data.
* :mod:`emnist_tf.course.grade`: grading one submission.
* :mod:`emnist_tf.course.feedback`: the student's feedback file (grader text only).
* :mod:`emnist_tf.course.gradebook`: grading a class (``--jobs``, resuming), the CSV gradebook.
"""
