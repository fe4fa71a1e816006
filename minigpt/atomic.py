"""Writing a file so that it is either the old one or the whole new one, never half of each.

A save interrupted by a crash, a full disk or Ctrl-C must not leave a truncated checkpoint
or weight file behind. :func:`atomic_path` hands out a temporary file beside the target;
only when the ``with`` block has finished writing it is the file flushed to disk and moved
onto the target with ``os.replace``, which is atomic on POSIX and Windows. Every file
minigpt writes (checkpoints, Hugging Face folders, tokenizer files, the command line's
figures through :func:`save_png`) goes through it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import Any


def _default_mode() -> int:
    """The permission bits ``open(path, "w")`` would give a new file (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """A temporary path to write ``path``'s new content to; it replaces ``path`` on success.

    Parameters
    ----------
    path : path
        The file to write. Its folder must exist.

    Yields
    ------
    str
        A fresh, empty file in the same folder (so the final move stays on one file
        system). Write it completely inside the block.

    Notes
    -----
    When the block ends normally, the temporary file is flushed with ``os.fsync``, given
    the permissions a new file would get, and moved onto ``path`` with ``os.replace``; on
    POSIX the folder is then synced so the move itself is durable. When the block raises,
    the temporary file is deleted and ``path`` is left exactly as it was.

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_path(target) as tmp:
    ...     with open(tmp, "w") as f:
    ...         _ = f.write("whole")
    >>> open(target).read()
    'whole'
    >>> import shutil; shutil.rmtree(os.path.dirname(target))
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if os.name == "posix":  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


FIGURE_DPI = 120  # the PNGs the command line writes


def save_png(fig: Any, path: str | os.PathLike) -> str:
    """Save a matplotlib figure as a PNG file through :func:`atomic_path`.

    Parameters
    ----------
    fig : matplotlib Figure
    path : path
        The PNG to write; its folder must exist.

    Returns
    -------
    str
        ``path``.
    """
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    return os.fspath(path)
