"""Tests for minigpt.hf: Hugging Face GPT-2 weights give minigpt the same logits, gradients
and greedy generations as ``transformers``; the folder format and its errors."""

from __future__ import annotations

import json
import os
import tracemalloc

import numpy as np
import pytest

from minigpt.bpe import BYTE_TO_CHAR, GPT2Tokenizer
from minigpt.config import GPTConfig
from minigpt.hf import (
    config_from_hf,
    config_to_hf,
    from_hf_gpt2,
    load_hf_gpt2,
    save_hf_gpt2,
    to_hf_gpt2,
)
from minigpt.model import GPT
from tests.helpers import require, safetensors_bytes, with_dtype

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # transformers must never reach for the network

# Tolerances of the issue. Measured worst over the shapes below: logits 1.8e-6 (float32) and
# 4.2e-15 (float64); gradients 2.5e-7 (float32) and 4.3e-16 (float64).
LOGIT_ATOL = {np.float32: 1e-4, np.float64: 1e-9}
GRAD_ATOL_F64 = 1e-9
GRAD_ATOL_F32 = 1e-4
BATCH = 3
WEIGHT_STD = 0.3  # larger than GPT-2's 0.02 so every weight, bias included, shows in the logits
GAIN_STD = 0.2  # LayerNorm gains are 1 + this * noise

# (vocab_size, n_positions, n_layer, n_head, n_embd, n_inner, activation_function):
# odd head counts, a single head, n_ctx not a power of two, an MLP width other than 4C.
SHAPES = {
    "3heads": (53, 13, 2, 3, 15, None, "gelu_new"),
    "1head": (40, 7, 1, 1, 4, None, "gelu_new"),
    "5heads-ff36": (61, 24, 3, 5, 20, 36, "gelu_new"),
}
ACTIVATIONS = {"gelu_exact": "gelu", "relu": "relu", "gelu_pytorch_tanh": "gelu_pytorch_tanh"}


def _require_hf():
    return require("torch"), require("transformers")


def _hf_config(transformers, shape):
    V, n_ctx, n_layer, n_head, C, F, act = shape
    cfg = transformers.GPT2Config(vocab_size=V, n_positions=n_ctx, n_layer=n_layer,
                                  n_head=n_head, n_embd=C, n_inner=F, activation_function=act,
                                  bos_token_id=None, eos_token_id=None, pad_token_id=None,
                                  attn_implementation="eager")
    return cfg  # eager: the plain softmax(QK^T / sqrt(D)) V path, in any dtype


def _random_hf_model(torch, transformers, shape, seed=0):
    """A GPT2LMHeadModel with every parameter random (biases and LayerNorms included)."""
    torch.manual_seed(seed)
    model = transformers.GPT2LMHeadModel(_hf_config(transformers, shape)).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".ln_" in name and name.endswith("weight"):
                p.copy_(1 + GAIN_STD * torch.randn_like(p))
            else:
                p.normal_(0.0, WEIGHT_STD)
    return model


@pytest.fixture(scope="module")
def hf_folders(tmp_path_factory):
    """shape name -> (HF model, folder it was saved to with save_pretrained)."""
    torch, transformers = _require_hf()
    out = {}
    for name, shape in {**SHAPES, **{k: SHAPES["3heads"][:-1] + (v,) for k, v in
                                     ACTIVATIONS.items()}}.items():
        model = _random_hf_model(torch, transformers, shape)
        folder = tmp_path_factory.mktemp(name)
        model.save_pretrained(folder)
        out[name] = (model, folder)
    return out


def _ids(V, T, seed=0):
    return np.random.default_rng(seed).integers(0, V, size=(BATCH, T))


def _hf_logits(torch, model, idx, dtype):
    model = model.to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        return model(torch.from_numpy(idx)).logits.numpy()


