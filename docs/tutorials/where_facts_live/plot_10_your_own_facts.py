"""
10. Your own facts in any GPT
=============================

*In the video:* :video:`0:00`, where the question is where a language model keeps a fact
at all.

Chapters 8 and 9 asked their questions of athletes whose names are one word each, in five
fixed sentences. Real facts are not like that: "The capital of Saudi Arabia is Riyadh"
has a subject of two words and an answer that GPT-2's tokenizer cuts into pieces. This
chapter starts from a facts file anyone can write, gives a small GPT a byte-pair
vocabulary (:term:`BPE`) in which names really are several tokens, trains it, and asks
the same questions again: does it know the facts, where does it look them up
(:term:`causal tracing`), and when does the answer appear (the :term:`logit lens`)?
"""

# %%
# The equations
# -------------
#
# A fact is now a prompt that contains a subject, and an answer that continues it
# (:class:`~minigpt.data.FactPrompt`). The answer is :math:`A` tokens
# :math:`a_1 \dots a_A`, and its probability is the product over them, each read with
# the answer's earlier tokens in the input (teacher forcing):
#
# .. math::
#
#     p(a \mid \text{prompt}) = \prod_{i=1}^{A}
#         p\left(a_i \mid \text{prompt}, a_1, \dots, a_{i-1}\right)
#
# The tools can also score only the first answer token, :math:`p(a_1 \mid \text{prompt})`
# (``mode="first"``). The model *recalls* a fact when every :math:`a_i` is its top token.
# Causal tracing corrupts every token of the subject, :math:`s_1 \dots s_m`, with the
# same noise as in chapter 8, and its results are pooled over facts of different lengths
# by the role of each position: the subject's first, middle and last tokens, the first
# token after it, further tokens, and the prompt's last token (ROME's categories).
#
# The code
# --------
#
# The subject's tokens are found from the tokenization itself: encode the text before the
# subject, then the text through its end, and check that the first is a prefix of the
# second (:func:`~minigpt.interp.encode_fact`):
#
# .. literalinclude:: /../minigpt/interp/encoding.py
#    :pyobject: encode_fact
#    :start-at: full = _encode(tokenizer
#    :end-at: encoded = EncodedFact(
#    :dedent:
#    :caption: minigpt/interp/encoding.py, encode_fact
#
# The answer's score, one batch of facts of one shape at a time, every answer token read
# at once:
#
# .. literalinclude:: /../minigpt/interp/scoring.py
#    :pyobject: answer_scores
#    :no-docstring:
#    :caption: minigpt/interp/scoring.py

import os
import shutil
import tempfile
import textwrap
import time

import matplotlib.pyplot as plt
import numpy as np

from minigpt import GPT, GPTConfig, count_params
from minigpt.bpe import train_bpe
from minigpt.data import load_capitals, load_text, read_facts_file
from minigpt.facts import evaluate_edits, finetune_edit, memit_edit, rome_edit
from minigpt.interp import (CATEGORIES, causal_trace, encode_fact, logit_lens,
                            plot_causal_trace, score_facts)
from minigpt.train import TrainSettings, train

WIDTH = 86  # characters per printed line


def show(text):
    """Print a summary with each of its lines folded to ``WIDTH`` characters."""
    for line in text.splitlines():
        print(textwrap.fill(line, WIDTH, subsequent_indent="    ") if line else "")

# %%
# A facts file
# ------------
#
# One fact per line: a subject, a prompt that contains it, the answer, and any number of
# paraphrases, prompts that ask the same thing in other words (the full format is in
# :mod:`minigpt.data.facts_file`). Here is one, written to a temporary folder and read
# back with :func:`~minigpt.data.read_facts_file`:

