"""``minigpt generate``: continue a prompt with a checkpoint or a GPT-2 folder."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from .common import UserError, _encode, _load_model, _positive_int

# generate prints its text at the end; a longer run is a job for GPT.generate in a script
MAX_NEW_TOKENS = 100_000


def _cmd_generate(args: argparse.Namespace) -> int:
    if (args.checkpoint is None) == (args.hf_dir is None):
        raise UserError("give exactly one of --checkpoint and --hf-dir")
    if not args.prompt:
        raise UserError("--prompt is empty: give the text the model should continue")
    if args.max_new_tokens > MAX_NEW_TOKENS:
        raise UserError(f"--max-new-tokens must be at most {MAX_NEW_TOKENS:,}, "
                        f"got {args.max_new_tokens:,}")
    if args.hf_dir is not None:
        from ..hf import load_hf_gpt2

        try:
            model, tokenizer = load_hf_gpt2(args.hf_dir)
        except (TypeError, AttributeError) as e:  # weights numpy cannot use (e.g. float8)
            raise UserError(f"cannot use the folder {args.hf_dir}: {e}") from e
        source = args.hf_dir
    else:
        model, tokenizer = _load_model(args.checkpoint)
        source = args.checkpoint
    if tokenizer is None:
        raise UserError(f"{source} holds no tokenizer")
    prompt_ids = _encode(tokenizer, args.prompt, "the prompt",
                         "this model knows only the {n} {noun} of its training corpus: use "
                         "those, or train it on a corpus that has them")
    if len(prompt_ids) > model.config.n_ctx:
        prompt_ids = prompt_ids[-model.config.n_ctx:]  # the model sees its last n_ctx tokens
    temperature = 0.0 if args.greedy else args.temperature
    ids = model.generate(prompt_ids, args.max_new_tokens, temperature=temperature,
                         top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    completion = tokenizer.decode(ids[len(prompt_ids):])
    if args.json:
        print(json.dumps({"prompt": args.prompt, "completion": completion,
                          "ids": ids.tolist(), "temperature": temperature}))
    else:
        print(args.prompt + completion)
    return 0


def add_command(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``minigpt generate`` and its flags; ``command(name, **kwargs)`` makes its parser."""
    p = command("generate", help="continue a prompt with a trained model",
                description="Generate text from a checkpoint, with a key/value cache.")
    p.add_argument("--checkpoint", default=None, metavar="FILE",
                   help="a checkpoint written by train or demo (default: none; give this "
                        "or --hf-dir)")
    p.add_argument("--hf-dir", default=None, metavar="DIR",
                   help="a Hugging Face GPT-2 folder (config.json, model.safetensors, "
                        "vocab.json, merges.txt) instead of a checkpoint (default: none)")
    p.add_argument("--prompt", required=True, help="text to continue (not empty)")
    p.add_argument("--max-new-tokens", type=int, default=50,
                   help=f"tokens to add, 0 to {MAX_NEW_TOKENS:,}")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="divides the logits before sampling; 0 (or --greedy) takes the most "
                        "likely token")
    p.add_argument("--greedy", action="store_true", help="always take the most likely token")
    p.add_argument("--top-k", type=_positive_int, default=None,
                   help="sample among the k most likely tokens only (default: all)")
    p.add_argument("--top-p", type=float, default=None,
                   help="sample among the most likely tokens holding this much probability, "
                        "in (0, 1] (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_generate)
