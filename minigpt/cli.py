"""The ``minigpt`` command (also ``python -m minigpt``).

Each subcommand is a thin layer over a library function: parse the arguments, call it, print.
Errors a user can cause end in one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .config import GPT3_TABLE, count_params, gpt3_config


class UserError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


# ---------------------------------------------------------------------- params


def gpt3_param_table() -> list[dict[str, Any]]:
    """One row per GPT-3 model of Table 2.1: its shape and parameters, counted exactly.

    Returns
    -------
    list of dict
        Keys ``name, n_layer, d_model, n_head, d_head, n_params, paper_n_params,
        diff_percent, mlp_params, mlp_share``. ``n_params`` is :func:`count_params` of
        :func:`gpt3_config`; ``mlp_params`` counts the up- and down-projections with their
        biases; ``diff_percent`` is ``100 (n_params / paper - 1)``.

    Examples
    --------
    >>> row = gpt3_param_table()[-1]
    >>> row["name"], round(row["mlp_params"] / 1e9, 2), round(row["mlp_share"], 3)
    ('175B', 115.97, 0.664)
    """
    rows = []
    for name, (_, _, _, paper) in GPT3_TABLE.items():
        cfg = gpt3_config(name)
        groups = count_params(cfg, by="group")
        total = sum(groups.values())
        rows.append({
            "name": name, "n_layer": cfg.n_layer, "d_model": cfg.d_model,
            "n_head": cfg.n_head, "d_head": cfg.d_head, "n_params": total,
            "paper_n_params": int(paper), "diff_percent": 100 * (total / paper - 1),
            "mlp_params": groups["mlp"], "mlp_share": groups["mlp"] / total,
        })
    return rows


def _human(n: float) -> str:
    """125_239_296 -> '125.2M'."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(int(n))


def format_param_table(rows: list[dict[str, Any]]) -> str:
    """Render :func:`gpt3_param_table` rows as a fixed-width text table."""
    header = (f"{'model':<7} {'layers':>6} {'d_model':>7} {'heads':>5} {'d_head':>6} "
              f"{'parameters (exact)':>19} {'paper':>6} {'diff':>6} {'MLP params':>16} {'MLP share':>9}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['name']:<7} {r['n_layer']:>6} {r['d_model']:>7} {r['n_head']:>5} {r['d_head']:>6} "
            f"{r['n_params']:>19,} {_human(r['paper_n_params']):>6} {r['diff_percent']:>+5.1f}% "
            f"{r['mlp_params']:>16,} {r['mlp_share']:>8.1%}"
        )
    lines.append("")
    lines.append("Counts include the tied token embedding (V=50,257), the learned positions (2,048),")
    lines.append("biases and LayerNorms. XL uses 16 heads of 128 and 13B d_model 5,120: see gpt3_config.")
    return "\n".join(lines)


def cmd_params(args: argparse.Namespace) -> int:
    rows = gpt3_param_table()
    print(json.dumps({"models": rows}) if args.json else format_param_table(rows))
    return 0


# ---------------------------------------------------------------------- the parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``minigpt`` command, one subparser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="minigpt",
        description="A GPT-3-shaped transformer in numpy that shows where a model keeps its facts.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("params", help="print GPT-3's parameter counts (Table 2.1), exactly",
                       description="Count the parameters of the eight GPT-3 models of Table 2.1 "
                                   "from their shapes, and how many sit in the MLPs.")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=cmd_params)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``minigpt`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when ``None``.

    Returns
    -------
    int
        The exit code: 0 on success, 2 on a user error (reported in one line on stderr).
    """
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (UserError, ValueError, OSError) as e:
        print(f"minigpt {args.command}: error: {e}", file=sys.stderr)
        return 2
