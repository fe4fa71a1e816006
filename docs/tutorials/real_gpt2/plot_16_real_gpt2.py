"""
16. A real GPT-2
================

*Beyond the video:* its model is GPT-3 (:video:`2:15` recalls the architecture); GPT-2
is the same architecture with published weights.

Every model in this book so far was made here. GPT-2's weights are public, and its
architecture is the one this book built: pre-LayerNorm blocks, GELU, learned positions, an
unembedding tied to the token embedding. Loading them is bookkeeping: the arrays get other
names, some are stored transposed, and text becomes ids by GPT-2's own tokenizer,
byte-level byte-pair encoding (:term:`BPE`). This chapter does both on numpy alone, with a small
random model and a handful of hand-written merges standing in for the downloaded ones
(these pages are built offline).
"""

# %%
# The same weights, another layout
# --------------------------------
#
# Hugging Face's GPT-2 computes each linear layer with a ``Conv1D`` that stores its weight
# as :math:`(C_{in}, C_{out})`; minigpt keeps the video's :math:`(C_{out}, C_{in})`, so that
# row :math:`i` of :math:`W_{up}` is the question neuron :math:`i` asks:
#
# .. math::
#
#     y = x\,W_{\mathrm{c\_fc}} + b = x\,W_{up}^{T} + b_{up}
#     \qquad\Longleftrightarrow\qquad W_{up} = W_{\mathrm{c\_fc}}^{T}.
#
# So a weight is transposed on the way in and out, a bias or LayerNorm is copied, and
# GPT-2's ``c_attn`` is minigpt's fused :math:`W_{qkv}` (columns ``[q | k | v]``). The
# table of names, and :func:`minigpt.hf.from_hf_gpt2`, which applies it:
#
# .. literalinclude:: /../minigpt/hf/mapping.py
#    :start-at: # Per block: (GPT-2 name
#    :end-before: OUTER_NAMES = (
#    :caption: minigpt/hf/mapping.py
#
# .. literalinclude:: /../minigpt/hf/mapping.py
#    :pyobject: from_hf_gpt2
#    :no-docstring:

import dataclasses
import json
import os
import shutil
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import minigpt as mg
from minigpt.bpe import BYTE_TO_CHAR, GPT2Tokenizer, pretokenize
from minigpt.hf import BLOCK_NAMES, config_from_hf, load_hf_gpt2, save_hf_gpt2, to_hf_gpt2

# %%
# A model with GPT-2's vocabulary and context, two narrow blocks, random weights; its first
# block under both sets of names (:func:`minigpt.hf.to_hf_gpt2`):

cfg = mg.GPTConfig(vocab_size=50257, n_ctx=1024, n_layer=2, n_head=4, d_model=64)
model = mg.GPT(cfg, seed=0)
state = to_hf_gpt2(model.params)  # what GPT2LMHeadModel.state_dict() would hold
print(f"{'minigpt: blocks.0.':<20} {'shape':>9}   {'GPT-2: transformer.h.0.':<23} {'shape':>9}")
for hf, name, transposed in BLOCK_NAMES:
    ours, theirs = model.params[f"blocks.0.{name}"], state[f"transformer.h.0.{hf}"]
    assert np.array_equal(ours, theirs.T if transposed else theirs)
    print(f"{name:<20} {str(ours.shape):>9}   {hf:<23} {str(theirs.shape):>9}"
          f"{'  transposed' if transposed else ''}")
C = cfg.d_model
w_qkv, c_attn = model.params["blocks.0.attn.w_qkv"], state["transformer.h.0.attn.c_attn.weight"]
assert np.array_equal(w_qkv[:C], c_attn[:, :C].T)  # W_q: the first C rows, the first C columns
w_up, c_fc = model.params["blocks.0.mlp.w_up"], state["transformer.h.0.mlp.c_fc.weight"]
assert np.array_equal(w_up[7], c_fc[:, 7])  # neuron 7's question: a row here, a column there
print(f"{len(state)} tensors for GPT-2 (lm_head.weight is a copy of wte), "
      f"{len(model.params)} for minigpt")

# %%
# The sizes are the same too. GPT-2 small's ``config.json`` (12 layers of width 768, 12
# heads, 1024 positions), read by :func:`~minigpt.hf.config_from_hf`, is GPT-3 Small of
# chapter 3 with half its context, so with fewer position embeddings:

gpt2_small = config_from_hf({"vocab_size": 50257, "n_positions": 1024, "n_embd": 768,
                             "n_layer": 12, "n_head": 12, "activation_function": "gelu_new"})
