"""The facts subcommands and ``train --facts``, run from a shell as a user runs them."""

import json

import numpy as np
import pytest

from tests.test_cli import one_line, shell

FACTS = """subject,prompt,answer,paraphrase
France,The capital of France is,Paris,France's capital is
Italy,The capital of Italy is,Rome,Italy's capital is
Spain,The capital of Spain is,Madrid,Spain's capital is
South Korea,The capital of South Korea is,Seoul,South Korea's capital is
Ethiopia,The capital of Ethiopia is,Addis Ababa,Ethiopia's capital is
"""
TINY = ["--d-model", "16", "--n-layer", "2", "--n-head", "2", "--batch-size", "8",
        "--no-progress"]
ITALY = ["--prompt", "The capital of Italy is", "--subject", "Italy"]


@pytest.fixture(scope="module")
def facts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("facts") / "my_facts.csv"
    path.write_text(FACTS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def facts_checkpoint(facts_file):
    """A 30-step word model of the five facts, and its `train --json` report."""
    path = facts_file.with_name("facts.safetensors")
    code, out, err = shell("train", "--facts", facts_file, "--steps", "30", *TINY,
                           "--out", path, "--json")
    assert code == 0, err
    return path, json.loads(out)


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    """A random dense GPT-2-shaped model with a BPE tokenizer trained on the facts,
    written as a Hugging Face folder; and the same folder without its tokenizer."""
    from minigpt import GPT, GPTConfig
    from minigpt.bpe import train_bpe
    from minigpt.facts.own_facts import fact_sentences
    from minigpt.data import parse_facts_table
    from minigpt.hf import save_hf_gpt2

    text = "".join(fact_sentences(parse_facts_table(FACTS)))
    tokenizer = train_bpe(text, 12)  # few merges: names are several tokens
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, n_ctx=24, n_layer=2, n_head=2,
                          d_model=16, attention="dense"), seed=0)
    folder = tmp_path_factory.mktemp("hf") / "gpt2"
    save_hf_gpt2(folder, model, tokenizer)
    bare = folder.with_name("gpt2-no-tokenizer")
    save_hf_gpt2(bare, model)
    return folder, bare


# ---------------------------------------------------------------- train --facts


def test_train_facts_trains_on_every_fact_and_records_them(facts_file, facts_checkpoint):
    from minigpt.checkpoint import load_checkpoint

    path, report = facts_checkpoint
    assert report["n_facts"] == 5 and 0 <= report["recalled"] <= 5
    assert report["paraphrases"]["n"] == 5 and report["eval_fraction"] == 0.0
    assert report["step"] == 30 and report["tokenizer"] == "word"
    assert report["facts_file"] == str(facts_file.resolve())
    extra = load_checkpoint(path).extra
    assert [f["subject"] for f in extra["facts"]][-1] == "Ethiopia"
    assert extra["facts"][0]["paraphrases"] == ["France's capital is"]


def test_train_facts_says_there_is_no_hold_out_and_prints_the_recall(facts_file, tmp_path):
    code, out, err = shell("train", "--facts", facts_file, "--steps", "3", *TINY,
                           "--out", tmp_path / "f.safetensors")
    assert code == 0, err
    assert "training on 5 facts (10 sentences" in out and "(--eval-fraction 0)" in out
    assert "recall: " in out and " of 5 facts" in out and " of 5 paraphrases" in out


def test_train_facts_resumes_on_the_recorded_facts(facts_file, facts_checkpoint, tmp_path):
    path, _ = facts_checkpoint
    out = tmp_path / "more.safetensors"
    code, text, err = shell("train", "--resume", path, "--steps", "33", "--out", out,
                            "--no-progress", "--json")
    assert code == 0, err
    report = json.loads(text)
    assert (report["start_step"], report["step"], report["n_facts"]) == (30, 33, 5)
    other = tmp_path / "other.csv"
    other.write_text(FACTS.replace("Paris", "Lyon"), encoding="utf-8")
    code, _, err = shell("train", "--resume", out, "--facts", other, "--steps", "40",
                         "--out", out, "--no-progress")
    assert code == 2 and one_line(err) and "does not hold the facts" in err


