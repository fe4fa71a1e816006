"""The same weights in a small PyTorch GPT (autograd) must give the same loss and gradients.

Skips without torch; fails instead under MINIGPT_REQUIRE_CROSSCHECK=1.
"""

import numpy as np
import pytest

from minigpt import GPT, GPTConfig
from minigpt.nn import causal_mask
from tests.helpers import require_torch


def torch_gpt_loss(torch, cfg, params, idx, targets, ignore_index=-100):
    """A plain PyTorch GPT-2/3 forward written from the papers, independent of minigpt's code."""
    F = torch.nn.functional
    p = params
    B, T = idx.shape
    C, H = cfg.d_model, cfg.n_head
    D = C // H
    x = p["tok_emb"][idx] + p["pos_emb"][:T]
    for i in range(cfg.n_layer):
        b = f"blocks.{i}."
        h = F.layer_norm(x, (C,), p[b + "ln1.gain"], p[b + "ln1.bias"], eps=1e-5)
        q, k, v = F.linear(h, p[b + "attn.w_qkv"], p[b + "attn.b_qkv"]).split(C, dim=-1)
        q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))
        allowed = torch.from_numpy(causal_mask(T, cfg.layer_window(i)))
        scores = (q @ k.transpose(-2, -1)) / D**0.5
        att = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + F.linear(y, p[b + "attn.w_out"], p[b + "attn.b_out"])
        h = F.layer_norm(x, (C,), p[b + "ln2.gain"], p[b + "ln2.bias"], eps=1e-5)
        u = F.linear(h, p[b + "mlp.w_up"], p[b + "mlp.b_up"])
        act = {"gelu": lambda z: F.gelu(z, approximate="tanh"), "gelu_exact": F.gelu,
               "relu": F.relu}[cfg.activation]
        x = x + F.linear(act(u), p[b + "mlp.w_down"], p[b + "mlp.b_down"])
    x = F.layer_norm(x, (C,), p["ln_f.gain"], p["ln_f.bias"], eps=1e-5)
    logits = x @ p["tok_emb"].T
    return F.cross_entropy(logits.reshape(-1, cfg.vocab_size), targets.reshape(-1),
                           ignore_index=ignore_index)


@pytest.mark.parametrize("cfg", [
    GPTConfig(vocab_size=13, n_ctx=9, n_layer=2, n_head=3, d_model=12),
    GPTConfig(vocab_size=13, n_ctx=9, n_layer=3, n_head=2, d_model=8, activation="relu",
              attention="alternating", local_window=3),
    GPTConfig(vocab_size=10, n_ctx=7, n_layer=2, n_head=1, d_model=6, d_ff=10,
              activation="gelu_exact", attention="alternating", local_window=2),
], ids=["gelu-dense", "relu-alternating", "gelu_exact-alternating"])
def test_loss_and_gradients_match_pytorch(cfg):
    torch = require_torch()
    model = GPT(cfg, seed=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    for p in model.params.values():  # move away from the symmetric init
        p += rng.standard_normal(p.shape) * 0.1
    idx = rng.integers(0, cfg.vocab_size, size=(3, cfg.n_ctx))
    targets = rng.integers(0, cfg.vocab_size, size=(3, cfg.n_ctx))
    targets[0, :2] = -100
    loss, grads = model.loss_and_grads(idx, targets, ignore_index=-100)

    tparams = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    tloss = torch_gpt_loss(torch, cfg, tparams, torch.from_numpy(idx), torch.from_numpy(targets))
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    worst = 0.0
    for name, g in grads.items():
        ref = tparams[name].grad.numpy()
        err = np.max(np.abs(g - ref) / np.maximum(np.abs(ref), 1e-3))
        worst = max(worst, err)
        np.testing.assert_allclose(g, ref, rtol=1e-6, atol=1e-9, err_msg=name)
    assert worst < 1e-6
