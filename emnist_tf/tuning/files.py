"""Writing files so that a kill at any moment leaves the old version or the new one, never half."""

from __future__ import annotations

import json
import os
import tempfile


def atomic_write_json(path, state, *, indent: int | None = None) -> str:
    """Writes ``state`` as JSON to ``path`` so that a reader sees the old or the new file, never half.

    Returns:
        ``path`` as a string.
    """
    path = os.fspath(path)
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(state, stream, indent=indent)
            if indent is not None:
                stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path
