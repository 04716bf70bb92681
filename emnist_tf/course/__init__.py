"""The course machinery: solution notebooks as the single source, exercises, grading.

* :mod:`emnist_tf.course.notebooks`: markers, cell metadata, exercise notebooks.
* :mod:`emnist_tf.course.build`: ``emnist-tf course build`` / ``course check``.
* :mod:`emnist_tf.course.execution`: cells in a fresh kernel with a time limit.
* :mod:`emnist_tf.course.grade`: grading one submission.
* :mod:`emnist_tf.course.feedback`: the student's feedback file.
* :mod:`emnist_tf.course.gradebook`: grading a folder, the CSV gradebook.
"""
