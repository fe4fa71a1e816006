"""
5. Backprop by hand
===================

*Behind the video:* the MLP of :video:`6:07` has its weights given; this chapter is how
they are learned.

The video takes the weights as given; a model gets them by gradient descent, which needs
the derivative of the loss with respect to every one of them. minigpt has no automatic
differentiation: every operation has its backward written out by hand next to its
forward, and every backward is proven against :term:`finite differences`. This chapter derives
each one, shows the code, and runs the proof.
"""

# %%
# The check
# ---------
#
# For an operation :math:`y = f(x)` with any output shape, pick a random upstream gradient
# :math:`g` and look at the scalar :math:`L = \sum y \odot g`. Its gradient
# :math:`\partial L / \partial x` is exactly what ``op_backward(g, cache)`` must return,
# and it can also be estimated one entry at a time by central differences:
#
# .. math::
#
#     \frac{\partial L}{\partial x_i} \approx
#     \frac{L(x + \epsilon e_i) - L(x - \epsilon e_i)}{2 \epsilon}
#
# :func:`minigpt.gradcheck` compares the two with an error that is relative for large
# gradients and absolute below a floor:
#
# .. literalinclude:: /../minigpt/finite_diff.py
#    :pyobject: numerical_gradient
#    :no-docstring:
#    :caption: minigpt/finite_diff.py

import time

import matplotlib.pyplot as plt
import numpy as np

import minigpt as mg
from minigpt.finite_diff import numerical_gradient
from minigpt.nn import (
    attention_backward,
    attention_forward,
    cross_entropy_backward,
    cross_entropy_forward,
    embedding_backward,
    embedding_forward,
    gelu_backward,
    gelu_exact_backward,
    gelu_exact_forward,
    gelu_forward,
    layernorm_backward,
    layernorm_forward,
    linear_backward,
    linear_forward,
    mlp_backward,
    mlp_forward,
    relu_backward,
    relu_forward,
    softmax_backward,
    softmax_forward,
)

rng = np.random.default_rng(0)
B, T, C, H, V = 2, 5, 8, 2, 11  # small shapes: finite differences cost two calls per entry
errors = {}


def report(name, result):
    """Print a gradcheck result as a row; stop the chapter if a backward is wrong."""
    if not errors:  # the columns: the two gradients are those of the worst entry
        print(f"{'operation':<18} {'entries':>7} {'worst error':>11}  {'analytic':>11} "
              f"{'numeric':>11}  ok")
    errors[name] = result.max_error
    print(f"{name:<18} {result.n_checked:>7} {result.max_error:>11.1e}  "
          f"{result.analytic:>+11.4e} {result.numeric:>+11.4e}  {result.ok}")
    assert result.ok, f"the backward of {name} disagrees with finite differences"


# %%
# Linear
# ------
#
# :math:`y = x W^T + b`, so :math:`y_{nj} = \sum_i x_{ni} W_{ji} + b_j`. Each
# :math:`x_{ni}` reaches every output of its row through :math:`W_{ji}`, each
# :math:`W_{ji}` every row through :math:`x_{ni}`:
#
# .. math::
#
#     dx = dy\, W, \qquad dW = dy^T x, \qquad db = \textstyle\sum_n dy_n
#
# .. literalinclude:: /../minigpt/nn/linear.py
#    :pyobject: linear_backward
#    :no-docstring:
#    :caption: minigpt/nn/linear.py

x, w, b = rng.standard_normal((B, T, C)), rng.standard_normal((3, C)), rng.standard_normal(3)
dy = rng.standard_normal((B, T, 3))
_, cache = linear_forward(x, w, b)
report("linear", mg.gradcheck(lambda x, w, b: linear_forward(x, w, b)[0], [x, w, b],
                              linear_backward(dy, cache), dy=dy))

# %%
# Embedding
# ---------
#
# The lookup :math:`\text{out}_p = \text{table}_{\text{idx}_p}` copies rows, so the
# gradient of a row is the sum of the gradients of every position that read it: a
# scatter-add.
#
# .. literalinclude:: /../minigpt/nn/embedding.py
#    :pyobject: embedding_backward
#    :no-docstring:
#    :caption: minigpt/nn/embedding.py

idx = rng.integers(0, V, size=(B, T))
table = rng.standard_normal((V, C))
dy = rng.standard_normal((B, T, C))
_, cache = embedding_forward(idx, table)
report("embedding", mg.gradcheck(lambda t: embedding_forward(idx, t)[0], [table],
                                 [embedding_backward(dy, cache)], dy=dy))