# ------------------------------------------------------------------ against transformers


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", [*SHAPES, *ACTIVATIONS])
def test_logits_match_transformers(hf_folders, name, dtype):
    torch, _ = _require_hf()
    hf_model, folder = hf_folders[name]
    model, tokenizer = load_hf_gpt2(folder, dtype=dtype)
    assert tokenizer is None
    cfg = model.config
    idx = _ids(cfg.vocab_size, cfg.n_ctx)  # T = n_ctx: every learned position is used
    logits = model.forward(idx)
    expected = _hf_logits(torch, hf_model, idx, dtype)
    assert logits.dtype == dtype and logits.shape == expected.shape
    assert np.abs(logits - expected).max() < LOGIT_ATOL[dtype]
    assert np.abs(expected).max() > 1.0  # the logits are not all near zero


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(SHAPES))
def test_gradients_match_torch_autograd(hf_folders, name, dtype):
    torch, _ = _require_hf()
    hf_model, folder = hf_folders[name]
    model, _ = load_hf_gpt2(folder, dtype=dtype)
    cfg = model.config
    idx, targets = _ids(cfg.vocab_size, cfg.n_ctx, 1), _ids(cfg.vocab_size, cfg.n_ctx, 2)
    loss, grads = model.loss_and_grads(idx, targets)

    hf_model = hf_model.to(torch.float64 if dtype == np.float64 else torch.float32)
    hf_model.zero_grad()
    logits = hf_model(torch.from_numpy(idx)).logits
    ref_loss = torch.nn.functional.cross_entropy(logits.reshape(-1, cfg.vocab_size),
                                                 torch.from_numpy(targets).reshape(-1))
    ref_loss.backward()
    # named_parameters lists the tied head once, as wte, with both gradients summed
    ref_grads = from_hf_gpt2({n: p.grad for n, p in hf_model.named_parameters()}, cfg)
    atol = GRAD_ATOL_F64 if dtype == np.float64 else GRAD_ATOL_F32
    assert abs(loss - ref_loss.item()) < atol
    assert grads.keys() == ref_grads.keys()
    worst = max(np.abs(grads[k] - ref_grads[k]).max() for k in grads)
    assert worst < atol
    assert min(np.abs(ref_grads[k]).max() for k in grads) > 1e-3  # every gradient is alive


@pytest.mark.parametrize("name", list(SHAPES))
def test_export_reloads_in_transformers(hf_folders, name, tmp_path):
    torch, transformers = _require_hf()
    hf_model, folder = hf_folders[name]
    model, _ = load_hf_gpt2(folder, dtype=np.float64)
    idx = _ids(model.config.vocab_size, model.config.n_ctx, 3)
    expected = _hf_logits(torch, hf_model, idx, np.float64)

    # to_hf_gpt2 -> load_state_dict, strictly: every name and shape accepted
    fresh = transformers.GPT2LMHeadModel(_hf_config(transformers, SHAPES[name])).double().eval()
    state = {k: torch.from_numpy(v) for k, v in to_hf_gpt2(model.params).items()}
    fresh.load_state_dict(state, strict=True)
    np.testing.assert_array_equal(_hf_logits(torch, fresh, idx, np.float64), expected)

    # save_hf_gpt2 -> from_pretrained
    save_hf_gpt2(tmp_path, model)
    reloaded = transformers.GPT2LMHeadModel.from_pretrained(tmp_path, dtype=torch.float64,
                                                            attn_implementation="eager")
    assert np.abs(_hf_logits(torch, reloaded.eval(), idx, np.float64) - expected).max() < 1e-12


@pytest.mark.parametrize("activation", ["gelu", "gelu_exact", "relu"])
def test_minigpt_model_exports_to_transformers(activation, tmp_path):
    torch, transformers = _require_hf()
    cfg = GPTConfig(vocab_size=45, n_ctx=11, n_layer=2, n_head=3, d_model=12, d_ff=20,
                    activation=activation)
    model = GPT(cfg, seed=5, dtype=np.float64)
    rng = np.random.default_rng(6)
    for p in model.params.values():  # move every parameter off its initial value
        p += WEIGHT_STD * rng.standard_normal(p.shape)
    save_hf_gpt2(tmp_path, model)
    hf_model = transformers.GPT2LMHeadModel.from_pretrained(tmp_path, dtype=torch.float64,
                                                            attn_implementation="eager")
    idx = _ids(cfg.vocab_size, cfg.n_ctx, 4)
    diff = np.abs(model.forward(idx) - _hf_logits(torch, hf_model.eval(), idx, np.float64))
    assert diff.max() < LOGIT_ATOL[np.float64]


