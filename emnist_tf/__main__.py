"""Lets ``python -m emnist_tf`` run the command line."""

import sys

from emnist_tf.cli import main

if __name__ == "__main__":
    sys.exit(main())
