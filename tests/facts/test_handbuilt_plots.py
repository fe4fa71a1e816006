"""The picture of the video's MLP is drawn from the block's own weights."""

import numpy as np
import pytest

from minigpt.facts import build_fact_mlp
from minigpt.facts.handbuilt import feature_labels, plot_fact_mlp

plt = pytest.importorskip("matplotlib.pyplot")

BANK = [("Michael", "Jordan", "basketball"), ("Michael", "Phelps", "swimming"),
        ("Serena", "Williams", "tennis")]


def test_feature_labels_name_every_direction():
    mlp = build_fact_mlp(BANK, d_model=8)
    assert feature_labels(mlp) == ["M Michael", "M Serena", "J Jordan", "J Phelps",
                                   "J Williams", "B basketball", "B swimming", "B tennis"]


@pytest.mark.parametrize("d_model", [8, 5])  # exactly orthogonal, then in superposition
def test_the_panels_show_rows_that_ask_and_columns_that_answer(d_model):
    mlp = build_fact_mlp(BANK, d_model=d_model)
    ax_up, ax_down = plot_fact_mlp(mlp)
    asks = ax_up.images[0].get_array()  # (F, N + 1)
    answers = ax_down.images[0].get_array()  # (N, F)
    np.testing.assert_allclose(asks[:, :-1], mlp.w_up @ mlp.directions.T)
    np.testing.assert_allclose(asks[:, -1], mlp.b_up)
    np.testing.assert_allclose(answers, mlp.directions @ mlp.w_down)
    if not mlp.exact:
        plt.close("all")
        return  # in superposition the overlaps blur the pattern; the values are checked above
    labels = feature_labels(mlp)
    for i, fact in enumerate(mlp.facts):  # neuron i asks for its person and adds its sport
        asked = {labels[j] for j in np.flatnonzero(asks[i, :-1] > 0.5)}
        assert asked == {f"M {fact.first}", f"J {fact.last}"}
        assert labels[int(np.argmax(answers[:, i]))] == f"B {fact.sport}"
    assert [t.get_text() for t in ax_up.get_yticklabels()][0] == "neuron 0: Michael Jordan?"
    plt.close("all")