@pytest.mark.parametrize("name", list(SHAPES))
def test_greedy_generation_matches_transformers(hf_folders, name):
    torch, _ = _require_hf()
    hf_model, folder = hf_folders[name]
    model, _ = load_hf_gpt2(folder, dtype=np.float64)
    cfg = model.config
    prompt = _ids(cfg.vocab_size, 2, 5)
    n_new = cfg.n_ctx - prompt.shape[1]  # fill the context exactly
    ours = model.generate(prompt, max_new_tokens=n_new, temperature=0)
    hf_model = hf_model.double()
    with torch.no_grad():
        ids = torch.from_numpy(prompt)
        # an explicit mask: otherwise a prompt token equal to pad_token_id would be masked
        theirs = hf_model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                   max_new_tokens=n_new, min_new_tokens=n_new,
                                   pad_token_id=0).numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert len(np.unique(ours[:, prompt.shape[1]:])) > 1  # not one token repeated


def test_pickle_needs_explicit_permission(hf_folders, tmp_path):
    torch, _ = _require_hf()
    hf_model, folder = hf_folders["1head"]
    (tmp_path / "config.json").write_bytes((folder / "config.json").read_bytes())
    torch.save(hf_model.float().state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(FileNotFoundError, match="allow_pickle=True"):
        load_hf_gpt2(tmp_path)
    model, _ = load_hf_gpt2(tmp_path, allow_pickle=True)
    expected, _ = load_hf_gpt2(folder)
    for k in expected.params:
        np.testing.assert_array_equal(model.params[k], expected.params[k])
    data = (tmp_path / "pytorch_model.bin").read_bytes()
    (tmp_path / "pytorch_model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="pytorch_model.bin is not a readable"):
        load_hf_gpt2(tmp_path, allow_pickle=True)
    # a config far larger than the pickle is refused before the pickle is opened
    config = json.loads((folder / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "n_layer": 2**63}))
    refuse_within(lambda: load_hf_gpt2(tmp_path, allow_pickle=True),
                  r"config\.json asks for [\d,]+ parameters")


def test_config_from_transformers_round_trip():
    _, transformers = _require_hf()
    hf = transformers.GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12,
                                 n_head=12)  # GPT-2 small's defaults
    cfg = config_from_hf(hf.to_dict())
    assert (cfg.vocab_size, cfg.n_ctx, cfg.d_model, cfg.n_layer, cfg.n_head, cfg.d_ff,
            cfg.activation) == (50257, 1024, 768, 12, 12, 3072, "gelu")
    again = transformers.GPT2Config(**config_to_hf(cfg))
    assert config_from_hf(again.to_dict()) == cfg


# ------------------------------------------------------------------ numpy only


def _small_model(dtype=np.float32, **kw):
    cfg = GPTConfig(**{**dict(vocab_size=300, n_ctx=9, n_layer=2, n_head=3, d_model=6), **kw})
    return GPT(cfg, seed=1, dtype=dtype)


def test_name_mapping_round_trip_and_layout():
    model = _small_model()
    sd = to_hf_gpt2(model.params)
    assert len(sd) == len(model.params) + 1  # plus the tied lm_head
    np.testing.assert_array_equal(sd["transformer.h.1.mlp.c_fc.weight"],
                                  model.params["blocks.1.mlp.w_up"].T)
    np.testing.assert_array_equal(sd["lm_head.weight"], model.params["tok_emb"])
    back = from_hf_gpt2(sd)
    assert list(back) == list(model.params)
    for k, v in model.params.items():
        np.testing.assert_array_equal(back[k], v)
        assert back[k].flags.c_contiguous and back[k].dtype == v.dtype
        assert not np.shares_memory(back[k], v)
    # without the prefix, with the attention-mask buffers of old checkpoints
    bare = {k.removeprefix("transformer."): v for k, v in sd.items()}
    bare["h.0.attn.bias"] = np.tril(np.ones((1, 1, 9, 9), dtype=np.float32))
    bare["h.0.attn.masked_bias"] = np.array(-1e4, dtype=np.float32)
    for k, v in from_hf_gpt2(bare).items():
        np.testing.assert_array_equal(v, model.params[k])