# %%
# GELU
# ----
#
# With :math:`u = c\,(x + a x^3)`, :math:`y = \tfrac12 x (1 + \tanh u)`; the product rule
# and :math:`\tanh' = 1 - \tanh^2` give
#
# .. math::
#
#     \frac{dy}{dx} = \tfrac12 (1 + \tanh u) + \tfrac12 x\,(1 - \tanh^2 u)\, c\,(1 + 3 a x^2)
#
# The derivative depends on :math:`x` itself, so the forward keeps :math:`x`.
#
# .. literalinclude:: /../minigpt/nn/activations.py
#    :pyobject: gelu_backward
#    :no-docstring:
#    :caption: minigpt/nn/activations.py

x, dy = 2 * rng.standard_normal((B, T, C)), rng.standard_normal((B, T, C))
for name, forward, backward in (("gelu", gelu_forward, gelu_backward),
                                ("gelu (exact)", gelu_exact_forward, gelu_exact_backward),
                                ("relu", relu_forward, relu_backward)):
    _, cache = forward(x)
    report(name, mg.gradcheck(lambda x: forward(x)[0], [x], [backward(dy, cache)], dy=dy))

# %%
# The exact GELU, :math:`x\,\Phi(x)`, has the simpler derivative
# :math:`\Phi(x) + x\,\varphi(x)`; ReLU's is 1 where the input was positive and 0
# elsewhere. ReLU has no derivative at 0, so a finite difference across the kink would
# disagree with either value; the random input stays clear of it:

print(f"smallest |x| checked: {np.abs(x).min():.1e} (the step is {1e-5:.0e})")

# %%
# The MLP block
# -------------
#
# The MLP is linear, activation, linear; its backward is theirs in reverse order:
#
# .. literalinclude:: /../minigpt/nn/mlp.py
#    :pyobject: mlp_backward
#    :no-docstring:
#    :caption: minigpt/nn/mlp.py

F = 4 * C
w_up, b_up = rng.standard_normal((F, C)) / np.sqrt(C), 0.1 * rng.standard_normal(F)
w_down, b_down = rng.standard_normal((C, F)) / np.sqrt(F), 0.1 * rng.standard_normal(C)
x, dy = rng.standard_normal((B, T, C)), rng.standard_normal((B, T, C))
_, cache = mlp_forward(x, w_up, b_up, w_down, b_down)
report("mlp", mg.gradcheck(lambda *a: mlp_forward(*a)[0], [x, w_up, b_up, w_down, b_down],
                           mlp_backward(dy, cache), dy=dy, n_samples=40))

# %%
# LayerNorm
# ---------
#
# :math:`\hat x = (x - \mu)\, r` with :math:`r = 1/\sqrt{\sigma^2 + \epsilon}`, and
# :math:`y = g \odot \hat x + b`. The mean and the variance depend on every entry of the
# row, which is what makes this one interesting:
# :math:`\partial \hat x_j / \partial x_i = r\,(\delta_{ij} - \tfrac1C - \tfrac1C \hat x_i
# \hat x_j)`. Contracting with :math:`d\hat x = g \odot dy`:
#
# .. math::
#
#     dx = r \left(d\hat x - \overline{d\hat x} - \hat x\, \overline{d\hat x \odot \hat x}\right),
#     \qquad dg = \textstyle\sum dy \odot \hat x, \qquad db = \textstyle\sum dy
#
# with bars for means over the row.
#
# .. literalinclude:: /../minigpt/nn/layernorm.py
#    :pyobject: layernorm_backward
#    :no-docstring:
#    :caption: minigpt/nn/layernorm.py

x, dy = rng.standard_normal((B, T, C)), rng.standard_normal((B, T, C))
gain, bias = 1 + 0.1 * rng.standard_normal(C), 0.1 * rng.standard_normal(C)
_, cache = layernorm_forward(x, gain, bias)
report("layernorm", mg.gradcheck(lambda x, g, b: layernorm_forward(x, g, b)[0], [x, gain, bias],
                                 layernorm_backward(dy, cache), dy=dy))

# %%
# Softmax
# -------
#
# :math:`y_i = e^{x_i} / \sum_j e^{x_j}` has the Jacobian
# :math:`\partial y_j / \partial x_i = y_j (\delta_{ij} - y_i)`, so
#
# .. math::
#
#     dx_i = \sum_j dy_j\, y_j (\delta_{ij} - y_i)
#          = y_i \left(dy_i - \textstyle\sum_j dy_j\, y_j\right)
#
# written with the output alone, which is all the forward keeps.
#
# .. literalinclude:: /../minigpt/nn/softmax.py
#    :pyobject: softmax_backward
#    :no-docstring:
#    :caption: minigpt/nn/softmax.py

