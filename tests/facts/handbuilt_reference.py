"""Independent references for the tests of the hand-built fact MLP: the fact bank and its
feature count, GELU written out with :mod:`math`, and neurons counted name by name."""

import math

from minigpt.data import load_facts

FACTS = load_facts()
N_FEATURES = (len({f.first for f in FACTS}) + len({f.last for f in FACTS})
              + len({f.sport for f in FACTS}))


def gelu_tanh(x):
    """GPT-2's GELU, written out independently of minigpt."""
    return 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def gelu_exact(x):
    return 0.5 * x * (1 + math.erf(x / math.sqrt(2)))


GELUS = {"gelu": gelu_tanh, "gelu_exact": gelu_exact}


def independent_neurons(first, last):
    """Pre-activations from counting name matches, person by person."""
    pre = [(f.first == first) + (f.last == last) - 1 for f in FACTS]
    return [f.sport for f in FACTS], pre
