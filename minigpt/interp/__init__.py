"""Finding facts in any GPT: recall, ablation, causal tracing, logit lens, neurons.

Every tool takes ``(model, tokenizer, facts)``: a :class:`minigpt.GPT` (trained here or
loaded with :func:`minigpt.hf.load_hf_gpt2`), its tokenizer (char, word or GPT-2 BPE), and
facts of any shape, :class:`minigpt.data.FactPrompt` s (a list of the athletes'
:class:`minigpt.data.Fact` s with a ``template=`` works too, and ``None`` means all
athletes). Each fact is tokenized with its subject located (:func:`encode_fact`); facts of
one shape run as one batch (:func:`group_facts`), and every intervention goes through
:meth:`minigpt.GPT.forward`'s hooks. Each tool returns a dataclass with ``to_dict()``
(JSON) and ``to_table()`` (text).

This package measures; it imports nothing from :mod:`minigpt.facts` (datasets, the
hand-built MLP, editing), which builds on it.
"""

from .ablation import AblationResult, AblationRow, ablated_recall, ablation_sweep
from .encoding import EncodedFact, as_fact_prompts, encode_fact, encode_facts
from .lens import LensResult, decode_residual, logit_lens, plot_logit_lens
from .neurons import NeuronResult, direct_effects, neuron_effects
from .prompts import FactPrompts, answer_stats, fact_prompts, subject_positions
from .recall_table import RecallTable, TemplateRecall, recall_by_template
from .scoring import (MODES, AnswerScores, FactGroup, FactScores, answer_scores, group_facts,
                      score_facts, score_group)
from .trace_result import CATEGORIES, TraceResult, category_positions, plot_causal_trace
from .tracing import causal_trace, subject_embedding_std, window_layers

__all__ = [
    "AblationResult",
    "AblationRow",
    "AnswerScores",
    "CATEGORIES",
    "EncodedFact",
    "FactGroup",
    "FactPrompts",
    "FactScores",
    "LensResult",
    "MODES",
    "NeuronResult",
    "RecallTable",
    "TemplateRecall",
    "TraceResult",
    "ablated_recall",
    "ablation_sweep",
    "answer_scores",
    "answer_stats",
    "as_fact_prompts",
    "category_positions",
    "causal_trace",
    "decode_residual",
    "direct_effects",
    "encode_fact",
    "encode_facts",
    "fact_prompts",
    "group_facts",
    "logit_lens",
    "neuron_effects",
    "plot_causal_trace",
    "plot_logit_lens",
    "recall_by_template",
    "score_facts",
    "score_group",
    "subject_embedding_std",
    "subject_positions",
    "window_layers",
]