x, dy = rng.standard_normal((B, T, V)), rng.standard_normal((B, T, V))
_, cache = softmax_forward(x)
report("softmax", mg.gradcheck(lambda x: softmax_forward(x)[0], [x], [softmax_backward(dy, cache)],
                               dy=dy))

# %%
# Attention
# ---------
#
# Attention is a chain of the pieces above, differentiated in reverse: the output
# projection (linear), :math:`Y = A V` (two matrix products), the softmax, the scaled
# scores :math:`S = Q K^T / \sqrt D`, and the fused :math:`q, k, v` projection (linear):
#
# .. math::
#
#     dA = dY\, V^T,\quad dV = A^T dY,\quad dS = \operatorname{softmax}'(dA),\quad
#     dQ = dS\, K / \sqrt D,\quad dK = dS^T Q / \sqrt D
#
# Masked entries have :math:`A = 0`, so the softmax backward gives them no gradient.
#
# .. literalinclude:: /../minigpt/nn/attention.py
#    :pyobject: attention_backward
#    :no-docstring:
#    :caption: minigpt/nn/attention.py

x = rng.standard_normal((B, T, C))
w_qkv, b_qkv = 0.5 * rng.standard_normal((3 * C, C)), 0.1 * rng.standard_normal(3 * C)
w_out, b_out = 0.5 * rng.standard_normal((C, C)), 0.1 * rng.standard_normal(C)
dy = rng.standard_normal((B, T, C))
for window in (None, 2):
    _, cache = attention_forward(x, w_qkv, b_qkv, w_out, b_out, H, window)
    report(f"attention ({'dense' if window is None else f'band {window}'})", mg.gradcheck(
        lambda *a: attention_forward(*a, H, window)[0], [x, w_qkv, b_qkv, w_out, b_out],
        attention_backward(dy, cache), dy=dy))

# %%
# Cross-entropy
# -------------
#
# With :math:`p = \operatorname{softmax}(z)` and the right token :math:`t`,
# :math:`L = -\log p_t = -z_t + \log \sum_v e^{z_v}`; averaged over :math:`n` positions,
#
# .. math::
#
#     \frac{\partial L}{\partial z_v} = \frac1n \left(p_v - [v = t]\right)
#
# the shortest backward in the model.
#
# .. literalinclude:: /../minigpt/nn/loss.py
#    :pyobject: cross_entropy_backward
#    :no-docstring:
#    :caption: minigpt/nn/loss.py

z, targets = rng.standard_normal((B, T, V)), rng.integers(0, V, size=(B, T))
_, cache = cross_entropy_forward(z, targets)
report("cross-entropy", mg.gradcheck(lambda z: cross_entropy_forward(z, targets)[0], [z],
                                     [cross_entropy_backward(1.0, cache)]))

# %%
# The whole model
# ---------------
#
# :meth:`minigpt.GPT.loss_and_grads` runs every backward above in the reverse order of the
# forward. The same check on a small float64 model (GPT-2's initialisation,
# :func:`minigpt.init_params`), for a sample of entries of one parameter of each kind:

cfg = mg.GPTConfig(vocab_size=V, n_ctx=8, n_layer=2, n_head=H, d_model=C,
                   attention="alternating", local_window=3)
model = mg.GPT(cfg, seed=0, dtype=np.float64)
idx = rng.integers(0, V, size=(B, cfg.n_ctx + 1))
x, y = idx[:, :-1], idx[:, 1:]
loss, grads = model.loss_and_grads(x, y)
checked = ["tok_emb", "pos_emb", "blocks.0.ln1.gain", "blocks.0.attn.w_qkv", "blocks.1.attn.w_out",
           "blocks.1.mlp.w_up", "blocks.1.mlp.b_down", "ln_f.bias"]
t0 = time.perf_counter()
result = mg.gradcheck(lambda *_: model.loss_and_grads(x, y)[0], [model.params[n] for n in checked],
                      [grads[n] for n in checked], n_samples=6)
report("whole model", result)
print(f"loss {loss:.4f}; worst entry in {checked[result.input]} {result.index}; "
      f"{time.perf_counter() - t0:.2f} s")

# %%
# Every backward agrees with finite differences within the default tolerance of
# :func:`minigpt.gradcheck` (the dashed line); the chapter stops if one does not.

