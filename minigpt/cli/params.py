"""``minigpt params``: GPT-3's parameter counts (Table 2.1), counted exactly."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from ..config import GPT3_TABLE, count_params, gpt3_config


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
    """Render :func:`gpt3_param_table` rows as a fixed-width text table, 83 characters wide.

    The head width is left out (it is ``d_model / heads``); ``--json`` gives every field.
    """
    header = (f"{'model':<6} {'layers':>6} {'d_model':>7} {'heads':>5} {'parameters':>15} "
              f"{'paper':>6} {'diff':>6} {'MLP params':>15} {'MLP share':>9}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['name']:<6} {r['n_layer']:>6} {r['d_model']:>7} {r['n_head']:>5} "
            f"{r['n_params']:>15,} {_human(r['paper_n_params']):>6} {r['diff_percent']:>+5.1f}% "
            f"{r['mlp_params']:>15,} {r['mlp_share']:>9.1%}"
        )
    lines.append("")
    lines.append("Exact counts, with the tied token embedding (V=50,257), the learned positions")
    lines.append("(2,048), biases and LayerNorms. XL: 16 heads of 128; 13B: d_model 5,120")
    lines.append("(see gpt3_config).")
    return "\n".join(lines)


def _cmd_params(args: argparse.Namespace) -> int:
    rows = gpt3_param_table()
    print(json.dumps({"models": rows}) if args.json else format_param_table(rows))
    return 0


def add_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``minigpt params`` and its flags; ``command(name, **kwargs)`` makes its parser."""
    p = command("params", help="print GPT-3's parameter counts (Table 2.1), exactly",
                description="Count the parameters of the eight GPT-3 models of Table 2.1 "
                            "from their shapes, and how many sit in the MLPs.")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=_cmd_params)