FACTS_CSV = """\
subject,prompt,answer,paraphrase,paraphrase
Macbeth,Macbeth was written by,Shakespeare,The author of Macbeth is,Macbeth is a play by
Hamlet,Hamlet was written by,Shakespeare,The author of Hamlet is,Hamlet is a play by
Don Quixote,Don Quixote was written by,Cervantes,The author of Don Quixote is,
War and Peace,War and Peace was written by,Leo Tolstoy,The author of War and Peace is,
Faust,Faust was written by,Goethe,The author of Faust is,Faust is a play by
The Odyssey,The Odyssey was written by,Homer,The author of The Odyssey is,
"""
folder = tempfile.mkdtemp()
path = os.path.join(folder, "authors.csv")
with open(path, "w", encoding="utf-8") as f:
    f.write(FACTS_CSV)
authors = read_facts_file(path)
shutil.rmtree(folder)
for fact in authors[2:4]:
    print(f"prompt {fact.prompt!r}, subject {fact.subject!r}, answer {fact.answer!r},")
    print(f"    paraphrases {fact.paraphrases}")

# %%
# minigpt ships one such file, sixty countries and their capitals
# (:func:`~minigpt.data.load_capitals`). The model below learns both, every prompt and
# every paraphrase:

capitals = load_capitals()
facts = authors + capitals
lines = [f"{p} {f.answer}.\n" for f in facts for p in (f.prompt, *f.paraphrases)]
print(f"{len(authors)} authors + {len(capitals)} capitals = {len(facts)} facts, "
      f"{len(lines)} training sentences, e.g.")
print("".join(lines[:2] + lines[len(authors) * 2 + 3:][:1]), end="")

# %%
# Names in pieces
# ---------------
#
# A byte-pair vocabulary (:func:`~minigpt.bpe.train_bpe`, GPT-2's algorithm, chapter 16)
# learned from the facts and the book's embedded text, Shakespeare's *Macbeth*
# (:func:`~minigpt.data.load_text`). With a few hundred merges, the words the play uses
# often become single tokens and most names stay in pieces:

N_MERGES = 300
N_CTX = 32  # positions: the longest training sentence must fit
start = time.perf_counter()
tokenizer = train_bpe("".join(lines) + load_text(), N_MERGES)
print(f"{tokenizer.vocab_size} tokens ({N_MERGES} merges) learned in "
      f"{time.perf_counter() - start:.1f} s")
print(f"{'subject':<14} {'its tokens':<30} {'answer':<12} its tokens")
for fact in (authors[0], authors[3], capitals[12], capitals[38], capitals[47]):
    e = encode_fact(tokenizer, fact)
    subject = tokenizer.tokenize(fact.prompt)[e.first:e.last + 1]
    answer = tokenizer.tokenize(fact.continuation)
    print(f"{fact.subject:<14} {' '.join(subject):<30} {fact.answer:<12} {' '.join(answer)}")
encoded = [encode_fact(tokenizer, f) for f in facts]
multi_subject = sum(e.last > e.first for e in encoded)
multi_answer = sum(e.A > 1 for e in encoded)
print(f"of {len(facts)} facts, subjects of several tokens: {multi_subject}, answers of "
      f"several tokens: {multi_answer}")
print(f"longest subject {max(e.last - e.first + 1 for e in encoded)} tokens, longest answer "
      f"{max(e.A for e in encoded)} tokens")
assert multi_subject > len(facts) // 2 and multi_answer > len(facts) // 2
print(f"'Macbeth' alone: {tokenizer.tokenize('Macbeth')}; after a space: "
      f"{tokenizer.tokenize(' Macbeth')}")

# %%
# ``Ġ`` is the space before a word (chapter 16): a subject at the start of a prompt has
# none, so its tokens are not those of the same name inside a sentence (the last line);
# :func:`~minigpt.interp.encode_fact` finds the subject's span either way.
#
# A model that learns them
# ------------------------
#
# A GPT of the demo model's size (chapter 6) with a context long enough for the longest
# sentence, trained on the sentences; each training window starts at the beginning of a
# sentence, as a prompt does:

ids = tokenizer.encode("".join(lines))
newline = tokenizer.encode("\n")[0]
starts = np.concatenate([[0], np.flatnonzero(ids[:-1] == newline) + 1])  # line beginnings
longest = max(len(tokenizer.encode(line)) for line in lines)
cfg = GPTConfig(vocab_size=tokenizer.vocab_size, n_ctx=N_CTX, n_layer=4, n_head=4, d_model=64)
assert longest <= cfg.n_ctx
model = GPT(cfg, seed=0)
settings = TrainSettings(steps=600, batch_size=32, lr=3e-3, warmup_steps=30, eval_every=100,
                         seed=0)
