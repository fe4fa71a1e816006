"""Writing a file so that it is either the old one or the whole new one, never half of each.

A save interrupted by a crash, a full disk or Ctrl-C must not leave a truncated checkpoint
or weight file behind. :func:`atomic_path` hands out a temporary file beside the target;
only when the ``with`` block has finished writing it is the file flushed to disk and moved
onto the target with ``os.replace``, which is atomic on POSIX and Windows. Every file
minigpt writes (checkpoints, Hugging Face folders, tokenizer files, the command line's
figures through :func:`save_png`) goes through it, and writes its bytes itself, so that a
save has exactly one temporary file, ``.NAME.XXXXXXXX.tmp`` beside ``NAME``.

A process killed outright (``SIGKILL``, power loss) cannot delete its temporary file. The
next save of the same target does: it removes the files of exactly that target's
temporary pattern last modified before this process imported minigpt, which no save of
this process can own.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import time
from collections.abc import Iterator
from typing import Any

TMP_SUFFIX = ".tmp"
# tempfile.mkstemp's names are prefix + 8 characters from this set + suffix.
TMP_RANDOM_RE = "[a-z0-9_]{8}"
# Temporary files last modified before this moment belong to no save of this process.
PROCESS_STARTED = time.time()
FOLDER_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def _default_mode() -> int:
    """The permission bits ``open(path, "w")`` would give a new file (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def temp_file_pattern(path: str | os.PathLike) -> re.Pattern[str]:
    """The names :func:`atomic_path` gives the temporary files of ``path`` (folder excluded).

    Examples
    --------
    >>> name = ".ckpt.safetensors.k2x_9abc.tmp"
    >>> bool(temp_file_pattern("/data/ckpt.safetensors").fullmatch(name))
    True
    >>> bool(temp_file_pattern("/data/ckpt").fullmatch(name))
    False
    """
    name = os.path.basename(os.fspath(path))
    return re.compile(re.escape(f".{name}.") + TMP_RANDOM_RE + re.escape(TMP_SUFFIX))


def remove_stale_temp_files(path: str | os.PathLike) -> list[str]:
    """Delete the temporary files that killed saves of ``path`` left behind.

    Parameters
    ----------
    path : path
        The target file; only its folder is searched.

    Returns
    -------
    list of str
        The paths removed (empty if the folder does not exist or holds none).

    Notes
    -----
    A file is removed only if its name matches :func:`temp_file_pattern` for exactly this
    target and it was last modified before this process imported :mod:`minigpt.atomic`
    (:data:`PROCESS_STARTED`). A save in progress in this process is therefore never
    touched; one in progress in another process is only at risk if it has not written
    since this process started, and then it fails with an error rather than leaving a
    wrong file. Files that cannot be listed or removed are left as they are.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    pattern = temp_file_pattern(path)
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            if not pattern.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and \
                        entry.stat(follow_symlinks=False).st_mtime < PROCESS_STARTED:
                    os.unlink(entry.path)
                    removed.append(entry.path)
    return removed


def _naming_target(err: OSError, path: str, tmp: str | None) -> OSError:
    """The same error, naming the user's ``path`` where it named the temporary file.

    ``tmp`` is None while the temporary file is being made (any error is then about
    ``path``'s folder); otherwise only errors about ``tmp``, or about no file, are renamed.
    """
    if err.errno is None or (tmp is not None and err.filename not in (tmp, None)):
        return err  # raised without an errno, or about another file
    strerror = err.strerror
    if tmp is None:
        directory = os.path.dirname(os.path.abspath(path))
        if os.path.exists(directory) and not os.path.isdir(directory):
            strerror = f"cannot be written: {directory} is not a folder"
        elif not os.path.isdir(directory):
            strerror = f"cannot be written: the folder {directory} does not exist"
        elif err.errno in FOLDER_NOT_WRITABLE:
            strerror = f"cannot be written: the folder {directory} is not writable ({strerror})"
        else:
            strerror = f"cannot be written in the folder {directory} ({strerror})"
    return OSError(err.errno, strerror, path)  # OSError picks the subclass from errno


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
        system), named ``.NAME.XXXXXXXX.tmp``. Write it completely inside the block.

    Raises
    ------
    OSError
        If the folder does not exist or is not writable, or the write fails; the error
        names ``path``, never the temporary file (an error from inside the block that
        names another file is passed on as it is).

    Notes
    -----
    When the block ends normally, the temporary file is flushed with ``os.fsync``, given
    the permissions a new file would get, and moved onto ``path`` with ``os.replace``; on
    POSIX the folder is then synced so the move itself is durable. When the block raises,
    the temporary file is deleted and ``path`` is left exactly as it was. Before the
    temporary file is made, those of earlier saves of ``path`` that were killed are
    removed (:func:`remove_stale_temp_files`).

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
    remove_stale_temp_files(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=TMP_SUFFIX,
                                   dir=directory)
    except OSError as err:
        raise _naming_target(err, path, None) from err  # always a new error: tmp is None
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        renamed = _naming_target(err, path, tmp) if isinstance(err, OSError) else err
        if renamed is err:
            raise
        raise renamed from err
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