def test_from_hf_errors():
    sd = to_hf_gpt2(_small_model().params)
    with pytest.raises(ValueError, match=r"1 missing name\(s\) \['h.1.ln_2.bias'\]"):
        from_hf_gpt2({k: v for k, v in sd.items() if k != "transformer.h.1.ln_2.bias"})
    with pytest.raises(ValueError, match=r"1 unexpected name\(s\) \['h.0.attn.extra'\]"):
        from_hf_gpt2({**sd, "h.0.attn.extra": np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match=r"c_proj.weight must have shape \(6, 6\), got \(6, 7\)"):
        from_hf_gpt2({**sd, "transformer.h.1.attn.c_proj.weight": np.zeros((6, 7), np.float32)})
    with pytest.raises(ValueError, match="untied output head"):
        from_hf_gpt2({**sd, "lm_head.weight": sd["lm_head.weight"] + 1})
    with pytest.raises(ValueError, match="twice"):
        from_hf_gpt2({**sd, "wte.weight": sd["transformer.wte.weight"]})
    with pytest.raises(ValueError, match="must be 2-D"):
        from_hf_gpt2({**sd, "transformer.wte.weight": np.zeros(5, np.float32)})
    with pytest.raises(TypeError, match="floating-point"):
        from_hf_gpt2({**sd, "transformer.ln_f.bias": np.zeros(6, np.int64)})
    with pytest.raises(ValueError, match="n_layer=3, but the state_dict holds 2 block"):
        from_hf_gpt2(sd, _small_model(n_layer=3).config)
    with pytest.raises(ValueError, match="missing"):
        to_hf_gpt2({k: v for k, v in _small_model().params.items() if k != "ln_f.gain"})


BASE_HF_CONFIG = {"vocab_size": 50, "n_positions": 16, "n_embd": 8, "n_layer": 2, "n_head": 2}


@pytest.mark.parametrize("field, value", [
    ("activation_function", "silu"),
    ("layer_norm_epsilon", 1e-6),
    ("tie_word_embeddings", False),
    ("scale_attn_weights", False),
    ("scale_attn_by_inverse_layer_idx", True),
    ("add_cross_attention", True),
    ("model_type", "gpt_neo"),
])
def test_config_from_hf_rejects_unsupported(field, value):
    with pytest.raises(ValueError, match=field):
        config_from_hf({**BASE_HF_CONFIG, field: value})


def test_config_mapping():
    cfg = config_from_hf({**BASE_HF_CONFIG, "n_inner": None, "resid_pdrop": 0.1})
    assert (cfg.d_ff, cfg.activation, cfg.attention) == (32, "gelu", "dense")
    exact = config_from_hf({**BASE_HF_CONFIG, "activation_function": "gelu"})
    assert exact.activation == "gelu_exact"
    assert config_from_hf({**BASE_HF_CONFIG, "n_inner": 12}).d_ff == 12
    with pytest.raises(ValueError, match=r"missing the field\(s\) \['n_head'\]"):
        config_from_hf({k: v for k, v in BASE_HF_CONFIG.items() if k != "n_head"})
    with pytest.raises(ValueError, match="dense"):
        config_to_hf(GPTConfig(50, 16, 2, 2, 8, attention="alternating", local_window=4))
    for act in ("gelu", "gelu_exact", "relu"):
        cfg = GPTConfig(50, 16, 2, 2, 8, d_ff=20, activation=act)
        assert config_from_hf(json.loads(json.dumps(config_to_hf(cfg)))) == cfg


def _tiny_tokenizer():
    return GPT2Tokenizer(list(BYTE_TO_CHAR) + ["Ġp", "Ġpl"], [("Ġ", "p"), ("Ġp", "l")])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_save_load_round_trip(tmp_path, dtype):
    model, tok = _small_model(dtype), _tiny_tokenizer()
    save_hf_gpt2(tmp_path, model, tok)
    assert sorted(os.listdir(tmp_path)) == ["config.json", "merges.txt", "model.safetensors",
                                            "vocab.json"]
    loaded, loaded_tok = load_hf_gpt2(tmp_path, dtype=dtype)
    assert loaded.config == model.config
    for k, v in model.params.items():
        np.testing.assert_array_equal(loaded.params[k], v)
        assert loaded.params[k].dtype == dtype
    assert loaded_tok.vocab == tok.vocab
    np.testing.assert_array_equal(loaded_tok.encode(" plays"), tok.encode(" plays"))


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_hf_gpt2(tmp_path / "absent")
    save_hf_gpt2(tmp_path, _small_model(), _tiny_tokenizer())
    files = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}

    def restore():
        for name, data in files.items():
            (tmp_path / name).write_bytes(data)

    for name in ("config.json", "model.safetensors", "merges.txt", "vocab.json"):
        os.remove(tmp_path / name)
        with pytest.raises(FileNotFoundError, match=name.replace(".", r"\.")):
            load_hf_gpt2(tmp_path)
        restore()
    n_bytes = len(files["model.safetensors"])
    for name, cut in (("config.json", 30), ("model.safetensors", n_bytes - 40),
                      ("model.safetensors", 5), ("vocab.json", 50)):
        (tmp_path / name).write_bytes(files[name][:cut])
        with pytest.raises(ValueError, match=name.replace(".", r"\.")):
            load_hf_gpt2(tmp_path)
        restore()
    # config.json and the weights disagree on a shape: both files are named
    config = json.loads(files["config.json"])
    (tmp_path / "config.json").write_text(json.dumps({**config, "n_embd": 9, "n_inner": 24}))
    with pytest.raises(ValueError, match=r"model\.safetensors does not match .*config\.json"):
        load_hf_gpt2(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "activation_function": "silu"}))
    with pytest.raises(ValueError, match=r"config\.json: activation_function"):
        load_hf_gpt2(tmp_path)
    restore()
    save_hf_gpt2(tmp_path, _small_model(vocab_size=100))  # fewer ids than the tokenizer
    with pytest.raises(ValueError, match="258 tokens but the model"):
        load_hf_gpt2(tmp_path)


