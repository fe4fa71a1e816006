import json
import subprocess
import sys

import numpy as np
import pytest

from minigpt.cli import build_parser, main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_subcommand_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) >= {"params", "demo", "train", "generate"}
    for name, p in sub.choices.items():
        assert p.format_help().startswith("usage: minigpt " + name)


def test_python_dash_m_runs_the_command():
    out = subprocess.run([sys.executable, "-m", "minigpt", "params", "--json"],
                         capture_output=True, text=True, check=True).stdout
    assert len(json.loads(out)["models"]) == 8


def test_demo_json(capsys):
    code, out, _ = run(capsys, "demo", "--steps", "30", "--no-progress", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["steps"] == 30 and report["n_facts"] >= 170
    assert set(report["recall"]) and all(0 <= r <= 1 for r in report["recall"].values())
    assert report["loss_last"] < report["loss_first"]
    assert report["completions"][0].startswith("Michael Jordan plays")


def test_train_generate_resume_round_trip(tmp_path, capsys):
    ckpt = str(tmp_path / "text.safetensors")
    code, out, _ = run(capsys, "train", "--corpus", "text", "--steps", "6", "--n-ctx", "16",
                       "--d-model", "16", "--n-layer", "2", "--n-head", "2", "--batch-size", "4",
                       "--eval-every", "3", "--out", ckpt, "--no-progress", "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["step"], len(report["evals"])) == (6, 2)
    assert report["config"]["attention"] == "alternating"

    code, out, _ = run(capsys, "generate", "--checkpoint", ckpt, "--prompt", "MACBETH.",
                       "--max-new-tokens", "20", "--json")
    gen = json.loads(out)
    assert code == 0 and len(gen["ids"]) == len("MACBETH.") + 20
    code, out, _ = run(capsys, "generate", "--checkpoint", ckpt, "--prompt", "Thou", "--greedy",
                       "--max-new-tokens", "5")
    assert code == 0 and out.startswith("Thou")

    code, out, _ = run(capsys, "train", "--corpus", "text", "--steps", "8", "--resume", ckpt,
                       "--out", ckpt, "--no-progress", "--json")
    assert code == 0 and json.loads(out)["start_step"] == 6 and json.loads(out)["step"] == 8


@pytest.mark.parametrize("argv, message", [
    (["train", "--corpus", "/no/such/file.txt"], "no file '/no/such/file.txt'"),
    (["generate", "--checkpoint", "/no/such.safetensors", "--prompt", "x"], "no checkpoint file"),
    (["train", "--corpus", "facts", "--steps", "0", "--no-progress"], "steps must be an int >= 1"),
])
def test_bad_arguments_end_in_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_empty_corpus_and_non_checkpoint_files(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    code, _, err = run(capsys, "train", "--corpus", str(empty), "--no-progress")
    assert code == 2 and "is empty" in err
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint at all")
    code, _, err = run(capsys, "generate", "--checkpoint", str(junk), "--prompt", "x")
    assert code == 2 and err.count("\n") == 1


def test_unknown_prompt_token_is_a_one_line_error(tmp_path, capsys):
    ckpt = str(tmp_path / "facts.safetensors")
    assert run(capsys, "train", "--steps", "2", "--n-ctx", "16", "--d-model", "16", "--n-layer",
               "1", "--n-head", "2", "--out", ckpt, "--no-progress", "--json")[0] == 0
    code, _, err = run(capsys, "generate", "--checkpoint", ckpt, "--prompt", "Zaphod Beeblebrox")
    assert code == 2 and "Zaphod" in err and err.count("\n") == 1


def test_subprocess_error_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "minigpt", "train", "--corpus", "/nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("minigpt train: error:") and "Traceback" not in proc.stderr


def test_generate_from_a_hugging_face_folder(tmp_path, capsys):
    from minigpt import GPT, GPTConfig
    from minigpt.bpe import BYTE_TO_CHAR, GPT2Tokenizer
    from minigpt.hf import save_hf_gpt2

    tokenizer = GPT2Tokenizer(list(BYTE_TO_CHAR), [])  # bytes only, no merges
    model = GPT(GPTConfig(vocab_size=256, n_ctx=32, n_layer=1, n_head=2, d_model=8))
    save_hf_gpt2(tmp_path, model, tokenizer)
    code, out, _ = run(capsys, "generate", "--hf-dir", str(tmp_path), "--prompt", "Michael",
                       "--greedy", "--max-new-tokens", "5", "--json")
    assert code == 0 and len(json.loads(out)["ids"]) == len("Michael") + 5
    code, _, err = run(capsys, "generate", "--prompt", "x")
    assert code == 2 and "exactly one of --checkpoint and --hf-dir" in err


def test_facts_command(tmp_path, capsys, demo_model):
    from minigpt.checkpoint import save_checkpoint

    model, tokenizer, _ = demo_model
    ckpt = tmp_path / "demo.safetensors"
    save_checkpoint(ckpt, model.params, config=model.config, tokenizer=tokenizer)
    before = {k: v.copy() for k, v in model.params.items()}
    code, out, err = run(capsys, "facts", "--checkpoint", str(ckpt), "--edit",
                         "Michael Jordan=golf", "--n-edits", "2", "--trace-samples", "2",
                         "--json")
    assert code == 0, err
    report = json.loads(out)
    after = report["edit"]["after"]
    assert after[0] == "golf"  # efficacy; paraphrases are measured, not promised
    assert report["edit"]["before"] == ["basketball"] * 5
    assert report["edits"]["summary"]["rome"]["n"] == 2
    assert set(report) >= {"handbuilt", "sweep", "recall", "ablation", "tracing", "logit_lens",
                           "neurons", "edit_site"}
    assert report["handbuilt"]["relu"]["accuracy"] == 1.0
    code, _, err = run(capsys, "facts", "--checkpoint", str(ckpt), "--edit", "Zaphod Beeblebrox=golf")
    assert code == 2 and "does not know the name" in err and err.count("\n") == 1
    code, _, err = run(capsys, "facts", "--checkpoint", str(ckpt), "--edit", "Michael Jordan=curling")
    assert code == 2 and "unknown sport 'curling'" in err
    assert all(np.array_equal(model.params[k], before[k]) for k in before)





def test_superposition_commands(tmp_path, capsys):
    code, out, _ = run(capsys, "superposition", "perpendicular", "--n", "300", "--d", "10",
                       "--steps", "20", "--json", "--plots", str(tmp_path))
    report = json.loads(out)
    assert code == 0 and report["n"] == 300 and report["claim_holds"] is False
    assert 0 < report["welch_angle_deg"] < 90 and report["plots"]
    code, out, _ = run(capsys, "superposition", "toy")
    assert code == 0 and "represented" in out
    code, out, _ = run(capsys, "superposition", "facts-per-neuron", "--json")
    rows = json.loads(out)
    assert code == 0 and rows["experiment"] == "facts-per-neuron"
    code, out, _ = run(capsys, "superposition", "sae", "--json")
    assert code == 0 and json.loads(out)["planted"]
    code, _, err = run(capsys, "superposition", "perpendicular", "--d", "0")
    assert code == 2 and err.count("\n") == 1


def test_check_prints_one_row_per_op_and_exits_0(capsys):
    from minigpt.check import CHECKS

    code, out, _ = run(capsys, "check")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["op", "worst", "error"]
    for name in CHECKS:
        assert any(line.startswith(name + " ") and line.endswith(" OK") for line in lines), name
    assert "NOT OK" not in out and "every gradient OK" in out


def test_check_json_and_exit_1_when_a_backward_is_wrong(capsys, monkeypatch):
    import minigpt.check
    from minigpt.nn import gelu_backward

    code, out, _ = run(capsys, "check", "--json", "--seed", "1")
    report = json.loads(out)
    assert code == 0 and report["ok"] and len(report["rows"]) == len(minigpt.check.CHECKS)
    assert set(report["rows"][0]) == {"op", "max_error", "tolerance", "n_checked", "ok"}

    monkeypatch.setattr(minigpt.check, "gelu_backward", lambda dy, c: gelu_backward(dy, c) * 1.001)
    code, out, _ = run(capsys, "check")
    assert code == 1
    assert [line.split()[0] for line in out.splitlines() if line.endswith("NOT OK")] == ["gelu"]
    assert f"1 of {len(minigpt.check.CHECKS)} NOT OK" in out


def test_check_runs_from_the_installed_package_alone(tmp_path):
    # no tests folder, no repository: only the package on the path
    out = subprocess.run([sys.executable, "-m", "minigpt", "check", "--json"], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["ok"] is True
