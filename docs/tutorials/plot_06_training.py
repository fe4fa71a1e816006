"""
6. Training a tiny GPT-3
========================

*Behind the video:* it starts from a model that has already memorized "Michael Jordan
plays basketball" (:video:`0:00`); this chapter makes one.

Chapters 2 and 4 looked at weights that were built by hand or already trained. Here is
where trained weights come from: a GPT-3-shaped model, small enough for a laptop, learns
every fact of minigpt's athlete bank from scratch with the recipe of the GPT-3 paper, and
then completes "Michael Jordan plays" with "basketball" on its own. Generating text one
token at a time reuses each position's keys and values instead of recomputing them (a
:term:`KV cache`).
"""

# %%
# The recipe
# ----------
#
# GPT-3 (Brown et al. 2020, appendix B) trains with Adam with decoupled weight decay
# (AdamW), :math:`\beta = (0.9, 0.95)`, a linear warmup of the learning rate followed by a
# cosine decay to 10% of its peak, and the global norm of the gradient clipped at 1.
# Per parameter, with gradient :math:`g` at step :math:`t` and learning rate
# :math:`\eta_t`:
#
# .. math::
#
#     m \leftarrow \beta_1 m + (1-\beta_1) g, \quad
#     v \leftarrow \beta_2 v + (1-\beta_2) g^2, \quad
#     p \leftarrow (1 - \eta_t \lambda)\, p - \eta_t\,
#         \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}
#
# and before the step every gradient is scaled by :math:`\min(1, 1/\lVert g \rVert)`, with
# :math:`\lVert g \rVert` the norm of all gradients of the model together.
#
# The code
# --------
#
# .. literalinclude:: /../minigpt/optim.py
#    :pyobject: lr_at
#    :no-docstring:
#    :caption: minigpt/optim.py
#
# .. literalinclude:: /../minigpt/optim.py
#    :pyobject: clip_grad_norm
#    :no-docstring:
#
# .. literalinclude:: /../minigpt/optim.py
#    :pyobject: AdamW.step
#    :no-docstring:
#
# and one step of the training loop, which puts them together:
#
# .. literalinclude:: /../minigpt/train.py
#    :pyobject: train
#    :start-at: x, y = get_batch(
#    :end-at: optimizer.step(grads
#    :dedent:
#    :caption: minigpt/train.py, train

from collections import Counter

import matplotlib.pyplot as plt
import numpy as np

from minigpt import GPTConfig, param_shapes
from minigpt.data import TEMPLATES, facts_corpus, load_facts, prompt, sports
from minigpt.facts import DEMO_SETTINGS, DEMO_SHAPE, fact_recall, facts_dataset
from minigpt.facts.demo import demo_model  # trained on first use, then loaded from a cache
from minigpt.optim import clip_grad_norm, decay_names, global_norm, lr_at
from minigpt.train import get_batch, window_starts

# %%
# The schedule and the clipping
# -----------------------------
#
# The learning rate of the demo run, step by step:

s = DEMO_SETTINGS
lrs = np.array([lr_at(k, max_lr=s.lr, warmup_steps=s.warmup_steps, max_steps=s.steps,
                      min_ratio=s.min_lr_ratio) for k in range(s.steps + 1)])
