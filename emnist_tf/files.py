"""Writing files so that a kill at any moment leaves the old version or the new one, never half."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Writes ``text`` to ``path`` so that a reader sees the old or the new file, never half of it.

    The text goes to a temporary file in the same folder, is synced to disk, then replaces
    ``path`` in one rename; the temporary file is removed if anything fails.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path, state, *, indent: int | None = None) -> str:
    """Writes ``state`` as JSON to ``path`` with :func:`write_text_atomic`.

    Returns:
        ``path`` as a string.
    """
    text = json.dumps(state, indent=indent) + ("\n" if indent is not None else "")
    return os.fspath(write_text_atomic(path, text))
