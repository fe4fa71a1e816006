import json

import pytest

from minigpt import GPTConfig, count_params, gpt3_config, param_shapes
from minigpt.cli import gpt3_param_table, main
from minigpt.config import GPT3_TABLE


@pytest.mark.parametrize("name", list(GPT3_TABLE))
def test_gpt3_presets_within_two_percent_of_the_paper(name):
    n_layer, d_model, n_head, paper = GPT3_TABLE[name]
    cfg = gpt3_config(name)
    assert (cfg.n_layer, cfg.d_model, cfg.n_head, cfg.d_ff) == (n_layer, d_model, n_head, 4 * d_model)
    assert cfg.vocab_size == 50257 and cfg.n_ctx == 2048
    assert abs(count_params(cfg) / paper - 1) < 0.02


def test_paper_table_figures():
    """Numbers from Table 2.1 and the video, computed rather than copied."""
    assert gpt3_config("small").d_head == 64
    assert gpt3_config("large").d_head == 96
    assert gpt3_config("2.7B").d_head == 80
    assert gpt3_config("XL").d_head == 128 and gpt3_config("xl").n_head == 16
    assert gpt3_config("13B").d_model == 5120
    big = gpt3_config("175B")
    groups = count_params(big, by="group")
    # the video: W_up has 4 x 12,288 = 49,152 rows, 603,979,776 weights
    assert big.d_ff == 49_152 and big.d_ff * big.d_model == 603_979_776
    assert round(96 * 2 * 603_979_776 / 1e9, 2) == 115.96  # MLP weights alone
    assert 115.9e9 < groups["mlp"] < 116.0e9  # with biases
    assert 0.66 < groups["mlp"] / count_params(big) < 0.67  # about two thirds
    assert groups["layernorm"] / count_params(big) < 1e-4


def test_count_params_formula_and_no_allocation():
    cfg = GPTConfig(vocab_size=10, n_ctx=4, n_layer=3, n_head=2, d_model=6, d_ff=10)
    C, F = 6, 10
    per_block = 4 * C * C + 4 * C + 2 * C * F + F + C + 4 * C
    assert count_params(cfg) == 10 * C + 4 * C + 3 * per_block + 2 * C
    assert count_params(cfg) == sum(
        int(__import__("math").prod(s)) for s in param_shapes(cfg).values())
    assert sum(count_params(cfg, by="group").values()) == count_params(cfg)


def test_count_params_of_absurd_configs_is_exact_and_allocates_nothing():
    """A file may claim 2**63 layers; counting them must cost what counting one does."""
    import tracemalloc

    C, F, V, n_ctx, L = 2**40, 3 * 2**41, 2**63, 2**62, 2**63
    cfg = GPTConfig(vocab_size=V, n_ctx=n_ctx, n_layer=L, n_head=2**20, d_model=C, d_ff=F)
    tracemalloc.start()
    try:
        total = count_params(cfg)
        groups = count_params(cfg, by="group")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    per_block = 4 * C * C + 4 * C + 2 * C * F + F + C + 4 * C
    assert total == V * C + n_ctx * C + L * per_block + 2 * C  # exact: Python ints
    assert groups == {"embedding": V * C + n_ctx * C, "attention": L * (4 * C * C + 4 * C),
                      "mlp": L * (2 * C * F + F + C), "layernorm": L * 4 * C + 2 * C}
    assert peak < 64 * 1024  # a few small dicts, whatever n_layer is


def test_config_validation():
    with pytest.raises(ValueError, match="d_model must be divisible by n_head, got d_model=10, n_head=3"):
        GPTConfig(10, 4, 1, 3, 10)
    with pytest.raises(ValueError, match=r"activation must be one of .*got 'swish'"):
        GPTConfig(10, 4, 1, 1, 4, activation="swish")
    with pytest.raises(ValueError, match=r"attention must be one of .*got 'sparse'"):
        GPTConfig(10, 4, 1, 1, 4, attention="sparse")
    with pytest.raises(ValueError, match="needs local_window"):
        GPTConfig(10, 4, 1, 1, 4, attention="alternating")
    with pytest.raises(ValueError, match="n_layer must be an int >= 1, got 0"):
        GPTConfig(10, 4, 0, 1, 4)
    with pytest.raises(TypeError, match="d_model must be an int, got float 4.0"):
        GPTConfig(10, 4, 1, 1, 4.0)
    with pytest.raises(ValueError, match="unknown GPT-3 preset 'huge'"):
        gpt3_config("huge")
    with pytest.raises(TypeError, match="preset name must be a str"):
        gpt3_config(175)
    with pytest.raises(ValueError, match="by must be None or 'group'"):
        count_params(gpt3_config("small"), by="layer")


def test_config_dict_round_trip():
    cfg = GPTConfig(10, 4, 2, 1, 4, attention="alternating", local_window=2)
    assert GPTConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="unknown GPTConfig fields"):
        GPTConfig.from_dict({**cfg.to_dict(), "n_embd": 3})


def test_params_command_prints_the_table(capsys):
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert "174,604,259,328" in out and "115,970,015,232" in out and "66.4%" in out
    assert main(["params", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["models"]
    assert rows == json.loads(json.dumps(gpt3_param_table()))
    assert [r["name"] for r in rows] == list(GPT3_TABLE)
