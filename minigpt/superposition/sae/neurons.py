"""The facts model's MLP neurons, and the SAE latents that belong to one person or sport.

:func:`collect_neurons` reads one layer's neurons on every fact's prompts, labelled with
who and what each prompt is about; :func:`latent_specificity` uses those labels to find
person-specific and sport-specific latents. ``on_model.py`` puts the two around an SAE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

DEFAULT_LAYER = 2           # causal tracing puts the lookup in the MLPs of layers 0-2 ...
DEFAULT_POSITION = "last"   # ... at the last prompt token, not at the subject
POSITIONS = ("last", "subject")
MIN_TEMPLATES = 4           # a person-specific latent fires on >= this many of a person's prompts
MIN_PEOPLE = 2              # a sport-specific latent fires for >= this many people of one sport


@dataclass(frozen=True)
class NeuronSamples:
    """MLP neuron values of a model on every fact's prompts, with who and what each is about.

    Attributes
    ----------
    acts : ndarray, shape (N, F)
        ``blocks.{layer}.mlp.post`` at one position of each prompt; N = facts x templates,
        template-major (all facts of the first template, then the next).
    person : ndarray of int64, shape (N,)
        Index of the fact (person) of each sample.
    sport : ndarray of int64, shape (N,)
        Index into ``sports``.
    template : ndarray of int64, shape (N,)
        Position in ``templates``.
    sports : list of str
        Sorted sport names.
    templates : list of int or str
    layer : int
    position : str
        ``"last"``: the last prompt token; ``"subject"``: the subject's last token.
    """

    acts: np.ndarray
    person: np.ndarray
    sport: np.ndarray
    template: np.ndarray
    sports: list[str]
    templates: list[Any]
    layer: int
    position: str


def collect_neurons(model: Any, tokenizer: Any, layer: int = DEFAULT_LAYER,
                    position: str = DEFAULT_POSITION, facts: Sequence[Any] | None = None,
                    templates: Any = None) -> NeuronSamples:
    """Read one layer's MLP neurons at one position of every fact's prompt in every template.

    Parameters
    ----------
    model : GPT
    tokenizer : WordTokenizer
    layer : int
        Block index (default 2).
    position : {"last", "subject"}
        The last prompt token (default; where the demo model looks facts up) or the
        subject's last token.
    facts : sequence of Fact, optional
        Default: the embedded athletes.
    templates : int, str or sequence of them, optional
        Default: every template of :data:`minigpt.data.TEMPLATES`.

    Returns
    -------
    NeuronSamples

    Examples
    --------
    >>> from minigpt import GPT, GPTConfig
    >>> from minigpt.facts import facts_dataset
    >>> tok, _, _ = facts_dataset()
    >>> model = GPT(GPTConfig(vocab_size=tok.vocab_size, n_ctx=16, n_layer=2, n_head=2, d_model=8))
    >>> S = collect_neurons(model, tok, layer=1, templates=[0, 2])
    >>> S.acts.shape, S.person[:2], S.template[-1]
    ((360, 32), array([0, 1]), np.int64(1))
    """
    from ...data import load_facts
    from ...interp.prompts import (check_choice, check_int, check_model, fact_prompts,
                                   template_list)

    model = check_model(model)
    layer = check_int("layer", layer, 0, model.config.n_layer - 1)
    position = check_choice("position", position, POSITIONS)
    facts = list(load_facts() if facts is None else facts)
    templates = template_list(templates)
    sports = sorted({f.sport for f in facts})
    name = f"blocks.{layer}.mlp.post"
    acts, person, sport, template = [], [], [], []
    for t, tpl in enumerate(templates):
        P = fact_prompts(tokenizer, facts, tpl)
        _, cache = model.run_with_cache(P.ids, names=[name])
        col = P.T - 1 if position == "last" else P.last
        acts.append(cache[name][:, col])                               # (n_facts, F)
        person.append(np.arange(P.n))
        sport.append(np.array([sports.index(f.sport) for f in facts]))
        template.append(np.full(P.n, t))
    return NeuronSamples(np.concatenate(acts), np.concatenate(person).astype(np.int64),
                         np.concatenate(sport).astype(np.int64),
                         np.concatenate(template).astype(np.int64), sports, templates, layer,
                         position)


class LatentSpecificity(NamedTuple):
    """Which latents belong to one person, or to one sport.

    Attributes
    ----------
    person_of : ndarray of int64, shape (m,)
        The person a latent is specific to, or -1.
    sport_of : ndarray of int64, shape (m,)
        The sport a latent is specific to, or -1.
    """

    person_of: np.ndarray
    sport_of: np.ndarray


def latent_specificity(z: np.ndarray, person: np.ndarray, sport: np.ndarray,
                       min_templates: int = MIN_TEMPLATES,
                       min_people: int = MIN_PEOPLE) -> LatentSpecificity:
    """Find person-specific and sport-specific latents.

    Parameters
    ----------
    z : ndarray, shape (N, m)
        Latents of the N samples.
    person, sport : ndarray of int, shape (N,)
        Labels of each sample.
    min_templates : int
        A latent is specific to person p when it fires on at least this many of p's
        samples and on no sample of anyone else.
    min_people : int
        A latent is specific to sport s when it fires for at least this many people, all
        of whom play s (so a person-specific latent is not also counted as a sport's).

    Returns
    -------
    LatentSpecificity

    Examples
    --------
    >>> z = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> latent_specificity(z, np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0]), min_templates=2)
    LatentSpecificity(person_of=array([ 0, -1]), sport_of=array([-1,  0]))
    """
    fired = (z > 0).astype(np.int64)                                   # (N, m)
    by_person = np.zeros((int(person.max()) + 1, z.shape[1]), dtype=np.int64)
    np.add.at(by_person, person, fired)                                # (P, m) firing counts
    people_fired = np.count_nonzero(by_person, axis=0)                 # (m,)
    top_person = np.argmax(by_person, axis=0)                          # (m,)
    own = by_person[top_person, np.arange(z.shape[1])]
    person_of = np.where((people_fired == 1) & (own >= min_templates), top_person, -1)
    sport_of_person = np.zeros(by_person.shape[0], dtype=np.int64)
    sport_of_person[person] = sport
    n_sports = int(sport.max()) + 1
    onehot = np.eye(n_sports, dtype=np.int64)[sport_of_person]         # (P, S)
    people_by_sport = onehot.T @ (by_person > 0)                       # (S, m) people firing
    sports_fired = np.count_nonzero(people_by_sport, axis=0)           # (m,)
    top_sport = np.argmax(people_by_sport, axis=0)
    sport_of = np.where((sports_fired == 1) & (people_fired >= min_people), top_sport, -1)
    return LatentSpecificity(person_of.astype(np.int64), sport_of.astype(np.int64))
