"""Finding facts in a trained GPT: recall, ablation, causal tracing, logit lens, neurons.

Every measurement batches all facts of one sentence template into one (N, T) forward pass
and intervenes through :meth:`minigpt.GPT.forward`'s hooks; each returns a dataclass with
``to_dict()`` (JSON) and ``to_table()`` (text).
"""

from .ablation import AblationResult, AblationRow, ablated_recall, ablation_sweep
from .lens import LensResult, decode_residual, logit_lens, plot_logit_lens
from .neurons import NeuronResult, direct_effects, neuron_effects
from .prompts import FactPrompts, answer_stats, fact_prompts, subject_positions
from .recall import RecallTable, TemplateRecall, recall_by_template
from .tracing import TraceResult, causal_trace, plot_causal_trace

__all__ = [
    "AblationResult",
    "AblationRow",
    "FactPrompts",
    "LensResult",
    "NeuronResult",
    "RecallTable",
    "TemplateRecall",
    "TraceResult",
    "ablated_recall",
    "ablation_sweep",
    "answer_stats",
    "causal_trace",
    "decode_residual",
    "direct_effects",
    "fact_prompts",
    "logit_lens",
    "neuron_effects",
    "plot_causal_trace",
    "plot_logit_lens",
    "recall_by_template",
    "subject_positions",
]
