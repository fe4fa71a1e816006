"""The benchmarks work (not how fast they are): every script runs in its ``--smoke`` mode and
prints and writes its table, with or without PyTorch; their accounting is checked by hand."""

from __future__ import annotations

import doctest
import json
import re
import string
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import (
    _common,
    ablation,
    blas_peak,
    bpe_encode,
    fact_tools,
    generate,
    hf_gpt2,
    memory,
    page_faults,
    profile_step,
    run_all,
    blas_threads,
    train_step,
    two_threads,
)
from benchmarks._common import SMOKE, TorchGPT, make_batch, make_model, model_flops
from minigpt import GPT
from tests.helpers import require_torch

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = ("train_step", "blas_peak", "generate", "memory", "page_faults", "blas_threads",
           "profile_step", "bpe_encode", "hf_gpt2", "fact_tools", "two_threads")
SMOKE_TIMEOUT_S = 120  # generous: the smoke suite takes seconds on an idle machine


def test_smoke_suite_prints_and_writes_every_table(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=SMOKE_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in SCRIPTS + ("targets",):
        assert f"===== {name} =====" in proc.stdout
        text = (tmp_path / f"{name}.md").read_text()
        assert text.startswith("# ")
        assert "\n|---" in text or "\n|-" in text, f"{name}.md has no table"
    steps = (tmp_path / "train_step.md").read_text()
    for phase in train_step.PHASES:  # threads "default" when threadpoolctl is absent
        assert re.search(rf"\| smoke \| (1 {{6}}|default) \| {re.escape(phase)} ", steps), phase
    assert "same tokens" in (tmp_path / "generate.md").read_text()
    assert "minigpt/nn/" in (tmp_path / "profile_step.md").read_text()
    assert re.search(r"\| yes +\|\n?$", (tmp_path / "bpe_encode.md").read_text())


def test_train_step_runs_without_torch(tmp_path, capsys):
    rows = train_step.main(["--smoke", "--no-torch", "--threads", "1", "--out", str(tmp_path)])
    assert [r["phase"] for r in rows] == list(train_step.PHASES)
    assert all(r["minigpt_ms"] > 0 and np.isnan(r["torch_ms"]) for r in rows)
    assert re.search(r"\| smoke \| (1 {6}|default) \| step +\|", capsys.readouterr().out)
    assert "torch: not used" in (tmp_path / "train_step.md").read_text()


@pytest.mark.parametrize("module", [_common, ablation, blas_peak, blas_threads, bpe_encode,
                                    fact_tools, generate, hf_gpt2, memory, page_faults,
                                    profile_step, run_all, train_step, two_threads])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_two_threads_times_every_variant_without_torch(tmp_path, capsys):
    rows = two_threads.main(["--smoke", "--no-torch", "--out", str(tmp_path)])
    names = two_threads.variants(2, torch=False)
    assert [r["variant"] for r in rows] == names and len(names) == 6
    assert all(r["ms"] > 0 and r["cpu_per_wall"] > 0 and np.isnan(r["vs_torch"]) for r in rows)
    assert rows[0]["vs_baseline"] == 1.0
    text = (tmp_path / "two_threads.md").read_text()
    assert "load average (1, 5, 15 min) at the start" in text
    assert re.search(r"\| smoke \| data parallel +\|", capsys.readouterr().out)


def test_blas_in_linear_only_wraps_the_linear_layers_and_restores_them():
    import minigpt.model
    import minigpt.nn.mlp
    from minigpt.nn import linear_forward

    model = make_model(SMOKE)
    idx, targets = make_batch(SMOKE)
    want, _ = model.loss_and_grads(idx, targets)
    with two_threads.blas_in_linear_only(2):
        assert minigpt.nn.mlp.linear_forward is not linear_forward
        loss, _ = model.loss_and_grads(idx, targets)
    assert minigpt.nn.mlp.linear_forward is linear_forward
    assert minigpt.model.linear_forward is linear_forward
    assert loss == want


def test_bpe_encode_times_both_merges_and_they_agree(tmp_path, capsys):
    rows = bpe_encode.main(["--sizes", "300", "5000", "--merges", "50", "2000", "--repeats", "1",
                            "--reference", "--reference-max", "1000", "--out", str(tmp_path)])
    assert [(r["chars"], r["merges"]) for r in rows] == [(300, 50), (5000, 50), (300, 2000),
                                                         (5000, 2000)]
    assert [r["same_ids"] for r in rows] == ["yes", "-", "yes", "-"]
    assert all(r["s"] > 0 and 0 < r["tokens"] <= r["chars"] for r in rows)
    assert np.isnan(rows[1]["reference_s"]) and rows[0]["reference_s"] > 0
    assert "| 5000       | 2000   |" in capsys.readouterr().out
    assert "reference / fast" in (tmp_path / "bpe_encode.md").read_text()


def test_synthetic_merges_build_on_earlier_merges():
    merges = bpe_encode.synthetic_merges(20_000)
    made = set(string.ascii_lowercase)
    for a, b in merges:  # each merge's parts were made before it
        assert a in made and b in made
        made.add(a + b)
    assert len(made) == 26 + 20_000
    assert [len(a + b) for a, b in merges] == sorted(len(a + b) for a, b in merges)


def test_model_flops_by_hand():
    # smoke: V32 T8 L1 H2 C16 F64. Parameters: tok 512, pos 128, ln1 32, qkv 768 + 48,
    # out 256 + 16, ln2 32, up 1024 + 64, down 1024 + 16, ln_f 32 = 3952; minus pos: 3824.
    tokens = 2 * 8
    assert model_flops(SMOKE.config, SMOKE.batch) == 6 * 3824 * tokens + 12 * 1 * 8 * 16 * tokens


def test_analytic_activations_are_what_minigpt_keeps():
    for shape in (SMOKE, _common.SHAPES["tiny"]):
        analytic = memory.activation_bytes(shape.config, shape.batch, itemsize=4)
        kept = memory.kept_bytes(make_model(shape), *make_batch(shape))
        # the loss also keeps one float per row (its weight, 1/n): nothing else is extra
        assert analytic <= kept <= analytic + shape.batch * shape.seq * 4


def test_peak_memory_covers_parameters_and_moments():
    peak, before = memory.peak_step_bytes(SMOKE)
    params = sum(p.nbytes for p in make_model(SMOKE).params.values())
    assert before >= 3 * params  # parameters and two moments live between steps
    assert peak > before


def test_recompute_generate_equals_kv_cache_generation():
    model = GPT(SMOKE.config, seed=1, dtype=np.float64)
    prompt = np.array([[1, 2, 3]])
    cached = model.generate(prompt, max_new_tokens=4, temperature=0)
    np.testing.assert_array_equal(generate.recompute_generate(model, prompt, 4), cached)


def test_torch_reference_has_minigpt_loss_and_gradients():
    torch = require_torch()
    model = make_model(SMOKE)
    idx, targets = make_batch(SMOKE)
    loss, grads = model.loss_and_grads(idx, targets)
    for attention in ("sdpa", "explicit"):
        ref = TorchGPT(torch, SMOKE.config, model.params, attention)
        tloss = ref.loss(torch.from_numpy(idx), torch.from_numpy(targets))
        tloss.backward()
        assert tloss.item() == pytest.approx(loss, rel=1e-5)
        for name in ("tok_emb", "blocks.0.attn.w_qkv", "blocks.0.mlp.w_up"):
            np.testing.assert_allclose(ref.params[name].grad.numpy(), grads[name],
                                       rtol=1e-3, atol=1e-6, err_msg=name)


def test_thread_limit_is_restored():
    ctl = pytest.importorskip("threadpoolctl")
    before = [i["num_threads"] for i in ctl.threadpool_info() if i["user_api"] == "blas"]
    with _common.threads(1):
        inside = [i["num_threads"] for i in ctl.threadpool_info() if i["user_api"] == "blas"]
    after = [i["num_threads"] for i in ctl.threadpool_info() if i["user_api"] == "blas"]
    assert inside == [1] * len(before) and after == before


def test_importing_minigpt_leaves_thread_settings_alone():
    code = ("import numpy, threadpoolctl; b = threadpoolctl.threadpool_info(); import minigpt, "
            "minigpt.model, minigpt.optim, minigpt.threads, minigpt.train; a = threadpoolctl.threadpool_info(); "
            "print([i['num_threads'] for i in b] == [i['num_threads'] for i in a])")
    pytest.importorskip("threadpoolctl")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=SMOKE_TIMEOUT_S)
    assert proc.stdout.strip() == "True", proc.stderr