def test_bfloat16_weights(hf_folders, tmp_path):
    torch, _ = _require_hf()
    hf_model, folder = hf_folders["1head"]
    state = {k: v.to(torch.bfloat16) for k, v in hf_model.state_dict().items()}
    params = from_hf_gpt2(state)  # torch tensors are accepted; bfloat16 is widened
    assert params["tok_emb"].dtype == np.float32
    np.testing.assert_array_equal(params["blocks.0.mlp.w_up"],
                                  state["transformer.h.0.mlp.c_fc.weight"].float().numpy().T)
    safetensors_torch = require("safetensors.torch")
    (tmp_path / "config.json").write_bytes((folder / "config.json").read_bytes())
    safetensors_torch.save_file({k: v.contiguous() for k, v in state.items()
                                 if k != "lm_head.weight"}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=r"model\.safetensors holds a dtype numpy cannot read"):
        load_hf_gpt2(tmp_path)


# ----------------------------------------------------------------------------- dtypes


def _as_dtype(tmp_path, dtype, name="transformer.h.1.mlp.c_fc.weight"):
    """A saved folder whose weight ``name`` has ``dtype`` in model.safetensors."""
    save_hf_gpt2(tmp_path, _small_model())
    with_dtype(tmp_path / "model.safetensors", name, dtype)


@pytest.mark.parametrize("dtype", ["F8_E4M3", "F8_E5M2", "F8_E8M0", "BF16"])
def test_dtypes_numpy_lacks_are_named(tmp_path, dtype):
    _as_dtype(tmp_path, dtype)
    match = (rf"model\.safetensors holds a dtype numpy cannot read: tensor "
             rf"'transformer\.h\.1\.mlp\.c_fc\.weight' is {dtype}; supported: F32 \(float32\), "
             rf"F16 \(float16\), F64 \(float64\)")
    with pytest.raises(ValueError, match=match):
        load_hf_gpt2(tmp_path)


