"""From a fact's text to token ids: the prompt, the subject's token span, the answer.

The subject's place is read off the tokenization itself. Encode three prefixes of the
sentence, the text before the subject, the text through the subject, and the whole
prompt, and check that each is a prefix of the next *as tokens*:

    "The capital of" | " South Korea" | " is" | " Seoul"
     ^ before          ^ subject        ^ rest  ^ answer

Then the subject's tokens are those between the first two lengths. Word and BPE
tokenizers put the space before a word into the word's token (``" South"``), so when the
text before the subject ends in a space, that space goes with the subject; a character
tokenizer keeps it as its own token. A tokenizer that merges text across one of the three
boundaries (``"Jordan"`` inside ``"Jordanian"``) makes the check fail, with an error that
says where.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import Fact, FactPrompt, athlete_prompts
from ..model import GPT

IGNORE_INDEX = -1  # target of a position whose prediction does not count (teacher forcing)
UNK_PIECE = "<unk>"  # the piece that char and word tokenizers built with unk=True map unknowns to
MAX_SHOWN = 5  # how many unknown pieces an error lists


@dataclass(frozen=True)
class EncodedFact:
    """A fact as token ids, with its subject located.

    Attributes
    ----------
    fact : FactPrompt
    ids : ndarray of int64, shape (T,)
        The prompt's tokens.
    first, last : int
        Positions of the subject's first and last token in ``ids`` (inclusive).
    answer : ndarray of int64, shape (A,)
        The tokens of the answer as it continues the prompt (:attr:`FactPrompt.continuation`).
    """

    fact: FactPrompt
    ids: np.ndarray
    first: int
    last: int
    answer: np.ndarray

    @property
    def T(self) -> int:
        """The prompt length in tokens."""
        return len(self.ids)

    @property
    def A(self) -> int:
        """The answer length in tokens."""
        return len(self.answer)

    @property
    def subject(self) -> tuple[int, int]:
        """``(first, last)``, the subject's token span (inclusive)."""
        return self.first, self.last

    @property
    def inputs(self) -> np.ndarray:
        """The teacher-forced input, prompt + answer[:-1], shape (T + A - 1,)."""
        return np.concatenate([self.ids, self.answer[:-1]])  # (T + A - 1,)

    def targets(self, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
        """Next-token targets for :attr:`inputs`: ``ignore_index`` before position T - 1,
        then the answer tokens, shape (T + A - 1,). For
        :meth:`minigpt.GPT.loss_and_grads` (``ignore_index=...``)."""
        out = np.full(self.T + self.A - 1, ignore_index, dtype=np.int64)  # (T + A - 1,)
        out[self.T - 1:] = self.answer
        return out


def _encode(tokenizer: Any, text: str, what: str) -> np.ndarray:
    """``tokenizer.encode(text)`` as int64, raising a ValueError that names unknown pieces
    (also those a tokenizer built with ``unk=True`` would silently map to ``<unk>``)."""
    try:
        ids = np.asarray(tokenizer.encode(text), dtype=np.int64)
    except ValueError as err:
        raise ValueError(f"{what}: the tokenizer cannot encode {text!r}: {err}") from None
    if getattr(tokenizer, "unk", False):
        unk = len(tokenizer.vocab) - 1
        if np.any(ids == unk):
            pieces = tokenizer.tokenize(text)
            unknown = list(dict.fromkeys(p for p, i in zip(pieces, ids.tolist()) if i == unk))
            raise ValueError(f"{what}: {unknown[:MAX_SHOWN]} in {text!r} are not in the "
                             f"tokenizer's vocabulary (they would be read as {UNK_PIECE!r})")
    return ids


def _is_prefix(a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) <= len(b) and bool(np.array_equal(a, b[:len(a)]))


def _encode_part(tokenizer: Any, text: str) -> np.ndarray | None:
    """The ids of a part of a fact whose whole text encodes, or ``None`` when the part
    alone cuts a piece the vocabulary lacks (a token boundary that the whole does not
    have, e.g. a lone trailing space)."""
    try:
        return _encode(tokenizer, text, "")
    except ValueError:
        return None


def _subject_start(tokenizer: Any, pre: str, ids_through: np.ndarray) -> int | None:
    """The subject's first token position: ``len(enc(pre))`` if that is a proper token
    prefix of ``ids_through``, else the same for ``pre`` without its final space (which a
    word or BPE tokenizer puts into the subject's first token); ``None`` if neither is."""
    for text in [pre] + ([pre[:-1]] if pre.endswith(" ") else []):
        ids = _encode_part(tokenizer, text)
        if ids is not None and _is_prefix(ids, ids_through) and len(ids) < len(ids_through):
            return len(ids)
    return None


def encode_fact(tokenizer: Any, fact: FactPrompt, model: GPT | None = None) -> EncodedFact:
    """Tokenize a fact: the prompt's ids, the subject's token span, the answer's ids.

    Parameters
    ----------
    tokenizer : CharTokenizer, WordTokenizer or GPT2Tokenizer
        Anything with ``encode(str) -> ids``.
    fact : FactPrompt
    model : GPT, optional
        When given, check that the ids fit it: every id < ``vocab_size``, and the
        teacher-forced input (prompt + all answer tokens but the last) at most ``n_ctx``.

    Returns
    -------
    EncodedFact

    Raises
    ------
    TypeError
        If ``fact`` is not a :class:`~minigpt.data.FactPrompt`.
    ValueError
        If a piece is not in the tokenizer's vocabulary (the message names it), the
        tokenizer merges text across the start or end of the subject or across the
        prompt/answer joint, or (with ``model``) an id is out of the model's range or the
        fact is longer than ``n_ctx``.

    Notes
    -----
    With ``pre`` the prompt before the subject's first occurrence (see
    :mod:`minigpt.data.fact_prompt`), ``enc`` the tokenizer:

    * ``first = len(enc(pre))`` if ``enc(pre)`` is a prefix of ``enc(pre + subject)``;
      otherwise, if ``pre`` ends with a space, ``first = len(enc(pre[:-1]))`` (the space
      belongs to the subject's first token, as in word and BPE tokenizers);
    * ``last = len(enc(pre + subject)) - 1``, which must be a prefix of ``enc(prompt)``;
    * ``answer = enc(sentence)[T:]`` with ``T = len(enc(prompt))``, which must be a prefix.

    The whole sentence is encoded first, so an unknown piece is reported as such; a part
    that does not encode on its own (it cuts a piece) is a boundary error.

    Examples
    --------
    >>> from minigpt.tokenizers import CharTokenizer, WordTokenizer
    >>> fact = FactPrompt("The capital of South Korea is", "South Korea", "Seoul")
    >>> words = WordTokenizer.from_text(fact.sentence)
    >>> e = encode_fact(words, fact)
    >>> e.ids.shape, e.subject, e.A
    ((6,), (3, 4), 1)
    >>> chars = CharTokenizer.from_text(fact.sentence)
    >>> e = encode_fact(chars, fact)
    >>> e.subject, chars.decode(e.ids[e.first:e.last + 1]), chars.decode(e.answer)
    ((15, 25), 'South Korea', ' Seoul')
    """
    if not isinstance(fact, FactPrompt):
        raise TypeError(f"fact must be a FactPrompt, got {type(fact).__name__}")
    what = f"fact {fact.subject!r} -> {fact.answer!r}"
    full = _encode(tokenizer, fact.sentence, what)  # names any piece the vocabulary lacks
    ids = _encode_part(tokenizer, fact.prompt)
    if ids is None or not _is_prefix(ids, full) or len(full) == len(ids):
        raise ValueError(f"{what}: the tokenizer merges the end of the prompt with the "
                         f"answer's first token in {fact.sentence!r}")
    start = fact.subject_start
    pre, through = fact.prompt[:start], fact.prompt[:start + len(fact.subject)]
    ids_through = _encode_part(tokenizer, through)
    if ids_through is None or not _is_prefix(ids_through, ids):
        raise ValueError(f"{what}: the tokenizer merges the end of the subject "
                         f"{fact.subject!r} with the text after it in {fact.prompt!r}; the "
                         f"subject must end at a token boundary")
    first = _subject_start(tokenizer, pre, ids_through)
    if first is None:
        raise ValueError(f"{what}: the tokenizer merges the start of the subject "
                         f"{fact.subject!r} with the text before it ({pre!r}); the subject "
                         f"must begin at a token boundary")
    encoded = EncodedFact(fact, ids, first, len(ids_through) - 1, full[len(ids):])
    if model is not None:
        check_fits(model, encoded)
    return encoded


def check_fits(model: GPT, encoded: EncodedFact) -> EncodedFact:
    """Raise ``ValueError`` unless the fact's ids are in the model's vocabulary and its
    teacher-forced input (T + A - 1 tokens) fits in ``n_ctx``."""
    cfg = model.config
    what = f"fact {encoded.fact.subject!r} -> {encoded.fact.answer!r}"
    top = int(max(encoded.ids.max(), encoded.answer.max()))
    if top >= cfg.vocab_size:
        raise ValueError(f"{what}: token id {top} is outside the model's vocabulary of "
                         f"{cfg.vocab_size}: the tokenizer does not belong to this model")
    length = encoded.T + encoded.A - 1
    if length > cfg.n_ctx:
        raise ValueError(f"{what}: the prompt ({encoded.T} tokens) and the answer "
                         f"({encoded.A} tokens, all but the last are read) need {length} "
                         f"positions, more than the model's n_ctx={cfg.n_ctx}")
    return encoded


def as_fact_prompts(facts: Any = None, template: int | str = 0) -> list[FactPrompt]:
    """Any accepted form of ``facts`` as a non-empty list of :class:`FactPrompt`.

    Parameters
    ----------
    facts : sequence of FactPrompt, sequence of Fact, a single FactPrompt, or None
        ``None`` means the embedded athletes. Athletes' :class:`~minigpt.data.Fact` s are
        turned into prompts with ``template`` (:func:`~minigpt.data.athlete_prompts`).
    template : int or str, default 0
        Only used for athletes.

    Returns
    -------
    list of FactPrompt

    Examples
    --------
    >>> as_fact_prompts(template=1)[0].prompt
    'Michael Jordan competes in'
    """
    if facts is None:
        return athlete_prompts(template=template)
    if isinstance(facts, FactPrompt):
        return [facts]
    if isinstance(facts, (str, bytes)):
        raise TypeError("facts must be a sequence of FactPrompt or Fact, got a str")
    facts = list(facts)
    if not facts:
        raise ValueError("facts must not be empty")
    if all(isinstance(f, Fact) for f in facts):
        return athlete_prompts(facts, template)
    for i, f in enumerate(facts):
        if not isinstance(f, FactPrompt):
            raise TypeError(f"facts[{i}] must be a FactPrompt (or every item a Fact), got "
                            f"{type(f).__name__}")
    return facts


def is_athletes(facts: Any) -> bool:
    """Whether ``facts`` means athletes: ``None`` (the embedded ones) or a list of
    :class:`~minigpt.data.Fact` (templates then apply)."""
    if facts is None:
        return True
    if isinstance(facts, FactPrompt) or isinstance(facts, (str, bytes)):
        return False
    facts = list(facts)
    return bool(facts) and all(isinstance(f, Fact) for f in facts)


def encode_facts(tokenizer: Any, facts: Any = None, model: GPT | None = None,
                 template: int | str = 0) -> list[EncodedFact]:
    """:func:`encode_fact` for each fact of :func:`as_fact_prompts` ``(facts, template)``.

    Raises
    ------
    ValueError
        As :func:`encode_fact`, for the first fact that fails (the message names it).

    Examples
    --------
    >>> from minigpt.facts import facts_dataset
    >>> encoded = encode_facts(facts_dataset()[0], template=2)
    >>> len(encoded), encoded[0].subject, encoded[0].T
    (180, (2, 3), 6)
    """
    return [encode_fact(tokenizer, f, model) for f in as_fact_prompts(facts, template)]


def token_labels(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """Each token decoded on its own, for tables and plots (outer spaces shown as is)."""
    return [tokenizer.decode([int(i)]) for i in ids]
