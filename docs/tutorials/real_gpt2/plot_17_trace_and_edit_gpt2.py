"""
17. How to: trace and edit a fact in GPT-2
==========================================

*In the video:* :video:`0:00`, where the video asks where GPT-style models keep facts and
cites the research that looked inside them.

The ROME paper traced and rewrote facts in GPT-2 XL. minigpt does both to any GPT-2 folder
from the command line. This page gives the exact commands to type with GPT-2's downloaded
weights, then runs the same commands while the page is built, on a stand-in: a folder of
GPT-2's architecture and file format at a small size, with **random weights** and a
tokenizer trained here (the build has no network). Its answers are therefore
meaningless; what the page shows is the mechanics, the files and the output you will
see. With the real weights the same commands answer the video's question for GPT-2
itself.
"""

# %%
# The commands, with GPT-2's weights
# ----------------------------------
#
# Download GPT-2 small's four files (``huggingface_hub`` comes with ``transformers``;
# about 550 MB):
#
# .. code-block:: bash
#
#    python -c "from huggingface_hub import snapshot_download; snapshot_download(
#        'openai-community/gpt2', local_dir='gpt2', allow_patterns=['config.json',
#        'model.safetensors', 'vocab.json', 'merges.txt'])"
#
# Ask it a fact and trace where it is looked up (the figures go into ``trace/``):
#
# .. code-block:: bash
#
#    minigpt facts trace --hf-dir gpt2 \
#        --prompt "The Eiffel Tower is located in the city of" \
#        --subject "The Eiffel Tower" --answer Paris --plots trace/
#
# Rewrite the fact with a :term:`rank-one edit` and save the edited model as a new folder:
#
# .. code-block:: bash
#
#    minigpt facts edit --hf-dir gpt2 \
#        --prompt "The Eiffel Tower is located in the city of" \
#        --subject "The Eiffel Tower" --new Rome --out edited/
#
# The edited folder is an ordinary Hugging Face GPT-2; ``transformers`` loads it:
#
# .. code-block:: python
#
#    from transformers import GPT2LMHeadModel, GPT2Tokenizer
#
#    model = GPT2LMHeadModel.from_pretrained("edited")
#    tok = GPT2Tokenizer.from_pretrained("edited")
#    prompt = "The Eiffel Tower is located in the city of"
#    ids = tok(prompt, return_tensors="pt").input_ids
#    print(tok.decode(model.generate(ids, max_new_tokens=3, do_sample=False)[0]))
#
# The measurement
# ---------------
#
# ``facts trace`` is chapter 8's :term:`causal tracing` on one prompt: add noise of three
# times the subject embeddings' spread to the subject's tokens, then restore one hidden
# state :math:`h_{l,t}` at a time and report how much of the answer's probability comes
# back:
#
# .. math::
#
#     IE_{l,t} = \mathbb{E}\left[\, p_{\text{corrupt},\; h_{l,t} \leftarrow
#         h^{\text{clean}}_{l,t}}(a) - p_{\text{corrupt}}(a) \,\right]
#
# The folder is read and written by :mod:`minigpt.hf`; the edited model is saved with
#
# .. literalinclude:: /../minigpt/hf/files.py
#    :pyobject: save_hf_gpt2
#    :no-docstring:
#    :caption: minigpt/hf/files.py

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap

import matplotlib.pyplot as plt
import numpy as np

from minigpt import GPT, GPTConfig
from minigpt.bpe import train_bpe
from minigpt.data import FactPrompt, load_capitals, load_text
from minigpt.hf import load_hf_gpt2, save_hf_gpt2
from minigpt.interp import causal_trace

WIDTH = 86  # characters per printed line