@pytest.mark.parametrize("dtype", ["I64", "BOOL", "U8"])
def test_non_float_weights_are_named(tmp_path, dtype):
    _as_dtype(tmp_path, dtype, "transformer.wpe.weight")
    with pytest.raises(ValueError, match=f"an unsupported dtype: tensor 'transformer.wpe.weight' "
                                         f"is {dtype}; supported: F32"):
        load_hf_gpt2(tmp_path)


def test_attention_mask_buffers_of_any_dtype_are_skipped(tmp_path):
    model = _small_model()
    save_hf_gpt2(tmp_path, model)
    sd = to_hf_gpt2(model.params, lm_head=False)
    tensors = {k: ("F32", v.shape, v.tobytes()) for k, v in sd.items()}
    tensors["transformer.h.0.attn.bias"] = ("BOOL", (1, 1, 4, 4), bytes(16))
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes(tensors, {"format": "pt"}))
    loaded, _ = load_hf_gpt2(tmp_path)
    np.testing.assert_array_equal(loaded.params["tok_emb"], model.params["tok_emb"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float16_weights_are_converted(tmp_path, dtype):
    """Hugging Face float16 checkpoints load, in the dtype asked for."""
    model = _small_model()
    half = {k: v.astype(np.float16) for k, v in to_hf_gpt2(model.params, lm_head=False).items()}
    save_hf_gpt2(tmp_path, model)
    tensors = {k: ("F16", v.shape, v.tobytes()) for k, v in half.items()}
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes(tensors, {"format": "pt"}))
    loaded, _ = load_hf_gpt2(tmp_path, dtype=dtype)
    for name, value in from_hf_gpt2(half).items():
        assert loaded.params[name].dtype == dtype
        np.testing.assert_array_equal(loaded.params[name], value.astype(dtype))


# ----------------------------------------------------------------------------- resource bombs

BOMB_PEAK_BYTES = 10 * 2**20  # what refusing a bomb may allocate (the files are a few KB)


def refuse_within(load, match, peak_bytes=BOMB_PEAK_BYTES):
    """``load()`` raises ValueError matching ``match``, allocating < peak_bytes; the message."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match) as info:
            load()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < peak_bytes, f"refusing took {peak / 2**20:.1f} MB"
    assert len(str(info.value)) < 600
    return str(info.value)


@pytest.mark.parametrize("field, value", [
    ("n_layer", 10**6), ("n_layer", 2**63), ("vocab_size", 2**63), ("n_positions", 2**63),
    ("n_embd", 3 * 2**61), ("n_inner", 2**63)])
def test_config_larger_than_the_weights_is_refused_cheaply(tmp_path, field, value):
    save_hf_gpt2(tmp_path, _small_model())
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, field: value}))
    refuse_within(lambda: load_hf_gpt2(tmp_path),
                  r"config\.json asks for [\d,]+ parameters .* but the file holds only")


@pytest.mark.parametrize("text", [
    '{"n_layer": ' + "[" * 100_000 + "]" * 100_000 + "}",  # deeper than the recursion limit
    '{"n_layer": ' + "9" * 5000 + "}",  # more digits than int() converts
])
def test_hostile_config_json(tmp_path, text):
    save_hf_gpt2(tmp_path, _small_model())
    (tmp_path / "config.json").write_text(text)
    refuse_within(lambda: load_hf_gpt2(tmp_path), r"config\.json is not valid JSON")


def test_state_dict_block_counts_are_checked_before_names_are_listed():
    model = _small_model()
    sd = to_hf_gpt2(model.params)
    huge = GPTConfig(**{**model.config.to_dict(), "n_layer": 2**63})
    refuse_within(lambda: from_hf_gpt2(sd, huge),
                  f"the config has n_layer={2**63}, but the state_dict holds 2 block")
    # without a config, one far block index must not make a model of a million blocks
    far = {**sd, "transformer.h.1000000.ln_1.weight": np.ones(6, np.float32)}
    refuse_within(lambda: from_hf_gpt2(far),
                  r"12 missing name\(s\) \['h\.2\.ln_1\.weight', .*"
                  r"1 unexpected name\(s\) \['h\.1000000\.ln_1\.weight'\]")
