"""``minigpt superposition``: nearly perpendicular directions, capacity, toy models, SAEs.

Each experiment is a function of the parsed arguments that returns its result as JSON-ready
data, its text and its figures; :func:`_cmd_superposition` prints them and writes the figures.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..runtime.atomic import save_png
from ..tables import jsonable
from .common import _check_plots, _load_model


def _perpendicular(args: argparse.Namespace) -> tuple[dict[str, Any], str, list[Any]]:
    from ..superposition import nearly_perpendicular, plot_angles

    r = nearly_perpendicular(n=args.n, d=args.d, steps=args.steps, seed=args.seed,
                             progress=not args.json)
    lines = [f"{r.n:,} unit vectors in {r.d} dimensions, Adam lr {r.lr}, {r.steps} steps "
             f"({r.seconds:.0f} s)"]
    for label, a in (("before", r.before), ("after", r.after)):
        lines.append(f"  {label:<6} angles {a.min_deg:6.2f} .. {a.max_deg:6.2f} degrees, "
                     f"{a.share_in_band:6.1%} within 89-91")
    lines.append(f"  Welch bound: some pair is at most {r.welch_angle_deg:.2f} degrees apart")
    lines.append(r.verdict)
    return r.to_dict(), "\n".join(lines), [("perpendicular", plot_angles(r))] if args.plots else []


def _capacity(args: argparse.Namespace) -> tuple[dict[str, Any], str, list[Any]]:
    from ..superposition import capacity_sweep, plot_capacity

    rows = capacity_sweep(seed=args.seed)
    lines = [f"{'d':>3} {'band':>7} {'found':>6} {'random':>7} {'JL':>6} {'Welch':>8}"]
    for r in rows:
        lines.append(f"{r.d:>3} {r.band_deg:>6.0f}° {r.n_found:>6} {r.n_random:>7.1f} "
                     f"{r.n_jl:>6.0f} {r.n_welch:>8.0f}")
    plots = [("capacity", plot_capacity(rows))] if args.plots else []
    return {"rows": [r.to_dict() for r in rows]}, "\n".join(lines), plots


def _toy(args: argparse.Namespace) -> tuple[dict[str, Any], str, list[Any]]:
    from ..superposition import plot_feature_directions, plot_wtw, sparsity_sweep

    results = sparsity_sweep(seed=args.seed)
    lines = [f"{'sparsity':>8} {'represented':>11}  norms ||W_i||"]
    for r in results:
        norms = " ".join(f"{x:.2f}" for x in r.metrics.norms)
        lines.append(f"{r.sparsity:>8.2f} {r.n_represented:>6} of {r.n}  {norms}")
    plots = ([("toy_wtw", plot_wtw(results)), ("toy_directions", plot_feature_directions(results))]
             if args.plots else [])
    return {"results": [r.to_dict() for r in results]}, "\n".join(lines), plots


def _facts_per_neuron(args: argparse.Namespace) -> tuple[dict[str, Any], str, list[Any]]:
    from ..superposition import facts_per_neuron, plot_facts_per_neuron

    result = facts_per_neuron(seed=args.seed)
    plots = []
    if args.plots:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        plot_facts_per_neuron(result, ax=ax)
        plots.append(("facts_per_neuron", fig))
    return result.to_dict(), result.to_table(), plots


def _sae(args: argparse.Namespace) -> tuple[dict[str, Any], str, list[Any]]:
    from ..superposition import plot_recovery, recover_planted_features, sae_on_model

    planted = recover_planted_features(seed=args.seed)
    report = {"planted": planted.to_dict()}
    text = "On planted features:\n" + planted.to_table()
    plots = []
    if args.checkpoint is not None:
        model, tokenizer = _load_model(args.checkpoint)
        on_model = sae_on_model(model, tokenizer, seed=args.seed)
        report["model"] = on_model.to_dict()
        text += "\n\nOn the facts model's neurons:\n" + on_model.to_table()
    if args.plots:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        plot_recovery(planted, ax=ax)
        plots.append(("sae_recovery", fig))
    return report, text, plots


SUPERPOSITION_EXPERIMENTS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "perpendicular": _perpendicular,
    "capacity": _capacity,
    "toy": _toy,
    "facts-per-neuron": _facts_per_neuron,
    "sae": _sae,
}


def _cmd_superposition(args: argparse.Namespace) -> int:
    _check_plots(args.plots or None)  # an empty --plots '' writes none, as no flag
    result, text, figures = SUPERPOSITION_EXPERIMENTS[args.experiment](args)
    written = []
    for name, fig in figures:
        written.append(save_png(fig, Path(args.plots) / f"{name}.png"))
    if args.json:
        print(json.dumps(jsonable({"experiment": args.experiment, **result, "plots": written})))
    else:
        print(text)
        for path in written:
            print(f"wrote {path}")
    return 0


def add_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``minigpt superposition`` and its flags; ``command(name, **kwargs)`` makes its parser."""
    p = command("superposition",
                help="nearly perpendicular directions, capacity, toy models",
                description="Experiments on superposition: 'perpendicular' reruns the "
                            "video's 10,000-vectors-in-100-dimensions run and checks its "
                            "claim; 'capacity' counts how many nearly perpendicular "
                            "directions fit; 'toy' trains Toy Models of Superposition; "
                            "'facts-per-neuron' measures how many facts an MLP stores "
                            "per neuron; 'sae' trains sparse autoencoders on planted "
                            "features (and on a facts model with --checkpoint).")
    p.add_argument("experiment", choices=sorted(SUPERPOSITION_EXPERIMENTS),
                   help="which experiment to run")
    p.add_argument("--n", type=int, default=10_000, help="vectors (perpendicular)")
    p.add_argument("--d", type=int, default=100, help="dimensions (perpendicular)")
    p.add_argument("--steps", type=int, default=250, help="Adam steps (perpendicular)")
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="sae: also train on this facts model's neurons (minigpt demo --out) "
                        "(default: planted features only)")
    p.add_argument("--seed", type=int, default=0, help="seed of the experiment")
    p.add_argument("--plots", default=None, metavar="DIR",
                   help="write PNG figures into this folder, made if needed (default: none)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_superposition)
