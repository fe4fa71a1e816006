"""minigpt's causal tracing against ROME's, written here in PyTorch from the paper.

Meng et al. (2022), "Locating and Editing Factual Associations in GPT", section 2.1 and
their code (``experiments/causal_trace.py``): one batch holds the clean prompt (row 0) and
``S`` corrupted copies; a hook on the token embedding (``transformer.wte``) adds Gaussian
noise to the subject's tokens in rows 1..S; hooks on the states to restore
(``transformer.h.{l}``, ``.mlp`` or ``.attn``) copy row 0's value into rows 1..S at the
restored token; p(answer) is the softmax at the last position averaged over rows 1..S.
The model is a small Hugging Face GPT-2, taught a few facts, saved with
``save_pretrained`` beside a BPE tokenizer and read back by minigpt with ``load_hf_gpt2``.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from minigpt.bpe import train_bpe
from minigpt.data import load_capitals
from minigpt.hf import load_hf_gpt2
from minigpt.interp import causal_trace, encode_facts, subject_embedding_std, window_layers
from tests.helpers import require

S = 4  # noise samples
SEED = 3
CAPITALS = load_capitals()
# one template, so that only the subject tells the answers apart: France, South Korea (a
# multi-token subject), Argentina (a multi-token answer)
FACTS = [CAPITALS[0], CAPITALS[38], CAPITALS[48]]
LAYER_NAMES = {"resid": "transformer.h.{}", "mlp": "transformer.h.{}.mlp",
               "attn": "transformer.h.{}.attn"}
TRAIN_STEPS = 100


@pytest.fixture(scope="module")
def hf(tmp_path_factory):
    """(HF model in float64, minigpt model, tokenizer) from one saved folder."""
    torch, transformers = require("torch"), require("transformers")
    tok = train_bpe("".join(f.sentence + "\n" for f in CAPITALS) * 2, n_merges=150)
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(vocab_size=tok.vocab_size, n_positions=32, n_embd=32,
                                  n_layer=3, n_head=4, resid_pdrop=0.0, embd_pdrop=0.0,
                                  attn_pdrop=0.0, bos_token_id=None, eos_token_id=None,
                                  attn_implementation="eager")
    model = transformers.GPT2LMHeadModel(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(TRAIN_STEPS):  # teach the facts, so that corruption has effects
        for fact in FACTS:
            ids = torch.from_numpy(tok.encode(fact.sentence))[None]
            loss = model(ids, labels=ids).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    folder = tmp_path_factory.mktemp("hf_gpt2")
    model.eval().save_pretrained(folder)
    tok.save_files(folder / "vocab.json", folder / "merges.txt")
    ours, ours_tok = load_hf_gpt2(folder, dtype=np.float64)
    theirs = transformers.GPT2LMHeadModel.from_pretrained(folder, attn_implementation="eager")
    return theirs.double().eval(), ours, ours_tok


def rome_trace(torch, model, inputs, first, last, answer, noise, states, mode):
    """ROME's trace_with_patch: p(answer) averaged over the S corrupted rows, with the
    (token, layer name) ``states`` copied from the clean row."""
    S = noise.shape[0]
    batch = torch.from_numpy(np.tile(inputs, (S + 1, 1)))
    patch = defaultdict(list)
    for t, name in states:
        patch[name].append(t)
    modules = dict(model.named_modules())

    def corrupt(module, args, output):
        output[1:, first:last + 1] += torch.from_numpy(noise)
        return output

    def restore_hook(name):
        def hook(module, args, output):
            h = output[0] if isinstance(output, tuple) else output
            for t in patch[name]:
                h[1:, t] = h[0, t]
            return output
        return hook

    handles = [modules["transformer.wte"].register_forward_hook(corrupt)]
    handles += [modules[name].register_forward_hook(restore_hook(name)) for name in patch]
    try:
        with torch.no_grad():
            logits = model(batch).logits  # (S + 1, T', V)
    finally:
        for h in handles:
            h.remove()
    if mode == "first":
        return torch.softmax(logits[1:, -1], dim=-1).mean(dim=0)[answer[0]].item()
    A = len(answer)
    logp = torch.log_softmax(logits[1:, -A:], dim=-1)  # (S, A, V)
    picked = logp[:, torch.arange(A), torch.from_numpy(answer)].sum(dim=1)  # (S,)
    return picked.exp().mean().item()


@pytest.mark.parametrize("mode, window", [("first", 1), ("product", 2)])
def test_same_indirect_effects_as_rome(hf, mode, window):
    torch = require("torch")
    theirs, ours, tok = hf
    kinds = ["resid", "mlp", "attn"]
    result = causal_trace(ours, tok, FACTS, kinds=kinds, n_samples=S, seed=SEED, window=window,
                          mode=mode)
    encoded = encode_facts(tok, FACTS)
    std = 3 * subject_embedding_std(ours, encoded)
    rng = np.random.default_rng(SEED)  # the noise as causal_trace documents it
    L = ours.config.n_layer
    for n, e in enumerate(encoded):
        noise = rng.standard_normal((S, e.last - e.first + 1, ours.config.d_model)) * std
        inputs = e.inputs if mode == "product" else e.ids
        answer = e.answer if mode == "product" else e.answer[:1]
        clean = rome_trace(torch, theirs, inputs, e.first, e.last, answer, noise * 0, [], mode)
        low = rome_trace(torch, theirs, inputs, e.first, e.last, answer, noise, [], mode)
        assert result.p_clean[n] == pytest.approx(clean, rel=1e-7)
        assert result.p_corrupt[n] == pytest.approx(low, rel=1e-7, abs=1e-12)
        for k, kind in enumerate(kinds):
            table = np.empty((L, e.T))
            for layer in range(L):
                layers = window_layers(layer, window if kind != "resid" else 1, L)
                for t in range(e.T):  # ROME restores every token, also before the subject
                    states = [(t, LAYER_NAMES[kind].format(j)) for j in layers]
                    table[layer, t] = rome_trace(torch, theirs, inputs, e.first, e.last,
                                                 answer, noise, states, mode)
            np.testing.assert_allclose(result.fact_effect(n, kind), table - low, rtol=1e-6,
                                       atol=1e-9, err_msg=f"fact {n}, {kind}")
    assert result.p_clean.min() > 0.5 and result.total_effect > 0.1  # real effects compared