for k in (0, s.warmup_steps - 1, s.warmup_steps, (s.warmup_steps + s.steps) // 2, s.steps):
    print(f"step {k:5d}: lr {lrs[k]:.2e} ({lrs[k] / s.lr:.1%} of the peak)")

grads = {"a": np.array([3.0, 4.0]), "b": np.array([[12.0]])}
before = clip_grad_norm(grads, max_norm=s.grad_clip)
print(f"clipping: global norm {before:.1f} -> {global_norm(grads):.6f}")
print(f"the direction is kept: a = {np.round(grads['a'], 4)}, "
      f"b = {np.round(grads['b'].ravel(), 4)}")

fig, ax = plt.subplots(figsize=(6.5, 2.8))
ax.plot(lrs)
ax.axvline(s.warmup_steps, color="k", lw=0.8, ls=":", label="end of warmup")
ax.axhline(s.lr * s.min_lr_ratio, color="k", lw=0.8, ls="--", label="floor: 10% of the peak")
ax.set_xlabel("step")
ax.set_ylabel("learning rate")
ax.set_title("linear warmup, then cosine decay")
ax.legend()
fig.tight_layout()

# %%
# The data
# --------
#
# The corpus is every fact of the bank in every sentence template, one sentence
# (:func:`minigpt.data.sentence`) per line (:func:`minigpt.data.facts_corpus`). Each
# training window starts at the beginning of a line, as a prompt does, and its targets are
# its inputs shifted by one token (:func:`minigpt.train.get_batch`):

facts = load_facts()
corpus = facts_corpus()
print(f"{len(facts)} facts, {len(sports())} sports, {len(TEMPLATES)} templates: "
      f"{len(corpus.splitlines())} lines")
print(corpus[:corpus.index("\n", 150)])
tok, ids, starts = facts_dataset()
x, y = get_batch(ids, window_starts(len(ids), DEMO_SHAPE["n_ctx"], starts), batch_size=1,
                 block_size=DEMO_SHAPE["n_ctx"], rng=np.random.default_rng(0))
print(f"{'position':>8}  {'input':<12} target")
for t, (a, b) in enumerate(zip(tok.tokenize(tok.decode(x[0])), tok.tokenize(tok.decode(y[0])))):
    print(f"{t:>8}  {a!r:<12} {b!r}")

# %%
# Weight decay pulls only the weight matrices towards zero, not the biases, gains or
# position embeddings (:func:`minigpt.optim.decay_names`):

shapes = param_shapes(GPTConfig(vocab_size=tok.vocab_size, **DEMO_SHAPE))
decayed = decay_names(shapes)
print("decayed in every block i:",
      ", ".join(n.removeprefix("blocks.0.") for n in sorted(decayed) if n.startswith("blocks.0.")))
print("decayed outside the blocks:",
      ", ".join(sorted(n for n in decayed if not n.startswith("blocks."))))
n_decayed = sum(int(np.prod(shapes[n])) for n in decayed)
print(f"{n_decayed:,} of {sum(int(np.prod(v)) for v in shapes.values()):,} parameters are decayed")

# %%
# Training
# --------
#
# :func:`minigpt.facts.train_facts_model` builds the tokenizer and a model with GPT-3's
# architecture at toy size (alternating dense and banded attention, GELU, pre-LayerNorm,
# tied embeddings), and runs :func:`minigpt.train.train` with :class:`minigpt.optim.AdamW`
# and the settings :data:`minigpt.facts.DEMO_SETTINGS` (a :class:`minigpt.train.TrainSettings`);
# the run returns a :class:`minigpt.train.TrainResult` and saves a checkpoint with
# :func:`minigpt.checkpoint.save_checkpoint`. This book trains the model once per build and
# every chapter loads that checkpoint (:func:`minigpt.facts.load_model`, which reads it with
# :func:`minigpt.checkpoint.load_checkpoint`); the numbers below are from that run, its
# evaluation loss measured on fixed batches by :func:`minigpt.train.evaluate`. The build
# runs it on one BLAS thread, as :func:`minigpt.runtime.threads.blas_threads` would set, since the
# machine is often shared, and keeps freed memory for the next step
# (:func:`minigpt.runtime.allocator.keep_freed_memory`); the Performance page measures both.

model, tokenizer, history = demo_model()
cfg = model.config
losses = np.array(history["losses"])
print(f"{model.n_params:,} parameters: {cfg.n_layer} layers, d_model {cfg.d_model}, "
      f"{cfg.n_head} heads, d_ff {cfg.d_ff},")
print(f"{cfg.attention} attention (band {cfg.local_window}), {cfg.activation}; "
      f"vocabulary {cfg.vocab_size} words")
print(f"{history['steps']} steps of {s.batch_size} windows of {cfg.n_ctx} tokens, "
      f"in {history['seconds']:.0f} s ({history['tokens_per_second']:,.0f} tokens/s)")
print(f"loss: first step {losses[0]:.3f} (a uniform guess scores ln V = "
      f"{np.log(cfg.vocab_size):.3f}), last step {losses[-1]:.3f}")

fig, ax = plt.subplots(figsize=(6.5, 3))
ax.plot(losses, lw=0.8, alpha=0.7, label="training batch")
steps, evals = zip(*history["evals"])
ax.plot(steps, evals, "o-", label="evaluation (fixed batches)")
ax.set_yscale("log")
ax.set_xlabel("step")
ax.set_ylabel("cross-entropy (nats)")
ax.set_title("the demo model learning the facts")
ax.legend()
fig.tight_layout()

# %%
# The loss does not go to 0, and should not: several athletes share a first name, so the
# last name after it stays uncertain. What the model *can* learn exactly is the sport after
# a full name, and that is what recall measures: whether the most likely next token after
# each prompt is the right sport (:func:`minigpt.facts.fact_recall`, which batches the
# prompts through :func:`minigpt.facts.next_token_logits`).

first_names = Counter(f.first for f in facts)
shared = {name: n for name, n in first_names.items() if n > 1}
print(f"{len(shared)} first names belong to more than one athlete, e.g. "
      + ", ".join(f"{name} ({n})" for name, n in first_names.most_common(3)))

# %%
# Recall
# ------

recalls = [fact_recall(model, tokenizer, facts, template=k) for k in range(len(TEMPLATES))]
for k, r in enumerate(recalls):
    print(f"{r.accuracy:7.1%} of {r.n}  {prompt('First Last', template=k)} ...")
    for fact, said in r.wrong[:3]:
        print(f"         wrong: {fact.name} -> {said!r} (true: {fact.sport})")

fig, ax = plt.subplots(figsize=(6.5, 2.6))
labels = [prompt("X", template=k) + " ..." for k in range(len(TEMPLATES))]
ax.barh(labels, [r.accuracy for r in recalls])
ax.set_xlim(0, 1)
ax.set_xlabel("recall (greedy next token is the right sport)")
ax.invert_yaxis()
fig.tight_layout()

# %%
# Generating with a key/value cache
# ---------------------------------
#
# To generate, the model predicts a token, appends it and runs again. Recomputing the
# whole prefix each time wastes work: the keys and values of earlier positions never
# change. :meth:`minigpt.GPT.generate` keeps them per layer and runs only the new token,
# through the inference twin of attention, :func:`minigpt.nn.attention_decode`:
#
# .. literalinclude:: /../minigpt/nn/attention.py
#    :pyobject: attention_decode
#    :no-docstring:
#    :caption: minigpt/nn/attention.py
#
# The check: greedy generation with the cache must produce exactly the tokens of the slow
# loop that reruns the full forward pass for every new token. The slow loop also counts
# how many positions it pushes through the model; with the cache, that is the prompt once
# and then one position per new token.

N_NEW = 12


def generate_slow(ids, n_new):
    ids, positions = list(ids), 0
    for _ in range(n_new):
        window = np.array(ids[-cfg.n_ctx:])
        logits = model.forward(window)  # (T, V): the whole prefix again
        positions += len(window)
        ids.append(int(logits[-1].argmax()))
    return np.array(ids), positions


for name in ("Michael Jordan", "Serena Williams", "Lionel Messi"):
    ids = tokenizer.encode(prompt(name))
    fast = model.generate(ids, max_new_tokens=N_NEW, temperature=0)
    slow, positions = generate_slow(ids, N_NEW)
    print(f"{tokenizer.decode(fast)!r}")
    print(f"    same as the slow loop: {bool(np.array_equal(fast, slow))}; positions run: "
          f"{positions} without the cache, {len(ids) + N_NEW - 1} with it")
    assert np.array_equal(fast, slow)

# %%
# With a temperature above 0, :meth:`~minigpt.GPT.generate` samples instead of taking the
# most likely token (:func:`minigpt.generation.sample_logits`), and a seed makes it
# repeatable. This model is so sure of its corpus that it takes a high temperature to make
# it stray:

ids = tokenizer.encode(prompt("Michael Jordan"))
print(f"after {tokenizer.decode(ids)!r}:")
for seed in range(4):
    out = model.generate(ids, max_new_tokens=N_NEW, temperature=2.0, top_k=5, seed=seed)
    print(f"seed {seed}: {tokenizer.decode(out[len(ids):])!r}")

# %%
# The model has memorized the corpus so well that it goes on to the next sentence about
# the same athlete, in the order the corpus lists them. Where in its weights "Michael
# Jordan -> basketball" is kept, and how to change it, is the subject of part II.

# %%
# Exercises
# ---------
#
# 1. Show that the learning rate at the last step is the floor, ``min_lr_ratio`` times
#    the peak, and find the step where the cosine has come down halfway.
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          assert np.isclose(lrs[s.steps], s.lr * s.min_lr_ratio)
#          middle = s.lr * (1 + s.min_lr_ratio) / 2  # halfway between peak and floor
#          print(int(np.argmin(np.abs(lrs[s.warmup_steps:] - middle))) + s.warmup_steps)
#
#       The cosine is symmetric: halfway down is halfway between the end of the warmup
#       and the last step.
#
# 2. Train the same model for a fifth of the steps and measure its recall on every
#    template.
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          from minigpt.facts import train_facts_model
#
#          short, short_tok, _ = train_facts_model(steps=s.steps // 5, progress=False)
#          for k in range(len(TEMPLATES)):
#              print(k, fact_recall(short, short_tok, facts, template=k).accuracy)
#
#       Compare with the recalls above: the loss curve says how far from the end of
#       training a fifth of the steps is, the recalls say what that costs in facts.
#
# 3. Generating :math:`N` tokens after a prompt of :math:`P` tokens, how many positions
#    does the slow loop push through the model (while the sequence fits the context), and
#    how many the cached one?
#
#    .. dropdown:: Solution
#
#       The slow loop runs the whole prefix for every new token:
#       :math:`\sum_{k=0}^{N-1} (P + k) = NP + N(N-1)/2`, quadratic in :math:`N`. The
#       cache runs the prompt once and then one position per token after the first:
#       :math:`P + N - 1`. The counts printed above are these two formulas for the
#       chapter's prompts. Once the sequence outgrows the context of :math:`n_{ctx}`
#       positions, the slow loop runs a window of :math:`n_{ctx}` each time, and the
#       quadratic growth becomes linear.