def test_targets_table_marks_met_missed_and_missing():
    steps = [{"shape": "tiny", "threads": "2", "phase": "step", "ratio": 0.4, "ratio_min": 0.3},
             {"shape": "small", "threads": "2", "phase": "step", "ratio": 0.95}]
    peak = [{"shape": "medium", "threads": "2", "share": 0.75}]
    gen = [{"threads": "default", "speedup": 4.0}]
    mem = [{"shape": "tiny", "ratio": 1.2}]
    rows = {r[0]: r[2:4] for r in run_all.targets(steps, peak, gen, mem)}
    notes = {r[0]: r[4] for r in run_all.targets(steps, peak, gen, mem)}
    assert rows["step time minigpt / torch, tiny"] == ["0.40", "yes"]
    assert notes["step time minigpt / torch, tiny"] == "fastest runs: 0.30"
    assert rows["step time minigpt / torch, small"] == ["0.95", "no"]
    assert rows["step time minigpt / torch, medium"] == ["not measured", "-"]
    assert rows["medium model FLOP/s / GEMM peak"] == ["0.75", "yes"]
    assert rows["KV cache speedup, small, 256 new tokens"] == ["4.00", "no"]
    assert rows["peak memory / analytic, tiny"] == ["1.20", "yes"]
    assert rows["GPT-2 small generation / bandwidth limit"] == ["not measured", "-"]
    assert rows["causal trace s, GPT-2 small shape, 10 tokens"] == ["not measured", "-"]
    facts = [{"step": "causal trace", "threads": "2", "seconds": 61.0}]
    rows = {r[0]: r[2:4] for r in run_all.targets(steps, peak, gen, mem, fact_rows=facts)}
    assert rows["causal trace s, GPT-2 small shape, 10 tokens"] == ["61.00", "yes"]
    hf = [{"threads": "2", "gen_speedup": 2.5, "same_tokens": "128 / 128",
           "minigpt_share_of_limit": 0.8, "limit_tps": 138.0}]
    rows = {r[0]: r[2:] for r in run_all.targets(steps, peak, gen, mem, hf)}
    assert rows["GPT-2 small generation, minigpt / transformers tok/s"] == [
        "2.50", "yes", "same tokens: 128 / 128"]
    assert rows["GPT-2 small generation / bandwidth limit"] == ["0.80", "no",
                                                                "limit 138.0 tok/s"]


