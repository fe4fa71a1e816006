"""The operations of a GPT, each a pure forward/backward pair.

``op_forward(x, *params) -> (y, cache)`` and ``op_backward(dy, cache) -> (dx, *dparams)``:
the cache holds exactly what the backward needs, and gradients come back in the order of the
forward's arguments.
"""

from .activations import (
    ACTIVATIONS,
    gelu_backward,
    gelu_exact_backward,
    gelu_backward_fast,
    gelu_exact_forward,
    gelu_forward,
    gelu_forward_fast,
    relu_backward,
    relu_forward,
)
from .attention import attend, attention_backward, attention_decode, attention_forward, causal_mask
from .embedding import embedding_backward, embedding_forward
from .special import erf, erfc
from .layernorm import LN_EPS, layernorm_backward, layernorm_forward
from .linear import linear_backward, linear_forward
from .loss import cross_entropy_backward, cross_entropy_forward
from .mlp import mlp_backward, mlp_forward
from .softmax import (
    softmax_backward,
    softmax_backward_inplace,
    softmax_forward,
    softmax_forward_inplace,
)

__all__ = [
    "ACTIVATIONS",
    "LN_EPS",
    "attend",
    "attention_backward",
    "attention_decode",
    "attention_forward",
    "causal_mask",
    "cross_entropy_backward",
    "cross_entropy_forward",
    "embedding_backward",
    "embedding_forward",
    "erf",
    "erfc",
    "gelu_backward",
    "gelu_backward_fast",
    "gelu_exact_backward",
    "gelu_exact_forward",
    "gelu_forward",
    "gelu_forward_fast",
    "layernorm_backward",
    "layernorm_forward",
    "linear_backward",
    "linear_forward",
    "mlp_backward",
    "mlp_forward",
    "relu_backward",
    "relu_forward",
    "softmax_backward",
    "softmax_backward_inplace",
    "softmax_forward",
    "softmax_forward_inplace",
]
