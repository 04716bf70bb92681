"""Errors a user can fix.

Every error raised for bad input carries a one-line message that says what is
wrong and what to do. The command line prints that line (never a traceback) and
exits with status 2.
"""

from __future__ import annotations


class EmnistTfError(Exception):
    """Base class: a problem with the user's input, data or environment."""


class DataError(EmnistTfError, ValueError):
    """A data file or folder is missing, corrupt or does not fit the split."""


class DataNotFoundError(DataError, FileNotFoundError):
    """No source could provide the requested split."""
