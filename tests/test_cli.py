import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

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
    (["demo", "--steps", "0", "--no-progress"], "steps must be an int >= 1, got 0"),
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





def test_superposition_commands(capsys):
    code, out, _ = run(capsys, "superposition", "perpendicular", "--n", "300", "--d", "10",
                       "--steps", "20", "--json")
    report = json.loads(out)
    assert code == 0 and report["n"] == 300 and report["claim_holds"] is False
    assert 0 < report["welch_angle_deg"] < 90 and report["plots"] == []
    code, out, _ = run(capsys, "superposition", "toy")
    assert code == 0 and "represented" in out
    code, out, _ = run(capsys, "superposition", "facts-per-neuron", "--json")
    rows = json.loads(out)
    assert code == 0 and rows["experiment"] == "facts-per-neuron"
    code, out, _ = run(capsys, "superposition", "sae", "--json")
    assert code == 0 and json.loads(out)["planted"]
    code, _, err = run(capsys, "superposition", "perpendicular", "--d", "0")
    assert code == 2 and err.count("\n") == 1


def test_superposition_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    folder = tmp_path / "new" / "figures"  # made by the command
    code, out, _ = run(capsys, "superposition", "perpendicular", "--n", "300", "--d", "10",
                       "--steps", "20", "--json", "--plots", str(folder))
    assert code == 0 and json.loads(out)["plots"] == [str(folder / "perpendicular.png")]
    assert (folder / "perpendicular.png").stat().st_size > 0


# ---------------------------------------------------------------- as a user runs it, in a shell

TINY = ["--n-ctx", "16", "--d-model", "16", "--n-layer", "1", "--n-head", "2",
        "--batch-size", "4", "--no-progress"]


def minigpt_command():
    """The installed ``minigpt`` script beside this Python, else ``python -m minigpt``."""
    script = Path(sys.executable).with_name("minigpt")
    return [str(script)] if script.exists() else [sys.executable, "-m", "minigpt"]


