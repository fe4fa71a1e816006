"""Facts in a GPT: the demo model that memorizes athletes, and measuring its recall."""

from .demo import DEMO_SETTINGS, DEMO_SHAPE, facts_dataset, load_model, train_facts_model
from .recall import RecallResult, fact_recall, next_token_logits, sport_token_ids

__all__ = [
    "DEMO_SETTINGS",
    "DEMO_SHAPE",
    "RecallResult",
    "fact_recall",
    "facts_dataset",
    "load_model",
    "next_token_logits",
    "sport_token_ids",
    "train_facts_model",
]
