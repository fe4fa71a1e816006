"""Step 2 of GPT-2's BPE: every byte written as one printable character.

Byte-level BPE merges bytes, but merges and vocabularies are stored as text. GPT-2 gives each
of the 256 bytes a visible character, so that any UTF-8 text is a string over 256
characters and ``vocab.json`` stays readable (``" plays"`` is ``"Ġplays"``). The pieces
these characters spell come from :mod:`minigpt.bpe.pieces`; :mod:`minigpt.bpe.tokenizer`
merges them.
"""

from __future__ import annotations


def _byte_to_char() -> tuple[str, ...]:
    """The printable character that stands for each byte 0..255."""
    # Bytes that are already visible, non-space Latin-1 characters stand for themselves:
    # "!".."~", "¡".."¬", "®".."ÿ". The other 68 (controls, space, soft hyphen, ...) are
    # given the characters U+0100, U+0101, ... in byte order, which are all visible.
    visible = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
               *range(ord("®"), ord("ÿ") + 1)]
    table, extra = [], 0
    for b in range(256):
        if b in visible:
            table.append(chr(b))
        else:
            table.append(chr(256 + extra))
            extra += 1
    return tuple(table)


BYTE_TO_CHAR: tuple[str, ...] = _byte_to_char()
"""``BYTE_TO_CHAR[b]`` is the character that stands for byte ``b``; the space is ``"Ġ"``."""
CHAR_TO_BYTE: dict[str, int] = {c: b for b, c in enumerate(BYTE_TO_CHAR)}