gpt3_small = mg.gpt3_config("small")
assert gpt2_small == dataclasses.replace(gpt3_small, n_ctx=gpt3_small.n_ctx // 2)
n_gpt2, n_gpt3 = mg.count_params(gpt2_small), mg.count_params(gpt3_small)
assert n_gpt3 - n_gpt2 == (gpt3_small.n_ctx - gpt2_small.n_ctx) * gpt2_small.d_model
print(f"GPT-2 small: {n_gpt2:,} parameters; GPT-3 Small: {n_gpt3:,};")
print(f"the difference, {n_gpt3 - n_gpt2:,}, is {gpt3_small.n_ctx - gpt2_small.n_ctx} more "
      f"positions x {gpt2_small.d_model}")

# %%
# A Hugging Face folder, and back
# -------------------------------
#
# :func:`~minigpt.hf.save_hf_gpt2` writes the folder that ``save_pretrained`` writes,
# ``config.json`` (:func:`~minigpt.hf.config_to_hf`) and ``model.safetensors``;
# :func:`~minigpt.hf.load_hf_gpt2` reads one back. The logits must not change by a bit.

folder = tempfile.mkdtemp()
save_hf_gpt2(folder, model)
loaded, no_tokenizer = load_hf_gpt2(folder)
idx = np.random.default_rng(0).integers(0, cfg.vocab_size, size=(2, 16))  # (B, T)
logits, logits_back = model.forward(idx), loaded.forward(idx)  # (B, T, V) each
assert no_tokenizer is None and np.array_equal(logits, logits_back)
print(f"files: {sorted(os.listdir(folder))}; logits {logits.shape} identical: "
      f"{np.array_equal(logits, logits_back)}")
with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
    print(f.read())

# %%
# A downloaded GPT-2 (``config.json``, ``model.safetensors``, ``vocab.json``,
# ``merges.txt``) loads the same way, and the command line continues a prompt with it:
#
# .. code-block:: bash
#
#    minigpt generate --hf-dir gpt2/ --greedy \
#        --prompt "Michael Jordan plays the sport of"
#
# GPT-2's tokenizer, step by step
# -------------------------------
#
# :class:`minigpt.tokenizers.bpe.GPT2Tokenizer` reads ``vocab.json`` and ``merges.txt``. First,
# :func:`minigpt.tokenizers.bpe.pretokenize` cuts the text into words, numbers and punctuation, a word
# keeping the space in front of it; merges never cross these cuts. Then each piece's UTF-8
# bytes are written as printable characters (:data:`~minigpt.tokenizers.bpe.byte_chars.BYTE_TO_CHAR`),
# so the space shows as ``Ġ``:

sentence = "Michael Jordan plays basketball"
pieces = pretokenize(sentence)
print(pieces)
print([" ".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8")) for piece in pieces])
assert BYTE_TO_CHAR[ord(" ")] == "Ġ" and len(BYTE_TO_CHAR) == 256

# %%
# Then the merges. Training GPT-2's tokenizer produced a list of pairs of symbols to join
# into one, the most frequent pair first; a pair's place in the list is its *rank*. Each
# merge adds one token, so the vocabulary is the 256 bytes, one token per merge and
# ``<|endoftext|>`` (its size gives the number of merges, printed below). In each piece, of
# all adjacent pairs, the one of lowest rank is joined wherever it occurs, and the search
# repeats until no pair has a rank:
#
# .. literalinclude:: /../minigpt/tokenizers/bpe/tokenizer.py
#    :pyobject: GPT2Tokenizer._merge_reference
#    :no-docstring:
#    :caption: minigpt/tokenizers/bpe/tokenizer.py
#
# This rescans the whole piece for every merge, so a word of n bytes can cost n^2 steps.
# The tokenizer runs ``GPT2Tokenizer._merge`` instead, which gives the same tokens in
# O(n log n): it links the symbols in a list and keeps, for each rank, the places where its
# pair stands, taking the ranks from a heap.
#
# Here instead are a few merges written by hand for this sentence, each built from earlier
# ones as training builds them; they make three of its words but leave *basketball* in
# pieces. The vocabulary is the 256 bytes plus one token per merge.

MERGES = [("Ġ", "p"), ("a", "y"), ("Ġ", "b"), ("l", "l"), ("o", "r"), ("a", "n"), ("e", "l"),
          ("c", "h"), ("a", "s"), ("Ġp", "l"), ("Ġ", "J"), ("a", "ll"), ("k", "e"), ("d", "an"),
          ("Ġpl", "ay"), ("M", "i"), ("a", "el"), ("Ġb", "as"), ("ke", "t"), ("b", "all"),
          ("Ġplay", "s"), ("ĠJ", "or"), ("ch", "ael"), ("ĠJor", "dan"), ("Mi", "chael")]
print(f"GPT-2: {gpt2_small.vocab_size - len(BYTE_TO_CHAR) - 1:,} merges; here: {len(MERGES)}")
vocab = list(BYTE_TO_CHAR) + [a + b for a, b in MERGES]
tok = GPT2Tokenizer(vocab, MERGES)
ids = tok.encode(sentence)
print(tok)
print(tok.tokenize(sentence))
print(ids.tolist())
assert tok.tokenize(sentence) == ["Michael", "ĠJordan", "Ġplays", "Ġbas", "ket", "ball"]
assert tok.decode(ids) == sentence
other = "Michael Jordan joue au basket 🏀"  # letters it has no merges for: still bytes
assert tok.decode(tok.encode(other)) == other
print(f"{other!r}: {len(other.encode('utf-8'))} bytes -> {len(tok.encode(other))} tokens, "
      f"decoded back exactly")

# %%
# With only the first :math:`k` merges the tokenizer stops earlier. Each row below adds one
# merge, which joins two boxes (outlined) wherever its pair stands next to each other; the
# colours are the pre-tokenized pieces, which no merge crosses.

rows = []
for k in range(len(MERGES) + 1):
    partial = GPT2Tokenizer(vocab, MERGES[:k])
    rows.append([partial.tokenize(piece) for piece in pieces])
counts = [sum(map(len, row)) for row in rows]
print(f"tokens: {counts[0]} bytes, {counts[-1]} tokens after {len(MERGES)} merges")
assert counts[0] == len(sentence.encode("utf-8"))
assert all(before > after for before, after in zip(counts, counts[1:]))  # every merge is used

fig, ax = plt.subplots(figsize=(10, 7.5))
for k, row in enumerate(rows):
    x = 0.0
    for p, tokens in enumerate(row):
        for token in tokens:
            new = k > 0 and token == "".join(MERGES[k - 1])
            ax.add_patch(plt.Rectangle((x, -k - 0.4), len(token), 0.8, facecolor=f"C{p}",
                                       alpha=0.35, edgecolor="k", lw=2 if new else 0.5))
            ax.text(x + len(token) / 2, -k, token, ha="center", va="center", fontsize=7)
            x += len(token)
        x += 1.0  # a gap between pieces
    label = "bytes" if k == 0 else f"{k}.  {MERGES[k - 1][0]} + {MERGES[k - 1][1]}"
    ax.text(-0.5, -k, label, ha="right", va="center", fontsize=7)
    ax.text(x, -k, f"{counts[k]} tokens", va="center", fontsize=7)
ax.set_xlim(-8, x + 5)
ax.set_ylim(-len(rows), 1)
ax.axis("off")
ax.set_title("GPT-2's BPE on the video's sentence: the merges in rank order, one per row")
fig.tight_layout()

# %%
# The whole folder
# ----------------
#
# With the tokenizer, :func:`~minigpt.hf.save_hf_gpt2` also writes GPT-2's ``vocab.json``
# and ``merges.txt`` (:meth:`~minigpt.tokenizers.bpe.GPT2Tokenizer.save_files`), and
# :func:`~minigpt.hf.load_hf_gpt2` returns both halves, as ``minigpt generate --hf-dir``
# uses them:

save_hf_gpt2(folder, model, tok)
with open(os.path.join(folder, "merges.txt"), encoding="utf-8") as f:
    print("merges.txt begins:", f.read().splitlines()[:4])
loaded, loaded_tok = load_hf_gpt2(folder)
assert np.array_equal(loaded_tok.encode(sentence), ids)
assert np.array_equal(loaded.forward(ids), model.forward(ids))
with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
    print(f"vocab.json: {len(json.load(f))} tokens; the model reads {sentence!r}")
print(f"as {len(ids)} ids and gives logits of shape {loaded.forward(ids).shape}")

# %%
# Pointed at a download of ``gpt2``, the same call gives GPT-2 itself: its own merges, its
# twelve blocks, and the function this book has computed all along.

shutil.rmtree(folder)

# %%
# Exercises
# ---------
#
# 1. Add the merge ``("Ġbas", "ket")`` (and then ``("Ġbasket", "ball")``) to ``MERGES``.
#    How many tokens does the sentence take now, and what must be added to the vocabulary?
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          more = MERGES + [("Ġbas", "ket"), ("Ġbasket", "ball")]
#          bigger = GPT2Tokenizer(list(BYTE_TO_CHAR) + [a + b for a, b in more], more)
#          print(bigger.tokenize(sentence))  # ..., 'Ġbasketball'
#
#       Each merge adds its joined token to the vocabulary; with both, *basketball* is one
#       token and the sentence takes four.
#
# 2. Check the layout rule on the MLP's down-projection: which GPT-2 tensor holds column
#    :math:`i` of :math:`W_{down}`, the direction neuron :math:`i` adds?
#
#    .. dropdown:: Solution
#
#       ``transformer.h.0.mlp.c_proj.weight`` is stored :math:`(F, C)`, the transpose of
#       minigpt's :math:`(C, F)`, so the column is a *row* there:
#
#       .. code-block:: python
#
#          w_down = model.params["blocks.0.mlp.w_down"]
#          c_proj = state["transformer.h.0.mlp.c_proj.weight"]
#          assert np.array_equal(w_down[:, 7], c_proj[7])
#
# 3. Why does GPT-2's tokenizer cut the text into words before merging, so that no merge
#    crosses a space?
#
#    .. dropdown:: Solution
#
#       Without the cut, frequent pairs across word boundaries (the end of one word and
#       the space and start of the next) would be merged into tokens that mix words, and
#       the same word would be split differently depending on its neighbours. With it,
#       every word is tokenized the same way wherever it stands, and the leading space
#       makes " Jordan" and "Jordan" different tokens.