start = time.perf_counter()
result = train(model, ids, settings, starts=starts, progress=False)
print(f"{len(ids):,} tokens, longest sentence {longest}; {cfg.n_layer} layers, d_model "
      f"{cfg.d_model}, {count_params(cfg):,} parameters")
print(f"trained {settings.steps} steps in {time.perf_counter() - start:.0f} s; loss "
      f"{result.losses[0]:.2f} -> {result.losses[-1]:.3f}")

# %%
# What it knows
# -------------
#
# :func:`~minigpt.interp.score_facts` scores every answer, all its tokens
# (``mode="product"``), and whether the model's greedy continuation is the answer:

scores = score_facts(model, tokenizer, facts)
print(scores.to_table(max_facts=8))
paraphrases = [p for f in facts for p in f.paraphrase_facts()]
para = score_facts(model, tokenizer, paraphrases)
print(f"paraphrases: recall {para.n_correct}/{para.n} = {para.accuracy:.3f}")
assert scores.accuracy >= 0.95

# %%
# Where: causal tracing
# ---------------------
#
# Corrupt the subject's tokens, then restore one MLP output at a time
# (:func:`~minigpt.interp.causal_trace`), and pool the indirect effects over all
# sixty-six facts by the role of each position. First scoring the whole answer, as
# above, then only its first token:

traces = {mode: causal_trace(model, tokenizer, facts, kinds=["mlp"], n_samples=10, seed=0,
                             mode=mode) for mode in ("product", "first")}
short = ["subject, first", "subject, middle", "subject, last", "after it, first",
         "after it, further", "prompt's last"]
for mode, trace in traces.items():
    ce = trace.category_effect("mlp")  # (L, 6)
    print(f"-- mode {mode!r}: p(answer) clean {trace.p_clean.mean():.3f}, corrupted "
          f"{trace.p_corrupt.mean():.3f}")
    print("indirect effect of restoring each layer's MLP output, by role of the position:")
    print(f"{'position':<18}" + "".join(f"{'layer ' + str(i):>9}" for i in range(cfg.n_layer)))
    for c, name in enumerate(short):
        print(f"{name:<18}" + "".join(f"{v + 0.0:>9.3f}" for v in ce[:, c]))
peaks = {mode: trace.category_peak("mlp") for mode, trace in traces.items()}
for mode, (layer, category, value) in peaks.items():
    print(f"peak ({mode}): layer {layer}, {category}, indirect effect {value:.3f} of a total "
          f"effect {traces[mode].total_effect:.3f}")
product, first = traces["product"], traces["first"]
assert product.p_corrupt.mean() < 0.1 * product.p_clean.mean()
assert peaks["product"][2] < 0.1 * product.total_effect and peaks["product"][2] < peaks["first"][2]
first_piece = {}
for e in encoded:
    first_piece.setdefault(tokenizer.tokenize(e.fact.continuation)[0], []).append(e.fact.answer)
piece, answers = max(first_piece.items(), key=lambda item: len(item[1]))
for mode, (layer, category, value) in peaks.items():
    where = "at" if category == "last subject token" else "not at"
    print(f"mode {mode!r}: the MLP peak is {where} the last subject token")
print(f"{len(facts)} answers begin with {len(first_piece)} different first pieces; "
      f"{piece!r} begins {len(answers)}:")
show(", ".join(sorted(set(answers))))

fig, axes = plt.subplots(2, 1, figsize=(6.5, 6))  # stacked: each panel at full width
for ax, (mode, trace) in zip(axes, traces.items()):
    plot_causal_trace(trace, "mlp", ax=ax)
    ax.set_title(f"restore mlp_out, answer scored in mode {mode!r}", fontsize=10)
fig.tight_layout()

