"""Modules that moved stay importable from their old paths, as the same objects."""

import importlib

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


def test_re_exported_names_are_the_same_objects():
    from minigpt import bpe, generation, hooks, model, sampling, tables, tokenizers
    from minigpt.interp import tables as interp_tables
    assert interp_tables.text_table is tables.text_table
    assert interp_tables.jsonable is tables.jsonable
    assert sampling.sample_logits is generation.sample_logits
    assert tokenizers.GPT2Tokenizer is bpe.GPT2Tokenizer
    assert model.BLOCK_HOOK_POINTS is hooks.BLOCK_HOOK_POINTS
    assert model.NonFiniteError is generation.NonFiniteError


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