def minigpt(*args):
    """Run ``minigpt ARGS`` as a reader would type it; print the command and its output."""
    shown = " ".join(shlex.quote(a) for a in args)
    for line in textwrap.wrap(f"$ minigpt {shown}", WIDTH, subsequent_indent="      ",
                              break_on_hyphens=False):
        print(line)
    done = subprocess.run([sys.executable, "-m", "minigpt", *args], capture_output=True,
                          text=True, check=False, cwd=work)  # in the folder of the stand-in
    if done.returncode != 0:
        raise RuntimeError(f"minigpt {shown} failed:\n{done.stderr}")
    for line in done.stdout.splitlines():
        print(textwrap.fill(line, WIDTH, subsequent_indent="    ") if line else "")
    return done.stdout


# %%
# A stand-in folder
# -----------------
#
# GPT-2's architecture at a small size: GPT-2's 1024 positions and its kind of tokenizer
# (byte-level :term:`BPE`, here learned from the capitals and the book's embedded text
# with :func:`~minigpt.bpe.train_bpe`), four narrow blocks and random weights, written as
# the folder a download gives (:func:`~minigpt.hf.save_hf_gpt2`):

N_MERGES = 300
text = "".join(f"{p} {f.answer}.\n" for f in load_capitals() for p in (f.prompt, *f.paraphrases))
tokenizer = train_bpe(text + load_text(), N_MERGES)
cfg = GPTConfig(vocab_size=tokenizer.vocab_size, n_ctx=1024, n_layer=4, n_head=4, d_model=64)
work = tempfile.mkdtemp()
gpt2 = os.path.join(work, "gpt2")
save_hf_gpt2(gpt2, GPT(cfg, seed=0), tokenizer)
print(f"{gpt2.replace(work, '.')}: {sorted(os.listdir(gpt2))}")
with open(os.path.join(gpt2, "config.json"), encoding="utf-8") as f:
    hf_config = json.load(f)
print({k: hf_config[k] for k in ("n_layer", "n_embd", "n_head", "n_positions", "vocab_size")})

# %%
# Reading it back gives the model and its tokenizer; the prompt is cut into GPT-2-style
# pieces, and the random model continues it with nonsense:

PROMPT = "The capital of France is"
SUBJECT, ANSWER, NEW = "France", "Paris", "Rome"
model, tok = load_hf_gpt2(gpt2)
print(tok.tokenize(PROMPT))
minigpt("generate", "--hf-dir", "gpt2", "--prompt", PROMPT, "--greedy", "--max-new-tokens", "4")

# %%
# Trace
# -----
#
# The trace of the fact "France -> Paris", exactly as typed with GPT-2's weights
# (``minigpt facts trace`` runs :func:`~minigpt.interp.causal_trace`). It prints the
# answer's probability and the model's greedy continuation, the subject's token span,
# then one table per kind of hidden state and the peaks; ``--plots`` writes the figures.
# With random weights the model does not know the fact, so every probability is tiny
# and the indirect effects are noise (a share of a total effect that is not positive is
# printed as ``nan``); GPT-2 itself gives the picture of ROME's paper.

minigpt("facts", "trace", "--hf-dir", "gpt2", "--prompt", PROMPT, "--subject", SUBJECT,
        "--answer", ANSWER, "--plots", "trace")
print(sorted(os.listdir(os.path.join(work, "trace"))))

fig, ax = plt.subplots(figsize=(6.5, 4))
ax.imshow(plt.imread(os.path.join(work, "trace", "trace_mlp.png")))
ax.set_axis_off()
ax.set_title("trace/trace_mlp.png, as written by --plots (random weights: noise)",
             fontsize=9)
fig.tight_layout()

# %%
# The same trace from Python, with its numbers at hand:

fact = FactPrompt(PROMPT, SUBJECT, ANSWER)
trace = causal_trace(model, tok, [fact], n_samples=10, seed=0)
print(f"p(answer) clean {trace.p_clean[0]:.1e}, corrupted {trace.p_corrupt[0]:.1e}")
print(f"the largest indirect effect of an MLP output: {trace.peak('mlp')[2]:.1e}")
assert trace.p_clean[0] < 0.01  # random weights: the fact is not known

