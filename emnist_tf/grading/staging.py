"""What a sandbox mounts, gathered under one neutral temporary folder, so its ``/proc`` names no folder of yours.

Inside a sandbox, ``/proc/self/mountinfo`` shows for every bind mount the path
of its source within the source's file system: a neutral name inside the
sandbox (``/data/0``) does not hide it. So the sandbox never mounts the
instructor's folders themselves: :func:`stage` links the submission, the data
folders and the library into a fresh folder of the temporary folder
(``$TMPDIR/emnist-tf-mounts-*``) and the sandbox mounts those. Files are
hard-linked (no data is copied) where the temporary folder shares a file
system with them and the grader may link them; otherwise they are copied.
The sandbox thus sees its folders as they were when it started (a file added
to the data folder later is not there).
The grader's per-notebook work folder (scratch and inbox) is made the same way
(:func:`neutral_folder`) and is the judge's ``TMPDIR``, so the staged folder
lies inside it and every mount source the sandbox can name is a temporary
folder called ``emnist-tf-*``. Python's installation and virtual environment
(tens of thousands of files) are linked once per grading process, not per
notebook (:class:`StagedPython`, ``$TMPDIR/emnist-tf-python-*``), and only
where they can be linked: a copy would cost gigabytes, so on another file
system they are mounted from their own folders (see the README's trust model).

Example:
    >>> from emnist_tf.grading import staging
    >>> with staging.stage(submission, [data_folder], library) as sources:
    ...     sources.read_only[0]  # $TMPDIR/emnist-tf-mounts-k2j3/data/0
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

PREFIX = "emnist-tf-"
SKIPPED = ("__pycache__",)
# Files of a virtual environment that name where a package was installed from (a course repository, say):
# pip's record of a local install and the finders of editable installs. The sandbox needs none of them.
INSTALL_RECORDS = ("direct_url.json",)
EDITABLE_PREFIX = "__editable__"


@dataclasses.dataclass(frozen=True)
class Sources:
    """The host paths a sandbox mounts: the submission file, the read-only folders and the library package."""

    submission: Path
    read_only: tuple[Path, ...]
    library: Path


@contextlib.contextmanager
def neutral_folder(kind: str) -> Iterator[Path]:
    """A fresh folder ``$TMPDIR/emnist-tf-<kind>-*``, removed with everything in it when the block ends."""
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{kind}-") as folder:
        yield Path(folder)


def link_or_copy(source: Path, target: Path, *, link_only: bool = False) -> None:
    """Makes ``target`` the same file as ``source`` (a hard link), or a copy where linking is not allowed.

    A symbolic link is followed: ``target`` is the file it names.

    Args:
        source: the file.
        target: the new name (must not exist).
        link_only: raise the ``OSError`` where linking fails instead of copying.
    """
    try:
        os.link(os.path.realpath(source), target)
    except OSError:  # another file system, or a file the grader may read but not link
        if link_only:
            raise
        shutil.copy2(source, target)


def stage_tree(
    source: Path,
    target: Path,
    *,
    skip: tuple[str, ...] = SKIPPED,
    empty: tuple[str, ...] = (),
    link_only: bool = False,
    skip_prefix: str | None = None,
) -> Path:
    """Rebuilds the folder ``source`` at ``target``: folders made, files linked or copied.

    Symbolic links to files are followed (the sandbox could not follow them
    to their host path); links to folders are kept as links.

    Args:
        source: the folder to show.
        target: where its copy goes (must not exist).
        skip: names of files and folders left out, at any depth.
        empty: top-level folders made empty (a mount point the sandbox covers).
        link_only: raise ``OSError`` where a file cannot be hard-linked instead of copying it.
        skip_prefix: files whose names start with it are left out too, at any depth.

    Returns:
        ``target``.
    """
    for folder, directories, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        made = target / relative
        made.mkdir(parents=True)
        os.chmod(made, 0o755)
        kept = []
        for name in directories:
            if name in skip or (relative == Path(".") and name in empty):
                continue
            if os.path.islink(Path(folder) / name):
                os.symlink(os.readlink(Path(folder) / name), made / name)
                continue
            kept.append(name)
        directories[:] = kept
        for name in files:
            if name in skip or (skip_prefix and name.startswith(skip_prefix)):
                continue
            link_or_copy(Path(folder) / name, made / name, link_only=link_only)
    for name in empty:
        (target / name).mkdir(mode=0o755, exist_ok=True)
    return target


@contextlib.contextmanager
def stage(submission: Path, read_only: list[Path], library: Path) -> Iterator[Sources]:
    """The sandbox's mount sources, staged under one fresh neutral folder removed when the block ends.

    Args:
        submission: the submitted notebook.
        read_only: folders shown read-only (the data folder).
        library: the ``emnist_tf`` package folder to show (its ``grading``
            folder is left empty: the sandbox never sees the grader).
    """
    with neutral_folder("mounts") as root:
        (root / "submission").mkdir(mode=0o755)
        staged = root / "submission" / submission.name
        link_or_copy(submission, staged)
        folders = tuple(stage_tree(folder, root / "data" / str(index)) for index, folder in enumerate(read_only))
        package = stage_tree(library, root / "library" / library.name, empty=("grading",))
        yield Sources(staged, folders, package)


class StagedPython:
    """Python's folders hard-linked once under ``$TMPDIR/emnist-tf-python-*`` for every sandbox of a process.

    Every sandbox of a grading process mounts these copies, so the mount
    table names temporary folders, not the Python installation's or the
    virtual environment's own. Records of where packages were installed
    from (:data:`INSTALL_RECORDS`, editable finders) are left out; compiled
    caches are kept (the sandbox would compile every module at each start
    without them). Nothing is copied: where a file cannot be linked (another
    file system, a file the grader may not link), :meth:`folder` gives
    ``None`` and the caller mounts the folder itself.
    """

    def __init__(self):
        self._staged: dict[tuple[Path, tuple[str, ...], tuple[str, ...]], Path | None] = {}
        self._folders: list[Path] = []
        self._lock = threading.Lock()

    def folder(self, root: Path, parts: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> Path | None:
        """The linked copy of ``root``, made on first use, or ``None``.

        Args:
            root: the folder.
            parts: its entries to copy (default: all of them).
            skip: names of folders left out at any depth (``site-packages`` of an installation whose
                virtual environment does not use them).
        """
        key = (Path(root).resolve(), tuple(parts), tuple(skip))
        with self._lock:
            if key not in self._staged:
                self._staged[key] = self._stage(*key)
            return self._staged[key]

    def _stage(self, root: Path, parts: tuple[str, ...], skip: tuple[str, ...]) -> Path | None:
        if os.stat(tempfile.gettempdir()).st_dev != os.stat(root).st_dev:
            return None
        linked = Path(tempfile.mkdtemp(prefix=f"{PREFIX}python-"))
        self._folders.append(linked)
        os.chmod(linked, 0o755)
        try:
            for entry in sorted(parts or os.listdir(root)):
                source = root / entry
                if source.is_symlink() or not source.exists():
                    continue  # the sandbox makes links itself
                if source.is_dir():
                    stage_tree(
                        source, linked / entry, skip=INSTALL_RECORDS + skip, link_only=True, skip_prefix=EDITABLE_PREFIX
                    )
                else:
                    link_or_copy(source, linked / entry, link_only=True)
        except OSError:
            shutil.rmtree(linked, ignore_errors=True)
            return None
        return linked

    def close(self) -> None:
        """Removes every staged copy."""
        with self._lock:
            for folder in self._folders:
                shutil.rmtree(folder, ignore_errors=True)
            self._folders, self._staged = [], {}
