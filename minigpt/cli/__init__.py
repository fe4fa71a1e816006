"""The ``minigpt`` command (also ``python -m minigpt``).

Each subcommand is a thin layer over a library function: parse the arguments, call it, print.
Errors a user can cause end in one line on stderr and exit code 2, never a traceback.
Ctrl-C ends in one line and exit code 130 (``train`` and ``demo`` first save a checkpoint
when they have somewhere to write it, and say how to resume); a reader that goes away
(``minigpt params | head -1``) ends the command quietly with exit code 141, as for other
Unix tools. Everything that would be thrown away by a late failure (an output folder
that does not exist, say) is checked before the work starts.

The package holds one module per command family (:mod:`~minigpt.cli.params`,
:mod:`~minigpt.cli.demo`, :mod:`~minigpt.cli.train`, :mod:`~minigpt.cli.generate`,
:mod:`~minigpt.cli.facts` with :mod:`~minigpt.cli.facts_trace` and
:mod:`~minigpt.cli.facts_edit`, :mod:`~minigpt.cli.superposition`,
:mod:`~minigpt.cli.check`): each defines its commands and their parser. The stories that
``minigpt facts`` prints are :mod:`~minigpt.cli.story` and :mod:`~minigpt.cli.file_story`;
what several commands share is :mod:`~minigpt.cli.common`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..model import NonFiniteError
from ..runtime.allocator import keep_freed_memory
from ..runtime.threads import blas_threads, threadpoolctl_available
from ..train import TrainingInterrupted
from . import check, demo, facts, generate, params, superposition, train
from .common import UserError, _HelpFormatter, _positive_int
from .params import format_param_table, gpt3_param_table

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `yes | head -1`'s writer
COMMANDS = (params, demo, train, generate, facts, superposition, check)  # in the help's order


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``minigpt`` command, one subparser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="minigpt", formatter_class=_HelpFormatter,
        description="A GPT-3-shaped transformer in numpy that shows where a model keeps its facts.",
    )
    parser.add_argument("--blas-threads", type=_positive_int, default=None, metavar="N",
                        help="BLAS threads for every matrix product (default: one per core); "
                             "1 is faster when other work keeps the cores busy "
                             "(needs threadpoolctl: pip install 'minigpt[fast]')")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, formatter_class=_HelpFormatter, **kwargs)

    for family in COMMANDS:
        family.add_command(command)
    return parser


def _interrupted(e: TrainingInterrupted, has_out: bool) -> str:
    """What Ctrl-C during training left behind, and the command that continues it;
    ``has_out``: whether the command has an --out flag to suggest."""
    if e.checkpoint is None:
        hint = " (--out FILE keeps a checkpoint)" if has_out else ""
        return f"interrupted after step {e.step}; nothing saved{hint}"
    path = shlex.quote(e.checkpoint)
    return (f"interrupted after step {e.step}; saved it to {e.checkpoint}; resume with: "
            f"minigpt train --resume {path} --out {path}")


def _quiet_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush of a pipe whose
    reader left does not fail again (the recipe of Python's ``signal`` docs)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``minigpt`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when ``None``.

    Returns
    -------
    int
        The exit code: 0 on success; 2 on an error the user can fix (one line on stderr:
        bad input, a file that cannot be read or written, training that diverged, not
        enough memory); 130 after Ctrl-C (one line; ``train`` and ``demo`` save first when
        they have an output file and print how to resume); 141, silently, when the reader
        of stdout went away (``minigpt params | head -1``). Anything else is a bug and
        shows its traceback.
    """
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    keep_freed_memory()  # this process is ours: reuse freed memory (see minigpt.allocator)

    def say(message: str, after_ctrl_c: bool = False) -> None:
        # on a terminal, Ctrl-C leaves the cursor after "^C" or a progress bar
        start = "\n" if after_ctrl_c and sys.stderr.isatty() else ""
        print(f"{start}minigpt {args.command}: {message}", file=sys.stderr)

    try:
        if args.blas_threads is not None and not threadpoolctl_available():
            raise UserError("--blas-threads needs threadpoolctl: pip install 'minigpt[fast]'")
        with blas_threads(args.blas_threads):
            code = func(args)
        sys.stdout.flush()  # a reader that went away shows here at the latest
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except TrainingInterrupted as e:
        say(_interrupted(e, has_out=hasattr(args, "out")), after_ctrl_c=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        say("interrupted", after_ctrl_c=True)
        return EXIT_INTERRUPTED
    except MemoryError as e:
        say(f"error: not enough memory: {e}")
        return EXIT_USER_ERROR
    except (UserError, ValueError, OSError, NonFiniteError) as e:
        say(f"error: {e}")
        return EXIT_USER_ERROR


__all__ = ["UserError", "build_parser", "format_param_table", "gpt3_param_table", "main"]