# %%
# Edit
# ----
#
# ``minigpt facts edit`` runs :func:`~minigpt.facts.rome_edit`: it reads the model's own
# answer, picks the layer of the trace's MLP peak at the subject's last token, edits that
# layer's :math:`W_{down}` and writes the edited model as a folder of the same kind. The
# key covariance comes from a text: by default the embedded play, here (``--corpus``) the
# capitals' sentences, which keeps the page quick.

with open(os.path.join(work, "corpus.txt"), "w", encoding="utf-8") as f:
    f.write(text)
minigpt("facts", "edit", "--hf-dir", "gpt2", "--prompt", PROMPT, "--subject", SUBJECT,
        "--new", NEW, "--out", "edited", "--corpus", "corpus.txt")
print(f"edited: {sorted(os.listdir(os.path.join(work, 'edited')))}")
edited, _ = load_hf_gpt2(os.path.join(work, "edited"))
changed = sorted(name for name in model.params
                 if not np.array_equal(model.params[name], edited.params[name]))
print(f"changed tensors: {changed}")
assert len(changed) == 1 and changed[0].endswith("mlp.w_down")

# %%
# Only one matrix changed, as the printed list shows. The folder is an ordinary Hugging
# Face GPT-2: ``transformers`` loads it (when installed) and continues the prompt
# greedily, with the same logits as minigpt:

if importlib.util.find_spec("transformers") is None:
    print("transformers is not installed: pip install 'minigpt[crosscheck]' to run this")
else:
    import torch
    from transformers import GPT2LMHeadModel, GPT2Tokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    hf_model = GPT2LMHeadModel.from_pretrained(os.path.join(work, "edited"))
    hf_tok = GPT2Tokenizer.from_pretrained(os.path.join(work, "edited"))
    hf_ids = hf_tok(PROMPT, return_tensors="pt").input_ids
    out = hf_model.generate(hf_ids, max_new_tokens=3, do_sample=False,
                            pad_token_id=hf_tok.eos_token_id or 0)
    print(f"transformers: {hf_tok.decode(out[0])!r}")
    with torch.no_grad():
        hf_logits = hf_model(hf_ids).logits[0].numpy()  # (T, V)
    ours = edited.forward(tok.encode(PROMPT))  # (T, V)
    gap = float(np.abs(hf_logits - ours).max())
    print(f"largest difference of the logits, transformers vs minigpt: {gap:.1e}")
    assert gap < 1e-3

# %%
# With random weights the continuation means nothing, edited or not: there was no fact
# to rewrite, only probabilities to move. With GPT-2's weights, run the same two commands
# on "The Eiffel Tower is located in the city of" and read the edit's table (p(Paris)
# and p(Rome) before and after) and the greedy continuation it prints.

# %%
# Clean up the stand-in folders.

shutil.rmtree(work)

# %%
# Exercises
# ---------
#
# 1. With GPT-2's weights, trace "The Eiffel Tower is located in the city of" with
#    ``--json`` and find the layer and position of the MLP's peak. Is it at the last
#    subject token, as ROME found for GPT-2 XL?
#
#    .. dropdown:: Solution
#
#       .. code-block:: bash
#
#          minigpt facts trace --hf-dir gpt2 \
#              --subject "The Eiffel Tower" --answer Paris \
#              --prompt "The Eiffel Tower is located in the city of" --json > trace.json
#
#       The JSON holds the indirect effect of every layer and position; its MLP peak
#       names the layer and the position. Compare with chapter 8, where the small model
#       looks its facts up at the prompt's last token instead.
#
# 2. Why does the stand-in model's trace show nothing meaningful, however many noise
#    samples it takes?
#
#    .. dropdown:: Solution
#
#       Its weights are random: it never learned that Paris is France's capital, so
#       the clean probability of the answer is as small as after the corruption, and
#       there is nothing for a restored state to bring back. Tracing measures how a model
#       uses what it knows; it cannot find a fact the model does not have.