# %%
# Corrupting the subject destroys almost the whole answer in product mode (the printed
# clean and corrupted probabilities), yet restoring any single MLP output brings back
# less than a tenth of it, less than the same trace's peak in first-token mode (the
# asserts above check both). An answer of several tokens needs the subject at
# every one of its positions: " Riyadh" is ``ĠR`` then ``i`` then ``y``..., and which
# piece follows ``ĠR`` depends on the country too. Restoring one state at one position
# repairs the first piece at best, and each later piece is predicted from a corrupted
# context again. Scored on its first token alone, the trace has a clear peak, printed
# above; the table says in which role and layer. The corrupted first-token probability
# stays well above zero because answers share their first pieces (the last lines count
# them): without the subject, the model can still guess the most common first piece.
# ROME found GPT-2 XL's decisive MLPs at the last subject token; the lines above say
# whether this model's peak is there, and the table shows how the effect spreads over
# the roles of the positions.
#
# When: the logit lens
# --------------------
#
# Decode the residual stream after every layer at the prompt's last token
# (:func:`~minigpt.interp.logit_lens`), ranking the answer's first token:

lens = logit_lens(model, tokenizer, facts)
print(lens.to_table())
show(lens.summary())

# %%
# Rewrite one
# -----------
#
# Chapter 9's :term:`rank-one edit`, on a general fact (:func:`~minigpt.facts.rome_edit`):
# the key is the MLP's neurons at the subject's *last token*, as in ROME; the value is
# found by gradient descent on :math:`-\log p(\text{new answer})`, every token of it;
# the key covariance comes from the embedded text. Without a layer, it edits the layer
# where the causal trace's MLP effect at the subject's last token peaks. Beside it, the
# baseline: fine-tuning the same matrix on the one new sentence
# (:func:`~minigpt.facts.finetune_edit`). Each edit starts from a copy of the trained
# model; *para p(new)* is the new answer's mean probability after the fact's paraphrases,
# and the last column counts the other facts the edited model still recalls.


def fresh():
    """A copy of the trained model, for one experiment."""
    return GPT(cfg, params={name: p.copy() for name, p in model.params.items()})


fact, NEW = capitals[38], "Madrid"
others = [f for f in facts if f != fact]
print(f"{fact.prompt!r}: {fact.answer} -> {NEW}")
print(f"{'method':<9} {'layer':>5} {'p(old) after':>13} {'p(new) before':>14} "
      f"{'p(new) after':>13} {'para p(new)':>11} {'others':>7}")
single = {}
for name, edit in (("rome", rome_edit), ("finetune", finetune_edit)):
    edited = fresh()
    outcome = edit(edited, tokenizer, fact, NEW, seed=0)
    kept = score_facts(edited, tokenizer, others).accuracy
    single[name] = outcome, kept
    print(f"{name:<9} {outcome.layer:>5} {outcome.after['p_old']:>13.4f} "
          f"{outcome.before['p_new']:>14.4f} {outcome.after['p_new']:>13.4f} "
          f"{outcome.paraphrase:>11.4f} {kept:>7.1%}")
for name, (outcome, _) in single.items():
    print(f"{name}: the edit {'takes' if outcome.success else 'does not take'} "
          f"(p(new) {'>' if outcome.success else '<='} p(old) after it)")

# %%
# Ten edits of each kind, each from the unedited model (:func:`~minigpt.facts.evaluate_edits`):
# *efficacy* is the share of edits after which the new answer is more likely than the old
# one, *paraphrase* the same on the facts' other prompts, *specificity* the share of the
# other facts still recalled.

N_EDITS = 10
reports = {method: evaluate_edits(model, tokenizer, facts, n_edits=N_EDITS, method=method,
                                  seed=0) for method in ("rome", "finetune")}
for report in reports.values():
    print(report.to_table())
summary = {method: r.summary(method) for method, r in reports.items()}
ce_first = traces["first"].category_effect("mlp")  # (L, 6)
at_subject = ce_first[:, CATEGORIES.index("last subject token")].max()
print(f"MLP indirect effect (first-token trace) at the subject's last token: at most "
      f"{at_subject:.3f};")