fig, ax = plt.subplots(figsize=(7, 3.2))
ax.barh(list(errors), list(errors.values()), color="C0")
ax.axvline(1e-6, color="k", ls="--", lw=1, label="rtol 1e-6")
ax.set_xscale("log")
ax.set_xlabel("worst error over the checked entries")
ax.legend()
ax.invert_yaxis()
fig.tight_layout()

# %%
# The same proof from the command line
# ------------------------------------
#
# A user who installed minigpt with pip has no tests folder. ``minigpt check`` runs the
# checks of this chapter from the installed package, every entry of every input in
# float64, and prints one row per op; it exits with 1 if any row is NOT OK. The command
# calls :func:`minigpt.check.check_gradients`, which this page calls too:

from minigpt.check import check_gradients, format_check_table

t0 = time.perf_counter()
rows = check_gradients(seed=0)
print(format_check_table(rows))
print(f"({time.perf_counter() - t0:.1f} s)")
assert all(row.ok for row in rows)

# %%
# Why the step is 1e-5
# --------------------
#
# A central difference has two errors pulling in opposite directions: truncation, of order
# :math:`\epsilon^2`, and the rounding of :math:`L(x \pm \epsilon)` to float64, about
# :math:`10^{-16}/\epsilon`. Sweeping the step for the LayerNorm gradient above shows the
# trade-off; compare the best step found with the default.

x, dy = rng.standard_normal((B, T, C)), rng.standard_normal((B, T, C))
_, cache = layernorm_forward(x, gain, bias)
dx = layernorm_backward(dy, cache)[0]
entries = [tuple(int(i) for i in np.unravel_index(k, x.shape)) for k in range(0, x.size, 7)]
steps = np.logspace(-12, -1, 23)
worst = []
for eps in steps:
    err = [abs(numerical_gradient(lambda x: layernorm_forward(x, gain, bias)[0], [x], 0, e, eps, dy)
               - dx[e]) / max(abs(dx[e]), 1e-3) for e in entries]
    worst.append(max(err))
best = steps[int(np.argmin(worst))]
print(f"best step {best:.0e} (error {min(worst):.1e}); at the default 1e-5: "
      f"{worst[int(np.argmin(np.abs(np.log10(steps) + 5)))]:.1e}")

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.loglog(steps, worst, "o-")
ax.axvline(1e-5, color="k", ls="--", lw=1, label="default eps 1e-5")
ax.set_xlabel("finite-difference step eps")
ax.set_ylabel("worst error")
ax.set_title("rounding (left) against truncation (right)")
ax.legend()
fig.tight_layout()

# %%
# Exercises
# ---------
#
# 1. Write the forward and backward of an elementwise product :math:`y = x \odot w`
#    (both inputs of the same shape) and prove the backward with :func:`minigpt.gradcheck`.
#
#    .. dropdown:: Solution
#
#       :math:`\partial y_i / \partial x_i = w_i` and :math:`\partial y_i / \partial w_i
#       = x_i`, so :math:`dx = dy \odot w` and :math:`dw = dy \odot x`; the forward keeps
#       both inputs.
#
#       .. code-block:: python
#
#          def mul_forward(x, w):
#              return x * w, (x, w)
#
#          def mul_backward(dy, cache):
#              x, w = cache
#              return dy * w, dy * x
#
#          x, w, dy = (rng.standard_normal((B, T, C)) for _ in range(3))
#          _, cache = mul_forward(x, w)
#          report("mul", mg.gradcheck(lambda x, w: mul_forward(x, w)[0], [x, w],
#                                     mul_backward(dy, cache), dy=dy))
#
# 2. Why does the softmax's backward need only its output :math:`y`, while GELU's needs its
#    input :math:`x`?
#
#    .. dropdown:: Solution
#
#       The softmax's Jacobian :math:`y_j(\delta_{ij} - y_i)` is written in the output
#       alone, so keeping :math:`y` is enough (and it is needed anyway). GELU's derivative
#       :math:`\tfrac12(1 + \tanh u) + \tfrac12 x (1 - \tanh^2 u)\, c (1 + 3ax^2)`
#       needs :math:`x` itself: from the output alone :math:`x` could not be recovered
#       cheaply (GELU is not one-to-one below zero).
#
# 3. ReLU has no derivative at 0. Which value does minigpt's
#    :func:`~minigpt.nn.relu_backward` use there, and why does the check above not see the
#    difference?
#
#    .. dropdown:: Solution
#
#       It passes ``dy`` only where the input was strictly positive, so at exactly 0 the
#       gradient is 0 (any value in :math:`[0, 1]` is a valid subgradient). A random
#       float input is never exactly 0, and the printed smallest :math:`|x|` is far
#       larger than the finite-difference step, so no checked entry straddles the kink.
