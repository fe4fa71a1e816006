"""The headline claim: the demo model learns every athlete's sport."""

from minigpt.data import TEMPLATES
from minigpt.facts import fact_recall


def test_demo_model_recalls_at_least_99_percent_of_facts(demo_model):
    model, tokenizer, result = demo_model
    recalls = [fact_recall(model, tokenizer, template=k).accuracy for k in range(len(TEMPLATES))]
    print(f"demo: {result.seconds:.1f} s, loss {result.losses[0]:.3f} -> {result.losses[-1]:.3f}, "
          f"recall by template {recalls}")
    assert recalls[0] >= 0.99
    assert min(recalls) >= 0.95
