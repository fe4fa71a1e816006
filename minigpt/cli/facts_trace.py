"""``minigpt facts trace``: where one fact of any GPT sits, by causal tracing."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from ..runtime.atomic import save_png
from ..tables import jsonable
from .common import (UserError, _add_model_flags, _check_plots, _encoded, _fact_prompt, _greedy,
                     _load_any)


def _cmd_facts_trace(args: argparse.Namespace) -> int:
    from ..interp import causal_trace, score_facts

    if not args.answer.strip():
        raise UserError("--answer is empty: give the answer the prompt should be completed "
                        "with")
    for flag, value in (("--samples", args.samples), ("--window", args.window)):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    _check_plots(args.plots)
    loaded = _load_any(args)
    fact = _fact_prompt(args.prompt, args.subject, args.answer)
    encoded = _encoded(loaded, fact)
    model, tokenizer = loaded.model, loaded.tokenizer
    scores = score_facts(model, tokenizer, [fact])
    said = _greedy(model, tokenizer, encoded.ids, encoded.A)
    trace = causal_trace(model, tokenizer, [fact], n_samples=args.samples, seed=args.seed,
                         window=min(args.window, model.config.n_layer))
    peaks = {}
    for kind in trace.kinds:
        layer, pos, effect = trace.peak(kind)
        peaks[kind] = {"layer": layer, "position": pos, "token": trace.labels[pos],
                       "indirect_effect": effect}
    written = []
    if args.plots:
        import matplotlib.pyplot as plt

        from ..interp import plot_causal_trace

        for kind in trace.kinds:
            fig, ax = plt.subplots(figsize=(6, 3.5))
            plot_causal_trace(trace, kind, ax=ax)
            written.append(save_png(fig, Path(args.plots) / f"trace_{kind}.png"))
            plt.close(fig)
    report = {"prompt": fact.prompt, "subject": fact.subject, "answer": fact.answer,
              "source": loaded.source, "tokens": trace.tokens[0],
              "subject_span": list(encoded.subject), "answer_tokens": encoded.A,
              "p_answer": float(scores.p[0]), "recalled": bool(scores.correct[0]),
              "rank": int(scores.rank[0]), "greedy": said, "peaks": peaks,
              "trace": trace.to_dict(), "plots": written}
    if args.json:
        print(json.dumps(jsonable(report)))
        return 0
    verdict = "recalled" if scores.correct[0] else "not recalled"
    print(f"{fact.prompt!r} -> {fact.answer!r}: p(answer) {scores.p[0]:.4f} (product over "
          f"{encoded.A} answer token{'s' if encoded.A > 1 else ''}), first token rank "
          f"{scores.rank[0]}; greedy continuation {said!r}: {verdict}")
    print(f"subject {fact.subject!r}: tokens {encoded.first}..{encoded.last} of "
          f"{encoded.T}\n")
    print(trace.to_table())
    print("\npeak per kind:")
    for kind, peak in peaks.items():
        print(f"  {kind:<5} layer {peak['layer']}, token {peak['position']} "
              f"({peak['token']!r}): indirect effect {peak['indirect_effect']:.3f}")
    print("\n" + trace.summary())
    for path in written:
        print(f"wrote {path}")
    return 0


def add_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``minigpt facts trace`` and its flags; ``command(name, **kwargs)`` makes its parser."""
    p = command("trace", help="causal tracing of one fact in any GPT",
                description="Where does the model keep this fact? Print p(answer), then "
                            "ROME's causal trace: the subject's embeddings are corrupted "
                            "with noise, and one hidden state at a time (residual stream, "
                            "MLP output, attention output, per layer and position) is "
                            "restored; the table shows how much each restores p(answer).")
    _add_model_flags(p)
    p.add_argument("--answer", required=True, help="the answer, e.g. 'Paris'")
    p.add_argument("--window", type=int, default=1,
                   help="restore the MLP and attention outputs of this many layers around "
                        "each layer at once (ROME: 10 of GPT-2 XL's 48)")
    p.add_argument("--samples", type=int, default=10, help="noise samples")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise")
    p.add_argument("--plots", default=None, metavar="DIR",
                   help="write trace_resid.png, trace_mlp.png and trace_attn.png into this "
                        "folder, made if needed (default: none)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_facts_trace)