def test_hf_gpt2_smoke_without_transformers(tmp_path, capsys):
    rows = hf_gpt2.main(["--smoke", "--no-torch", "--out", str(tmp_path)])
    assert len(rows) == 1 and rows[0]["minigpt_gen_tps"] > 0
    assert "transformers_gen_tps" not in rows[0]
    assert 0 < rows[0]["minigpt_share_of_limit"]
    assert "| 2 " in capsys.readouterr().out or "default" in (tmp_path / "hf_gpt2.md").read_text()


def test_weight_bytes_counts_one_position_row():
    model = GPT(hf_gpt2.SMOKE_CONFIG, seed=0)
    total = sum(p.nbytes for p in model.params.values())
    C = hf_gpt2.SMOKE_CONFIG.d_model
    assert hf_gpt2.weight_bytes(model) == total - (hf_gpt2.SMOKE_CONFIG.n_ctx - 1) * C * 4


def test_markdown_table_pads_columns():
    text = _common.markdown_table(["shape", "ms"], [["tiny", 1.5], ["medium", 10]])
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert lines[1] == "|--------|-----|"



def test_ablation_smoke_against_the_revision_before_the_optimizations(tmp_path):
    rev = ablation.BEFORE
    if subprocess.run(["git", "cat-file", "-e", f"{rev}^{{commit}}"], cwd=REPO,
                      capture_output=True).returncode != 0:
        pytest.skip(f"git history with revision {rev} is not available")
    rows = ablation.main(["--smoke", "--threads", "1", "--out", str(tmp_path)])
    labels = [r["optimization"] for r in rows]
    assert labels == [*ablation.OPTIMIZATIONS, ablation.ALL]
    assert all(r["now_ms"] > 0 and r["before_ms"] > 0 for r in rows)
    assert "without / now" in (tmp_path / "ablation.md").read_text()


def test_blas_threads_rows_name_the_fastest_count_idle_and_busy():
    rows = blas_threads.run([16], [64], [1, 2], repeats=1)
    assert [r["condition"] for r in rows] == ["idle", "busy"]
    for r in rows:
        assert (r["d_model"], r["tokens"]) == (16, 64)
        assert r["mflop"] == pytest.approx(2 * 64 * 16 * 64 / 1e6)
        assert r["fastest"] == min(r["ms"], key=r["ms"].get)
    with pytest.raises(ValueError, match="condition must be one of"):
        with blas_threads.condition("loaded"):
            pass


def test_fact_tools_smoke_times_every_step(tmp_path):
    rows = fact_tools.main(["--smoke", "--out", str(tmp_path)])
    steps = [r["step"] for r in rows]
    assert steps[:3] == ["train the BPE tokenizer", "save_hf_gpt2", "load_hf_gpt2"]
    assert steps[3:] == [name for name, _ in fact_tools.STEPS]
    assert all(r["seconds"] >= 0 for r in rows)
    text = (tmp_path / "fact_tools.md").read_text()
    assert "causal trace" in text and "Causal trace target" in text


def test_fact_tools_prompt_is_ten_tokens_with_a_multi_token_subject():
    from minigpt.interp import encode_fact

    e = encode_fact(fact_tools.bpe_tokenizer(fact_tools.BPE_MERGES), fact_tools.FACT)
    assert e.T == fact_tools.PROMPT_TOKENS and e.last > e.first


def test_perpendicular_video_smoke_writes_a_record_like_the_stored_one(tmp_path):
    from benchmarks import perpendicular_video
    from minigpt.data import load_perpendicular_video

    out = tmp_path / "run.json"
    record = perpendicular_video.main(["--smoke", "--out", str(out)])
    stored = load_perpendicular_video()
    assert json.loads(out.read_text()) == record
    assert set(record) == set(stored) and set(record["result"]) == set(stored["result"])
    assert (record["result"]["n"], record["result"]["d"]) == (perpendicular_video.SMOKE_N,
                                                              perpendicular_video.SMOKE_D)
    assert perpendicular_video.RESULT_FILE.read_text() == json.dumps(stored, indent=1) + "\n"