print(f"at the prompt's last token: up to {ce_first[:, -1].max():.3f}")
assert at_subject < ce_first[:, -1].max()
assert summary["finetune"]["efficacy"] > summary["rome"]["efficacy"]
assert summary["finetune"]["specificity"] < summary["rome"]["specificity"]

# %%
# Read the tables with the trace. The rank-one edit writes a new value for the key the
# subject's last token produces; it can only work where the model looks the fact up from
# there. In this model the MLPs matter far less at the subject's last token than at the
# prompt's last token (the last two lines), the rank-one edit takes less often than
# fine-tuning, and fine-tuning, which changes the layer for every key, pays with the other
# facts (lower specificity; the asserts check all three). Chapter 9 saw
# the same with the athletes, and moved the key to the last token of the prompt, where the
# demo model does its lookup.
#
# Several at once
# ---------------
#
# MEMIT (:func:`~minigpt.facts.memit_edit`) writes several facts in one least-squares
# update, spread over a range of layers:

batch = [(capitals[i], new) for i, new in ((0, "Rome"), (1, "Oslo"), (2, "Vienna"))]
edited = fresh()
outcomes = memit_edit(edited, tokenizer, batch, seed=0)
changed = {f for f, _ in batch}
kept = score_facts(edited, tokenizer, [f for f in facts if f not in changed]).accuracy
print(f"layers {', '.join(map(str, outcomes[0].layers))}; other facts still recalled: "
      f"{kept:.1%}")
print(f"{'prompt':<28} {'new':<8} {'p(old) after':>13} {'p(new) after':>13} {'takes':>6}")
for o in outcomes:
    print(f"{o.fact.prompt:<28} {o.new_answer:<8} {o.after['p_old']:>13.4f} "
          f"{o.after['p_new']:>13.2e} {'yes' if o.success else 'no':>6}")

# %%
# The lines above say which of the three edits took. The update is the same kind of
# matrix as ROME's, a least-squares fit of new values to keys read at the subjects' last
# tokens, so it succeeds or fails on this model for the same reason.
#
# Exercises
# ---------
#
# 1. Add a fact of your own to ``FACTS_CSV`` (a subject that is not a country, an answer
#    of two words) and check how the tokenizer cuts it and whether the model learns it.
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          folder = tempfile.mkdtemp()
#          path = os.path.join(folder, "mine.csv")
#          with open(path, "w", encoding="utf-8") as f:
#              f.write(FACTS_CSV + "Mona Lisa,Mona Lisa was painted by,Leonardo da Vinci,"
#                      "The painter of Mona Lisa is,\n")
#          mine = read_facts_file(path)
#          e = encode_fact(tokenizer, mine[-1])
#          print(tokenizer.tokenize(mine[-1].prompt)[e.first:e.last + 1],
#                tokenizer.tokenize(mine[-1].continuation))
#
#       Then train again with ``facts = mine + capitals`` and print
#       ``score_facts(model, tokenizer, facts).to_table()``. A fact in the training
#       sentences is learned like the others; a sentence never seen is not.
#
# 2. Trace the attention outputs too (``kinds=["mlp", "attn"]``, ``mode="first"``). At
#    which role of position does attention matter most?
#
#    .. dropdown:: Solution
#
#       .. code-block:: python
#
#          trace = causal_trace(model, tokenizer, facts, kinds=["mlp", "attn"],
#                               n_samples=10, seed=0, mode="first")
#          print(trace.category_peak("attn"))  # (layer, role, indirect effect)
#
#       Attention moves information between positions, so its effect shows where the
#       subject is carried to: after the subject, at the positions that predict the
#       answer.
#
# 3. Why is the corrupted first-token probability far above zero, while the corrupted
#    whole-answer probability is close to zero?
#
#    .. dropdown:: Solution
#
#       Without the subject the model still knows the *kind* of answer, a capital or an
#       author, and many answers begin with the same piece (the chapter prints the most
#       common one and the answers it begins), so guessing the first piece often
#       succeeds. The later pieces tell the answers apart, and each of them needs the
#       subject.
