"""Kept importable: GPT-2's byte-pair encoding is :mod:`minigpt.tokenizers.bpe`.

``minigpt.bpe`` and its modules (``minigpt.bpe.tokenizer`` and the others) are the same
module objects as those of :mod:`minigpt.tokenizers.bpe`.
"""

import sys

from ..tokenizers import bpe
from ..tokenizers.bpe import byte_chars, files, pieces, tokenizer, train

for _module in (byte_chars, files, pieces, tokenizer, train):
    sys.modules[f"{__name__}.{_module.__name__.rpartition('.')[2]}"] = _module
sys.modules[__name__] = bpe
