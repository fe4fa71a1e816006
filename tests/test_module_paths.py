"""Modules that moved stay importable from their old paths, as the same objects."""

import importlib
import importlib.util

import pytest

MOVED = {
    "minigpt.allocator": "minigpt.runtime.allocator",
    "minigpt.threads": "minigpt.runtime.threads",
    "minigpt.atomic": "minigpt.runtime.atomic",
    "minigpt.tensorfile": "minigpt.runtime.tensorfile",
    "minigpt.bpe": "minigpt.tokenizers.bpe",
    "minigpt.bpe.tokenizer": "minigpt.tokenizers.bpe.tokenizer",
    "minigpt.bpe.files": "minigpt.tokenizers.bpe.files",
    "minigpt.bpe.pieces": "minigpt.tokenizers.bpe.pieces",
    "minigpt.bpe.byte_chars": "minigpt.tokenizers.bpe.byte_chars",
    "minigpt.bpe.train": "minigpt.tokenizers.bpe.train",
}


@pytest.mark.parametrize("old", MOVED)
def test_an_old_module_path_is_the_new_module(old):
    assert importlib.import_module(old) is importlib.import_module(MOVED[old])


# Modules renamed to say what they hold: (old path, new path, package that re-exports the
# names, names). Nothing imported the old paths but the package itself, so they are gone.
RENAMED = [
    ("minigpt.facts.recall", "minigpt.facts.athlete_recall", "minigpt.facts",
     ["RecallResult", "fact_recall", "next_token_logits", "sport_token_ids"]),
    ("minigpt.interp.recall", "minigpt.interp.recall_table", "minigpt.interp",
     ["RecallTable", "TemplateRecall", "recall_by_template"]),
    ("minigpt.facts.handbuilt.recall", "minigpt.facts.handbuilt.lookup",
     "minigpt.facts.handbuilt", ["apply_fact_mlp", "fact_neurons", "person_vector",
                                 "sport_scores"]),
    ("minigpt.facts.handbuilt.plot", "minigpt.facts.handbuilt.plots", "minigpt.facts.handbuilt",
     ["feature_labels", "plot_fact_mlp", "plot_sweep"]),
    ("minigpt.facts.story", "minigpt.cli.story", "minigpt.cli.story",
     ["FactsStory", "parse_edit", "run_facts_story"]),
    ("minigpt.facts.file_story", "minigpt.cli.file_story", "minigpt.cli.file_story",
     ["parse_subject_edit", "run_facts_file_story"]),
    ("minigpt.nn.erf", "minigpt.nn.special", "minigpt.nn", ["erf", "erfc"]),
]


@pytest.mark.parametrize("old, new, package, names", RENAMED, ids=[r[1] for r in RENAMED])
def test_a_renamed_module_defines_what_its_package_exports(old, new, package, names):
    module, face = importlib.import_module(new), importlib.import_module(package)
    for name in names:
        assert getattr(module, name).__module__ == new
        assert getattr(face, name) is getattr(module, name)
    assert importlib.util.find_spec(old) is None  # one module per name, no stale twin
    parent, _, leaf = new.rpartition(".")  # and no function of the package by that name
    assert getattr(importlib.import_module(parent), leaf) is module


def test_the_command_is_a_package_with_its_entry_points():
    from pathlib import Path

    import minigpt.cli
    from minigpt.cli import build_parser, format_param_table, gpt3_param_table, main, params
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert 'minigpt = "minigpt.cli:main"' in pyproject.splitlines()
    assert hasattr(minigpt.cli, "__path__") and main.__module__ == "minigpt.cli"
    assert gpt3_param_table is params.gpt3_param_table
    assert format_param_table is params.format_param_table
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert list(commands) == ["params", "demo", "train", "generate", "facts", "superposition",
                              "check"]


def test_re_exported_names_are_the_same_objects():
    from minigpt import bpe, generation, hooks, model, sampling, tables, tokenizers
    from minigpt.interp import tables as interp_tables
    assert interp_tables.text_table is tables.text_table
    assert interp_tables.jsonable is tables.jsonable
    assert sampling.sample_logits is generation.sample_logits
    assert tokenizers.GPT2Tokenizer is bpe.GPT2Tokenizer
    assert model.BLOCK_HOOK_POINTS is hooks.BLOCK_HOOK_POINTS
    assert model.NonFiniteError is generation.NonFiniteError
    from minigpt import block
    for name in ("BlockCache", "no_tap", "prefixed"):  # the block's pieces, moved out of model
        assert getattr(model, name) is getattr(block, name)
    assert hooks.Tap is block.Tap


def test_the_fact_edits_base_pieces_stay_importable_from_edit():
    from minigpt import facts
    from minigpt.facts import edit, edit_report, memit, rank_one, rome
    assert edit.rank_one_update is rank_one.rank_one_update is facts.rank_one_update
    assert edit.EditResult is edit_report.EditResult is facts.EditResult
    assert edit.EditReport is edit_report.EditReport is facts.EditReport
    assert edit.rome_edit is rome.rome_edit and edit.memit_edit is memit.memit_edit


def test_one_definition_of_the_activations():
    from minigpt import config, nn
    assert config.ACTIVATIONS is nn.ACTIVATIONS


def test_gpt_methods_delegate_to_the_modules():
    import numpy as np

    from minigpt import GPT, GPTConfig, generation, hooks
    model = GPT(GPTConfig(vocab_size=16, n_ctx=8, n_layer=1, n_head=2, d_model=8))
    idx = np.array([[1, 2, 3]])
    assert model.hook_names() == hooks.hook_names(model)
    np.testing.assert_array_equal(model.generate(idx, 4, temperature=0),
                                  generation.generate(model, idx, 4, temperature=0))