def shell(*argv, cwd=None):
    """Run ``minigpt argv...`` as a user would: (exit code, stdout, stderr)."""
    proc = subprocess.run(minigpt_command() + [str(a) for a in argv], capture_output=True,
                          text=True, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def one_line(err):
    return err.count("\n") == 1 and "Traceback" not in err


@pytest.fixture(scope="module")
def text_checkpoint(tmp_path_factory):
    """A 4-step char model of the embedded play."""
    path = tmp_path_factory.mktemp("ckpt") / "text.safetensors"
    code, _, err = shell("train", "--corpus", "text", "--steps", "4", *TINY, "--out", path)
    assert code == 0, err
    return path


@pytest.mark.parametrize("argv", [
    ["train", "--corpus", "text", "--steps", "3", *TINY],
    ["demo", "--steps", "3", "--no-progress"],
])
def test_an_unwritable_out_is_refused_before_training(tmp_path, argv):
    missing = tmp_path / "no" / "such" / "x.safetensors"
    code, out, err = shell(*argv, "--out", missing)
    assert code == 2 and one_line(err), err
    assert f"--out {missing}: the folder {missing.parent} does not exist" in err
    assert out == ""  # nothing trained
    code, _, err = shell(*argv, "--out", tmp_path)
    assert code == 2 and one_line(err) and f"--out {tmp_path} is a folder" in err
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    code, _, err = shell(*argv, "--out", afile / "x.safetensors")
    assert code == 2 and one_line(err) and f"the folder {afile} is not a folder" in err
    assert list(tmp_path.iterdir()) == [afile]  # no temporary file left either


def test_a_diverging_run_ends_in_one_line(tmp_path):
    out = tmp_path / "run.safetensors"
    code, _, err = shell("train", "--corpus", "text", "--steps", "5", *TINY, "--lr", "1e38",
                         "--out", out)
    assert code == 2 and one_line(err), err
    assert "NaN or infinite" in err and "this run saved no checkpoint" in err
    assert not out.exists()


def _save_broken_copies(src, folder):
    """float16 weights (which GPT refuses) and NaN weights, as checkpoints."""
    from minigpt.checkpoint import load_checkpoint, save_checkpoint
    from minigpt.tokenizers import tokenizer_from_json
    from tests.helpers import rewrite_checkpoint

    ckpt = load_checkpoint(src)
    tokenizer = tokenizer_from_json(ckpt.tokenizer)
    save_checkpoint(folder / "f16.safetensors", ckpt.params, config=ckpt.config,
                    tokenizer=tokenizer)
    rewrite_checkpoint(folder / "f16.safetensors", edit_tensors=lambda t: t.update(
        {k: v.astype(np.float16) for k, v in t.items() if k.startswith("params.")}))
    nan = {k: v.copy() for k, v in ckpt.params.items()}
    nan["blocks.0.mlp.w_up"][0, 0] = np.nan
    save_checkpoint(folder / "nan.safetensors", nan, config=ckpt.config, tokenizer=tokenizer)


@pytest.mark.parametrize("argv, message", [
    (["--checkpoint", "{dir}/nan.safetensors", "--greedy"],
     "the logits for new token 1 are not finite: 1 of the model's"),
    (["--checkpoint", "{dir}/f16.safetensors"],
     "'{dir}/f16.safetensors' holds an unsupported dtype: tensor 'params.blocks.0.attn.b_out' "
     "is F16 (and 15 more tensors); supported: F32 (float32), F64 (float64)"),
    (["--checkpoint", "{ckpt}", "--max-new-tokens", "1000000000000"],
     "--max-new-tokens must be at most 100,000, got 1,000,000,000,000"),
    (["--checkpoint", "{ckpt}", "--prompt", ""], "--prompt is empty"),
    (["--checkpoint", "{ckpt}", "--prompt", "Zaphod ~ Beeblebrox"],
     "the prompt has characters the model does not know: 'Z', '~'; this model knows only "
     "the 67 characters of its training corpus"),
])
def test_generate_refuses_in_one_line(tmp_path, text_checkpoint, argv, message):
    _save_broken_copies(text_checkpoint, tmp_path)
    argv = [a.format(dir=tmp_path, ckpt=text_checkpoint) for a in argv]
    if "--prompt" not in argv:
        argv += ["--prompt", "MACBETH"]
    code, out, err = shell("generate", *argv, "--max-new-tokens", "5")
    if "1000000000000" in argv:  # the first --max-new-tokens is the one under test
        code, out, err = shell("generate", *argv)
    assert code == 2 and one_line(err), err
    assert message.format(dir=tmp_path) in err and out == ""


def test_a_tiny_temperature_is_greedy(text_checkpoint):
    greedy = shell("generate", "--checkpoint", text_checkpoint, "--prompt", "MACBETH",
                   "--max-new-tokens", "8", "--greedy", "--json")
    tiny = shell("generate", "--checkpoint", text_checkpoint, "--prompt", "MACBETH",
                 "--max-new-tokens", "8", "--temperature", "1e-320", "--json")
    assert greedy[0] == tiny[0] == 0 and tiny[2] == ""
    assert json.loads(greedy[1])["ids"] == json.loads(tiny[1])["ids"]


def test_a_closed_pipe_ends_quietly():
    """`minigpt params | head -1`: the reader leaves before the writer writes."""
    proc = subprocess.Popen(minigpt_command() + ["params"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # no reader left: the first write fails with EPIPE
    err = proc.stderr.read()
    assert proc.wait() == 141 and err == b""


def test_blas_threads_without_threadpoolctl_is_an_error():
    code = ("import sys; sys.modules['threadpoolctl'] = None  # as if not installed\n"
            "from minigpt.cli import main; sys.exit(main(['--blas-threads', '1', 'params']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2 and one_line(proc.stderr), proc.stderr
    assert "--blas-threads needs threadpoolctl: pip install 'minigpt[fast]'" in proc.stderr


def test_resume_refuses_flags_it_would_ignore(text_checkpoint, tmp_path):
    out = tmp_path / "more.safetensors"
    resume = ["train", "--resume", text_checkpoint, "--out", out, "--no-progress"]
    code, _, err = shell(*resume, "--steps", "2")
    assert code == 2 and one_line(err)
    assert "--steps 2: the checkpoint is already at step 4" in err
    code, _, err = shell(*resume)  # the run's own 4 steps are done
    assert code == 2 and one_line(err) and "has finished its 4 steps" in err
    code, _, err = shell(*resume, "--steps", "8", "--d-model", "128", "--tokenizer", "word")
    assert code == 2 and one_line(err)
    assert ("--d-model 128 (the checkpoint has 16), --tokenizer word (the checkpoint has char)"
            in err)
    code, _, err = shell(*resume, "--steps", "8", "--corpus", "facts")
    assert code == 2 and one_line(err) and "--corpus facts is not the corpus" in err
    code, _, err = shell(*resume, "--steps", "8", "--eval-fraction", "0.2")
    assert code == 2 and one_line(err) and "trained with 0.1" in err
    assert not out.exists()


def test_resume_continues_on_the_recorded_corpus_and_settings(text_checkpoint, tmp_path):
    out = tmp_path / "more.safetensors"
    code, stdout, err = shell("train", "--resume", text_checkpoint, "--steps", "7", "--out", out,
                              "--no-progress", "--json")
    assert code == 0, err
    report = json.loads(stdout)
    assert (report["start_step"], report["step"], report["corpus"]) == (4, 7, "text")
    assert report["config"]["d_model"] == 16  # the checkpoint's shape, not the default 64
    from minigpt.checkpoint import load_checkpoint

    assert load_checkpoint(out).extra["train_settings"]["batch_size"] == 4  # kept, not 32


def test_the_evaluation_split_is_shown_and_can_be_zero(tmp_path):
    corpus = tmp_path / "capitals.txt"
    corpus.write_text("Paris is the capital of France.\n" * 20)  # 640 characters
    args = ["train", "--corpus", corpus, "--steps", "2", *TINY, "--out",
            tmp_path / "c.safetensors"]
    code, out, err = shell(*args)
    assert code == 0, err
    assert out.splitlines()[0] == ("training on 576 characters, evaluating on 64 (the last 10%, "
                                   "--eval-fraction 0.1)")
    code, out, err = shell(*args, "--eval-fraction", "0", "--json")
    report = json.loads(out)
    assert code == 0 and (report["train_tokens"], report["eval_tokens"]) == (640, 0)
    code, _, err = shell(*args, "--eval-fraction", "1")
    assert code == 2 and one_line(err) and "--eval-fraction must be in [0, 1), got 1.0" in err


@pytest.mark.parametrize("argv, message", [
    (["--n-ctx", "64"], "the corpus {c} has 28 characters (25 after holding out the last 10%): "
                        "too few for one training window of 65 (--n-ctx 64 + 1)"),
    (["--n-ctx", "8"], "the last 10% of the corpus {c}, held out for evaluation, has 3 "
                       "characters: too few for one window of 9 (--n-ctx 8 + 1); use "
                       "--eval-fraction 0"),
])
def test_a_short_corpus_is_explained_in_the_flags_words(tmp_path, argv, message):
    corpus = tmp_path / "short.txt"
    corpus.write_text("hello world, a short corpus\n")
    code, _, err = shell("train", "--corpus", corpus, "--steps", "2", "--d-model", "16",
                         "--n-layer", "1", "--n-head", "2", "--no-progress", *argv,
                         "--out", tmp_path / "s.safetensors")
    assert code == 2 and one_line(err), err
    assert message.format(c=corpus) in err


def test_every_flag_has_help_and_shows_its_default():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in [("minigpt", parser), *sub.choices.items()]:
        formatter = p._get_formatter()
        for action in p._actions:
            if action.dest in ("help", "command"):
                continue
            assert action.help, (name, action.dest)
            shown = formatter._get_help_string(action)
            switch = action.nargs == 0 or action.required or not action.option_strings
            assert switch or "default" in shown, (name, action.dest, shown)
    assert "(default: 1000; with --resume, the checkpoint's)" in " ".join(
        sub.choices["train"].format_help().split())


# ---------------------------------------------------------------- Ctrl-C


def _interrupt_after_first_steps(argv, cwd):
    """Start ``minigpt argv``, send it SIGINT once its progress bar counts a step, and
    return (exit code, stderr)."""
    proc = subprocess.Popen(minigpt_command() + [str(a) for a in argv], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = b""
    while not re.search(rb"\b[1-9]\d*/\d+ \[", seen):  # tqdm's "n/total [" with n >= 1
        chunk = proc.stderr.read1(4096)
        assert chunk, (proc.wait(), seen.decode())  # ended before a step was counted
        seen += chunk
    proc.send_signal(signal.SIGINT)
    seen += proc.stderr.read()
    return proc.wait(), seen.decode()


def test_ctrl_c_in_train_saves_and_prints_the_resume_command(tmp_path):
    code, err = _interrupt_after_first_steps(
        ["train", "--corpus", "text", "--steps", "100000", *TINY[:-1], "--out", "run.safetensors"],
        cwd=tmp_path)
    last = err.rstrip("\n").split("\n")[-1]
    assert code == 130 and "Traceback" not in err, err
    match = re.fullmatch(r"minigpt train: interrupted after step (\d+); saved it to "
                         r"run\.safetensors; resume with: (minigpt train .*)", last)
    assert match, last
    step = int(match.group(1))
    from minigpt.checkpoint import load_checkpoint

    assert load_checkpoint(tmp_path / "run.safetensors").step == step >= 1
    command = shlex.split(match.group(2))
    assert command == ["minigpt", "train", "--resume", "run.safetensors", "--out",
                       "run.safetensors"]
    code, out, err = shell(*command[1:], "--steps", step + 2, "--no-progress", "--json",
                           cwd=tmp_path)
    assert code == 0, err
    assert (json.loads(out)["start_step"], json.loads(out)["step"]) == (step, step + 2)


def test_ctrl_c_in_demo_saves_when_given_out(tmp_path):
    code, err = _interrupt_after_first_steps(["demo", "--out", "demo.safetensors"], cwd=tmp_path)
    last = err.rstrip("\n").split("\n")[-1]
    assert code == 130 and "Traceback" not in err, err
    assert re.fullmatch(r"minigpt demo: interrupted after step \d+; saved it to demo\.safetensors; "
                        r"resume with: minigpt train --resume demo\.safetensors --out "
                        r"demo\.safetensors", last), last
    code, err = _interrupt_after_first_steps(["demo"], cwd=tmp_path)
    assert code == 130 and "Traceback" not in err, err
    assert err.rstrip("\n").endswith("nothing saved (--out FILE keeps a checkpoint)")


def test_ctrl_c_elsewhere_exits_130_in_one_line(tmp_path):
    code, err = _interrupt_after_first_steps(
        ["superposition", "perpendicular", "--n", "2000", "--d", "20", "--steps", "100000"],
        cwd=tmp_path)
    assert code == 130 and "Traceback" not in err, err
    assert err.rstrip("\n").endswith("minigpt superposition: interrupted")


@pytest.mark.parametrize("module, name, error", [
    ("minigpt.facts", "load_model",  # a float8 checkpoint read by an older loader
     AttributeError("module 'numpy' has no attribute 'float8_e4m3fn'")),
    ("minigpt.hf", "load_hf_gpt2", AttributeError("module 'numpy' has no attribute 'float8'")),
    ("minigpt.model", "GPT", MemoryError("Unable to allocate 7.28 TiB for an array")),
])
def test_loader_and_memory_failures_end_in_one_line(monkeypatch, capsys, tmp_path, module, name,
                                                    error):
    import importlib

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(importlib.import_module(module), name, fail)
    source = ["--hf-dir", "gpt2/"] if name == "load_hf_gpt2" else ["--checkpoint", "x.safetensors"]
    if name == "GPT":
        code, _, err = run(capsys, "train", "--steps", "2", *TINY, "--out",
                           str(tmp_path / "x.safetensors"))
    else:
        code, _, err = run(capsys, "generate", *source, "--prompt", "Michael")
    assert code == 2 and one_line(err), err
    assert str(error) in err


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
