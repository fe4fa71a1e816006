"""Facts in a GPT: the hand-built fact MLP, the demo model that memorizes athletes, its
recall, and rank-one edits of what it knows."""

from .athlete_recall import RecallResult, fact_recall, next_token_logits, sport_token_ids
from .demo import DEMO_SETTINGS, DEMO_SHAPE, facts_dataset, load_model, train_facts_model
from .edit import edit_fact, evaluate_edits, finetune_fact, key_covariance, solve_value, subject_key
from .edit_outcome import EditOutcome
from .edit_report import EditReport, EditResult
from .memit import memit_edit
from .rank_one import rank_one_update
from .rome import finetune_edit, mlp_key_covariance, rome_edit
from .handbuilt import (
    BreakingPoint,
    FactMLP,
    FactMLPReport,
    SweepRow,
    apply_fact_mlp,
    breaking_points,
    build_fact_mlp,
    evaluate_fact_mlp,
    fact_neurons,
    feature_directions,
    interference_sweep,
    mixed_names,
    person_vector,
    plot_sweep,
    sport_scores,
    sweep_facts,
)

__all__ = [
    "BreakingPoint",
    "DEMO_SETTINGS",
    "DEMO_SHAPE",
    "EditOutcome",
    "EditReport",
    "EditResult",
    "FactMLP",
    "FactMLPReport",
    "RecallResult",
    "SweepRow",
    "apply_fact_mlp",
    "breaking_points",
    "build_fact_mlp",
    "edit_fact",
    "evaluate_edits",
    "evaluate_fact_mlp",
    "fact_neurons",
    "feature_directions",
    "finetune_edit",
    "finetune_fact",
    "interference_sweep",
    "key_covariance",
    "memit_edit",
    "mlp_key_covariance",
    "mixed_names",
    "person_vector",
    "plot_sweep",
    "rank_one_update",
    "rome_edit",
    "solve_value",
    "sport_scores",
    "subject_key",
    "sweep_facts",
    "fact_recall",
    "facts_dataset",
    "load_model",
    "next_token_logits",
    "sport_token_ids",
    "train_facts_model",
]
