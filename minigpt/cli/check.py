"""``minigpt check``: prove every gradient by finite differences, from the installed package."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable


def _cmd_check(args: argparse.Namespace) -> int:
    from ..check import check_gradients, format_check_table

    start = time.perf_counter()
    rows = check_gradients(seed=args.seed)
    seconds = time.perf_counter() - start
    ok = all(row.ok for row in rows)
    if args.json:
        print(json.dumps({"rows": [vars(row) for row in rows], "ok": ok, "seconds": seconds}))
    else:
        print(format_check_table(rows))
        failed = sum(not row.ok for row in rows)
        verdict = "every gradient OK" if ok else f"{failed} of {len(rows)} NOT OK"
        print(f"\n{verdict} (float64 finite differences, {seconds:.1f} s)")
    return 0 if ok else 1


def add_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``minigpt check`` and its flags; ``command(name, **kwargs)`` makes its parser."""
    p = command("check", help="prove every gradient by finite differences (float64)",
                description="Check the backward of every op of minigpt.nn and the "
                            "gradients of a whole model against central finite "
                            "differences in float64; one row per op. Exit code 1 if "
                            "any is NOT OK.")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_check)
