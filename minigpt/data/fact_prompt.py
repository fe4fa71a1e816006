"""A fact in its most general shape: a prompt that names a subject, and the answer after it.

``FactPrompt("The capital of France is", "France", "Paris")`` and
``FactPrompt("Michael Jordan plays", "Michael Jordan", "basketball")`` are the same kind of
object; every interpretability and editing tool takes a list of them. Subject and answer
may be several tokens under any tokenizer: the tools find the subject's tokens from the
tokenization itself (:func:`minigpt.interp.encode_fact`), never from a template.

**How prompt and answer are joined.** The answer is the continuation of the prompt, and
one space goes between them unless the prompt already ends in whitespace::

    "The capital of France is" + "Paris"   ->  "The capital of France is Paris"
    "Q: capital of France?\\nA:\\n" + "Paris" ->  "Q: capital of France?\\nA:\\nParis"

so the answer ``"Paris"`` is scored as the text ``" Paris"``, which word and BPE tokenizers
read as one word with its leading space, as GPT-2 saw it in training. Neither the subject
nor the answer may start or end with whitespace (the joint is the rule's business).

**Which occurrence of the subject counts.** The first one in the prompt, as in ROME's
``find_token_range``: in ``"Paris is in France. The capital of France is"`` with subject
``"France"``, the subject tokens are those of the first ``France``.

The built-in athletes are one dataset of such facts (:func:`athlete_prompts`); a user's
CSV/TSV file is another (:func:`minigpt.data.read_facts_file`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from . import TEMPLATES, Fact, load_facts, prompt

ANSWER_SEPARATOR = " "  # what goes between a prompt and its answer (unless the prompt ends in whitespace)


def _check_text(name: str, value: object, *, stripped: bool) -> str:
    """Raise unless ``value`` is a non-blank str (without outer whitespace if ``stripped``)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty, got {value!r}")
    if stripped and value != value.strip():
        raise ValueError(f"{name} must not start or end with whitespace, got {value!r}")
    return value


@dataclass(frozen=True)
class FactPrompt:
    """A fact as a prompt that contains a subject, and the answer that completes it.

    Parameters
    ----------
    prompt : str
        The text the model reads, e.g. ``"The capital of France is"``. It must contain
        ``subject``; the first occurrence is the subject's place.
    subject : str
        What the fact is about, e.g. ``"France"``; no outer whitespace.
    answer : str
        The completion, e.g. ``"Paris"``; no outer whitespace. It is appended to the prompt
        as :attr:`continuation` (one space between them unless the prompt ends in
        whitespace).
    paraphrases : tuple of str, default ()
        Other prompts asking the same thing (each must contain ``subject``), used to check
        that an edit generalizes; a list is accepted and stored as a tuple.

    Raises
    ------
    TypeError
        For a field that is not a str.
    ValueError
        For an empty field, outer whitespace in subject or answer, or a prompt or
        paraphrase that does not contain the subject.

    Examples
    --------
    >>> fact = FactPrompt("The capital of France is", "France", "Paris",
    ...                   paraphrases=["France's capital is"])
    >>> fact.sentence
    'The capital of France is Paris'
    >>> fact.subject_start, fact.continuation
    (15, ' Paris')
    >>> [f.prompt for f in fact.paraphrase_facts()]
    ["France's capital is"]
    """

    prompt: str
    subject: str
    answer: str
    paraphrases: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_text("prompt", self.prompt, stripped=False)
        _check_text("subject", self.subject, stripped=True)
        _check_text("answer", self.answer, stripped=True)
        if isinstance(self.paraphrases, str) or not isinstance(self.paraphrases, Iterable):
            raise TypeError(f"paraphrases must be a sequence of str, got "
                            f"{type(self.paraphrases).__name__}")
        object.__setattr__(self, "paraphrases", tuple(self.paraphrases))
        for i, text in enumerate(self.paraphrases):
            _check_text(f"paraphrases[{i}]", text, stripped=False)
        for name, text in (("prompt", self.prompt),) + tuple(
                (f"paraphrases[{i}]", p) for i, p in enumerate(self.paraphrases)):
            if self.subject not in text:
                raise ValueError(f"the subject {self.subject!r} does not occur in the "
                                 f"{name} {text!r}")

    @property
    def subject_start(self) -> int:
        """Character offset of the subject's first occurrence in the prompt."""
        return self.prompt.index(self.subject)

    @property
    def continuation(self) -> str:
        """The answer as it follows the prompt: ``" " + answer``, or ``answer`` when the
        prompt ends in whitespace."""
        return self.answer if self.prompt[-1].isspace() else ANSWER_SEPARATOR + self.answer

    @property
    def sentence(self) -> str:
        """The prompt completed by its answer: ``prompt + continuation``."""
        return self.prompt + self.continuation

    def paraphrase_facts(self) -> list[FactPrompt]:
        """One fact per paraphrase: same subject and answer, the paraphrase as its prompt."""
        return [FactPrompt(p, self.subject, self.answer) for p in self.paraphrases]


def athlete_prompts(facts: Iterable[Fact] | None = None, template: int | str = 0
                    ) -> list[FactPrompt]:
    """The athletes as general facts: one :class:`FactPrompt` per athlete.

    Parameters
    ----------
    facts : iterable of Fact, optional
        Default: the embedded athletes (:func:`load_facts`).
    template : int or str, default 0
        The template of the main prompt (see :func:`prompt`).

    Returns
    -------
    list of FactPrompt
        ``FactPrompt(prompt(f, template), f.name, f.sport, paraphrases)`` where the
        paraphrases are the prompts of the other templates of :data:`TEMPLATES` in order
        (all of them when ``template`` is a template string).

    Examples
    --------
    >>> fact = athlete_prompts(template=2)[0]
    >>> fact.prompt, fact.subject, fact.answer
    ('The sport Michael Jordan plays is', 'Michael Jordan', 'basketball')
    >>> fact.paraphrases[0]
    'Michael Jordan plays'
    """
    facts = load_facts() if facts is None else list(facts)
    for i, f in enumerate(facts):
        if not isinstance(f, Fact):
            raise TypeError(f"facts[{i}] must be a Fact, got {type(f).__name__}")
    others = [t for t in range(len(TEMPLATES))
              if isinstance(template, str) or t != template % len(TEMPLATES)]
    return [FactPrompt(prompt(f, template), f.name, f.sport,
                       tuple(prompt(f, t) for t in others)) for f in facts]