def test_train_facts_with_a_bpe_tokenizer(facts_file, tmp_path):
    code, out, err = shell("train", "--facts", facts_file, "--tokenizer", "bpe",
                           "--bpe-merges", "20", "--steps", "2", *TINY,
                           "--out", tmp_path / "bpe.safetensors", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["tokenizer"] == "bpe" and report["config"]["vocab_size"] == 256 + 20


@pytest.mark.parametrize("argv, message", [
    (["--facts", "{missing}"], "no such file"),
    (["--facts", "{bad_header}"], "unknown column 'question'"),
    (["--facts", "{no_subject}"], "the subject 'Japan' does not occur"),
    (["--facts", "{good}", "--eval-fraction", "0.2"], "--eval-fraction 0.2: a facts model"),
    (["--facts", "{good}", "--corpus", "text"], "give --facts or --corpus, not both"),
    (["--corpus", "text", "--tokenizer", "bpe"], "--tokenizer bpe is for --facts"),
    (["--facts", "{good}", "--n-ctx", "4"], "more than the model's n_ctx=4"),
])
def test_train_facts_refuses_bad_input_in_one_line(facts_file, tmp_path, argv, message):
    files = {"missing": tmp_path / "nope.csv", "good": facts_file,
             "bad_header": tmp_path / "bad.csv", "no_subject": tmp_path / "subject.csv"}
    files["bad_header"].write_text("subject,question,answer\nFrance,The capital is,Paris\n")
    files["no_subject"].write_text("subject,prompt,answer\nJapan,The capital is,Tokyo\n")
    argv = [a.format(**files) for a in argv]
    out = tmp_path / "x.safetensors"
    code, text, err = shell("train", *argv, "--steps", "2", *TINY, "--out", out)
    assert code == 2 and one_line(err), err
    assert message in err and not out.exists()


# ---------------------------------------------------------------- facts trace


def test_facts_trace_on_a_checkpoint(facts_checkpoint):
    path, _ = facts_checkpoint
    code, out, err = shell("facts", "trace", "--checkpoint", path, *ITALY, "--answer", "Rome",
                           "--samples", "2")
    assert code == 0, err
    assert "p(answer)" in out and "restoring mlp" in out and "peak per kind:" in out
    code, out, err = shell("facts", "trace", "--checkpoint", path, *ITALY, "--answer", "Rome",
                           "--samples", "2", "--window", "2", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["tokens"] == ["The", " capital", " of", " Italy", " is"]
    assert report["subject_span"] == [3, 3] and set(report["peaks"]) == {"resid", "mlp", "attn"}
    assert report["trace"]["window"] == 2 and 0 < report["p_answer"] < 1
    effects = np.array(report["trace"]["indirect_effect"]["mlp"])
    assert effects.shape == (2, 5) and np.all(effects[:, :3] == 0)  # nothing before the subject


def test_facts_trace_on_a_hugging_face_folder_with_a_multi_token_subject(hf_folder):
    folder, _ = hf_folder
    code, out, err = shell("facts", "trace", "--hf-dir", folder, "--prompt",
                           "The capital of Ethiopia is", "--subject", "Ethiopia",
                           "--answer", "Addis Ababa", "--samples", "2", "--json")
    assert code == 0, err
    report = json.loads(out)
    first, last = report["subject_span"]
    assert "".join(report["tokens"][first:last + 1]).strip() == "Ethiopia" and last > first
    assert report["answer_tokens"] > 1 and report["trace"]["mode"] == "product"


def test_facts_trace_plots(facts_checkpoint, tmp_path):
    pytest.importorskip("matplotlib")
    path, _ = facts_checkpoint
    folder = tmp_path / "new" / "plots"
    code, out, err = shell("facts", "trace", "--checkpoint", path, *ITALY, "--answer", "Rome",
                           "--samples", "2", "--plots", folder, "--json")
    assert code == 0, err
    names = [f"trace_{k}.png" for k in ("resid", "mlp", "attn")]
    assert json.loads(out)["plots"] == [str(folder / n) for n in names]
    assert all((folder / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("argv, message", [
    (["--prompt", "The capital of Italy is", "--subject", "France", "--answer", "Rome"],
     "--subject 'France' does not occur in --prompt 'The capital of Italy is'"),
    ([*ITALY, "--answer", " "], "--answer is empty"),
    (["--prompt", "The capital of" + " capital of" * 6 + " Italy is", "--subject", "Italy",
      "--answer", "Rome"],
     "more than the model's n_ctx=16"),
    (["--prompt", "The capital of Atlantis is", "--subject", "Atlantis", "--answer", "Rome"],
     "' Atlantis'"),
    ([*ITALY, "--answer", "Rome", "--samples", "0"], "--samples must be at least 1"),
])
def test_facts_trace_refuses_bad_input_in_one_line(facts_checkpoint, argv, message):
    path, _ = facts_checkpoint
    code, out, err = shell("facts", "trace", "--checkpoint", path, *argv)
    assert code == 2 and one_line(err), err
    assert message in err and out == ""


def test_a_folder_without_tokenizer_files_is_refused(hf_folder):
    _, bare = hf_folder
    for sub, more in (("trace", ["--answer", "Rome"]),
                      ("edit", ["--new", "Paris", "--out", bare.with_name("edited")])):
        code, _, err = shell("facts", sub, "--hf-dir", bare, *ITALY, *more)
        assert code == 2 and one_line(err), err
        assert "has no tokenizer: it needs vocab.json and merges.txt" in err


def test_facts_subcommands_need_exactly_one_model(facts_checkpoint, hf_folder):
    path, _ = facts_checkpoint
    for extra in ([], ["--checkpoint", path, "--hf-dir", hf_folder[0]]):
        code, _, err = shell("facts", "trace", *extra, *ITALY, "--answer", "Rome")
        assert code == 2 and one_line(err) and "exactly one of --checkpoint and --hf-dir" in err


@pytest.mark.parametrize("kind, out, message", [
    ("checkpoint", "{tmp}/no/such/e.safetensors", "the folder {tmp}/no/such does not exist"),
    ("checkpoint", "{tmp}", "is a folder, but the input is a checkpoint"),
    ("checkpoint", "{model}", "is the model being edited"),
    ("hf", "{tmp}/edited.safetensors", "names a checkpoint file, but the input is a Hugging"),
    ("hf", "{afile}", "is a file, but the input is a Hugging Face folder"),
    ("hf", "{tmp}/no/such/folder", "the folder {tmp}/no/such does not exist"),
])
def test_facts_edit_refuses_a_bad_out_before_the_edit(facts_checkpoint, hf_folder, tmp_path,
                                                     kind, out, message):
    model = facts_checkpoint[0] if kind == "checkpoint" else hf_folder[0]
    afile = tmp_path / "a.txt"
    afile.write_text("x")
    names = {"tmp": tmp_path, "model": model, "afile": afile}
    flag = "--checkpoint" if kind == "checkpoint" else "--hf-dir"
    code, out_text, err = shell("facts", "edit", flag, model, *ITALY, "--new", "Paris",
                                "--out", out.format(**names))
    assert code == 2 and one_line(err), err
    assert message.format(**names) in err and out_text == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


# ---------------------------------------------------------------- facts edit


def test_facts_edit_writes_a_checkpoint_that_generate_reads(facts_checkpoint, tmp_path):
    """The mechanics (what is changed, saved and printed); how well ROME edits is the
    business of the editing tests."""
    from minigpt.checkpoint import load_checkpoint

    path, _ = facts_checkpoint
    out = tmp_path / "edited.safetensors"
    code, text, err = shell("facts", "edit", "--checkpoint", path, *ITALY, "--new", "Paris",
                            "--paraphrase", "Italy's capital is", "--out", out, "--json")
    assert code == 0, err
    report = json.loads(text)
    edit = report["edit"]
    assert edit["new_answer"] == "Paris" and edit["method"] == "rome"
    assert edit["old_answer"] == report["old_answer"] and edit["paraphrase"] is not None
    assert set(edit["before"]) == set(edit["after"]) == {"p_old", "p_new"}
    before, after = load_checkpoint(path), load_checkpoint(out)
    changed = [k for k in before.params
               if not np.array_equal(before.params[k], after.params[k])]
    assert changed == [f"blocks.{edit['layer']}.mlp.w_down"]
    assert after.extra["facts"] == before.extra["facts"]
    assert after.extra["edits"][0]["new"] == "Paris"
    code, text, err = shell("generate", "--checkpoint", out, "--prompt",
                            "The capital of Italy is", "--greedy", "--max-new-tokens", "8")
    assert code == 0, err
    assert text.startswith("The capital of Italy is" + report["greedy_after"])
    code, text, err = shell("facts", "edit", "--checkpoint", path, *ITALY, "--new", "Paris",
                            "--out", tmp_path / "again.safetensors", "--layer", "1")
    assert code == 0, err
    assert "rome edit at layer 1" in text
    assert "greedy continuation of 'The capital of Italy is': " in text
    code, _, err = shell("facts", "edit", "--checkpoint", path, *ITALY, "--new", "Paris",
                         "--out", tmp_path / "x.safetensors", "--layer", "2")
    assert code == 2 and one_line(err) and "--layer must be in 0..1" in err


def test_facts_edit_writes_a_hugging_face_folder(hf_folder, tmp_path):
    from minigpt.hf import load_hf_gpt2

    folder, _ = hf_folder
    out = tmp_path / "edited"
    code, text, err = shell("facts", "edit", "--hf-dir", folder, *ITALY, "--answer", "Rome",
                            "--new", "Madrid", "--out", out, "--json")
    assert code == 0, err
    report = json.loads(text)
    assert report["old_answer"] == "Rome" and report["edit"]["layer"] in (0, 1)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "merges.txt",
                                                     "model.safetensors", "vocab.json"]
    edited, tokenizer = load_hf_gpt2(out)
    original, _ = load_hf_gpt2(folder)
    changed = [k for k in original.params
               if not np.array_equal(original.params[k], edited.params[k])]
    assert changed == [f"blocks.{report['edit']['layer']}.mlp.w_down"]


# ---------------------------------------------------------------- facts story


def test_facts_story_on_a_facts_checkpoint(facts_checkpoint):
    path, _ = facts_checkpoint
    code, out, err = shell("facts", "story", "--checkpoint", path, "--n-edits", "2",
                           "--trace-samples", "2", "--edit", "Italy=Paris", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) >= {"recall", "ablation", "tracing", "logit_lens", "neurons", "edit",
                           "edits"}
    assert "handbuilt" not in report  # the hand-built MLP is the athletes' alone
    code, _, err = shell("facts", "story", "--checkpoint", path, "--edit", "Atlantis=Paris")
    assert code == 2 and one_line(err) and "no fact has the subject 'Atlantis'" in err


def test_every_facts_subcommand_flag_has_help_and_shows_its_default():
    from minigpt.cli import build_parser

    parser = build_parser()
    facts = next(a for a in parser._actions if a.dest == "command").choices["facts"]
    sub = next(a for a in facts._actions if a.dest == "facts_command")
    assert set(sub.choices) == {"trace", "edit", "story"}
    for name, p in sub.choices.items():
        assert p.format_help().startswith("usage: minigpt facts " + name)
        formatter = p._get_formatter()
        for action in p._actions:
            if action.dest == "help":
                continue
            assert action.help, (name, action.dest)
            shown = formatter._get_help_string(action)
            switch = action.nargs == 0 or action.required or not action.option_strings
            assert switch or "default" in shown, (name, action.dest, shown)


def test_facts_story_on_the_athletes_is_the_bare_facts_report(tmp_path, capsys, demo_model):
    from minigpt.checkpoint import save_checkpoint
    from minigpt.cli import main

    model, tokenizer, _ = demo_model
    ckpt = tmp_path / "demo.safetensors"
    save_checkpoint(ckpt, model.params, config=model.config, tokenizer=tokenizer)
    reports = []
    for argv in (["facts"], ["facts", "story"]):
        code = main([*argv, "--checkpoint", str(ckpt), "--n-edits", "0", "--trace-samples",
                     "2", "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        reports.append(json.loads(out))
    assert reports[0] == reports[1] and reports[0]["handbuilt"]["relu"]["accuracy"] == 1.0


def test_facts_story_refuses_a_missing_or_malformed_facts_file(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("subject\tprompt\nFrance\tThe capital of France is\n", encoding="utf-8")
    for path, message in ((tmp_path / "none.csv", "no such file"),
                          (bad, "missing ['answer']")):
        code, out, err = shell("facts", "story", "--facts", path)
        assert code == 2 and one_line(err), err
        assert message in err and out == ""


def test_facts_edit_passes_token_and_prefixes_to_rome(facts_checkpoint, tmp_path, monkeypatch,
                                                      capsys):
    import minigpt.facts
    from minigpt.cli import main

    path, _ = facts_checkpoint
    seen = {}
    original = minigpt.facts.rome_edit

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(minigpt.facts, "rome_edit", spy)
    code = main(["facts", "edit", "--checkpoint", str(path), *ITALY, "--new", "Paris",
                 "--out", str(tmp_path / "e.safetensors"), "--token", "traced",
                 "--prefixes", "0", "--json"])
    assert code == 0
    assert seen["token"] == "traced" and seen["n_prefixes"] == 0
    assert json.loads(capsys.readouterr().out)["edit"]["method"] == "rome"
    code, _, err = shell("facts", "edit", "--checkpoint", path, *ITALY, "--new", "Paris",
                         "--out", tmp_path / "x.safetensors", "--prefixes", "-1")
    assert code == 2 and one_line(err) and "--prefixes must be 0 or more" in err
    code, _, err = shell("facts", "edit", "--checkpoint", path, *ITALY, "--new", "Paris",
                         "--out", tmp_path / "y.safetensors", "--token", "first")
    assert code == 2 and "invalid choice" in err


def test_both_stories_write_the_same_figures_the_athletes_one_adds_the_sweep(tmp_path):
    """One writer of the story's PNG files: the traces, the lens, and the sweep if given."""
    pytest.importorskip("matplotlib")
    from minigpt import GPT, GPTConfig
    from minigpt.cli.story import _write_plots
    from minigpt.data import load_facts
    from minigpt.facts import facts_dataset, interference_sweep
    from minigpt.interp import causal_trace, logit_lens

    tok, _, _ = facts_dataset()
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=8, n_layer=2, n_head=2, d_model=8))
    trace, lens = causal_trace(model, tok, n_samples=2), logit_lens(model, tok, templates=0)
    names = [f"tracing_{kind}.png" for kind in trace.kinds] + ["logit_lens.png"]
    own = _write_plots(tmp_path / "own", trace, lens)
    assert own == [str(tmp_path / "own" / n) for n in names]
    rows = interference_sweep(load_facts()[:4], widths=(16,), n_facts_list=(2, 4))
    athletes = _write_plots(tmp_path / "athletes", trace, lens, rows)
    assert athletes == [str(tmp_path / "athletes" / n) for n in
                        [*names, "superposition_sweep.png"]]
    assert all((tmp_path / "athletes" / n).stat().st_size > 0 for n in names)
