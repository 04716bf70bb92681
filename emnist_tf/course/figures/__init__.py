"""The lessons' figures, one module per group of lessons; :mod:`emnist_tf.course.lesson_figures` draws them.

* :mod:`.drawing`: the seed, synthetic glyphs, a 'valid' correlation, an empty figure.
* :mod:`.foundations`: lessons 01-04.
* :mod:`.training`: lessons 05-06.
* :mod:`.inside`: lessons 07-11.
"""
