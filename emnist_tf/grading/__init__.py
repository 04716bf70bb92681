"""The grader: grading a class's notebooks against the solutions, never trusting a submission.

It is its own package so that the student's sandbox never mounts it.

* :mod:`emnist_tf.grading.sandbox`: one submission's bubblewrap sandbox and its limits.
* :mod:`emnist_tf.grading.isolation`: a user id and a cgroup per sandbox; opening a sandbox's files
  beneath its folder with no link followed (``open_beneath``).
* :mod:`emnist_tf.grading.runner`: the cell runner inside the sandbox (standalone, no emnist_tf import).
* :mod:`emnist_tf.grading.judge`: the trusted process that runs the checks on exported plain data.
* :mod:`emnist_tf.grading.grade`: grading one submission.
* :mod:`emnist_tf.grading.feedback`: the student's feedback file (grader text only).
* :mod:`emnist_tf.grading.gradebook`: grading a class (``--jobs``, resuming), the CSV gradebook.
* :mod:`emnist_tf.grading.manual`: written answers graded by hand (marking pages, marks merged from a CSV).
"""
