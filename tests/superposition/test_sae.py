import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigpt import gradcheck
from minigpt.superposition.sae import (
    RECOVERED_COS, best_match_cosines, collect_neurons, data_scale, evaluate_sae, init_sae,
    latent_specificity, normalize_decoder, planted_features, plot_latent_frequencies,
    plot_recovery, project_decoder_grad, recover_planted_features, sae_backward, sae_forward,
    sae_loss_and_grads, sae_loss_backward, sae_loss_forward, sae_on_model, train_sae)

KEYS = ("w_enc", "b_enc", "w_dec", "b_dec")
GAP = 1e-3      # distance kept from the ReLU kink and from TopK ties in gradient checks


def generic_sae_inputs(rng, B, d, m, k):
    """Float64 inputs whose pre-activations are clear of 0 and of ties at the k-th value."""
    while True:
        x = rng.standard_normal((B, d))
        params = {"w_enc": rng.standard_normal((m, d)), "b_enc": rng.standard_normal(m) * 0.3,
                  "w_dec": rng.standard_normal((d, m)), "b_dec": rng.standard_normal(d) * 0.3}
        pre = (x - params["b_dec"]) @ params["w_enc"].T + params["b_enc"]
        ok = np.min(np.abs(pre)) > GAP
        if k is not None and k < m:
            srt = np.sort(pre, axis=1)
            ok &= np.min(srt[:, m - k] - srt[:, m - k - 1]) > GAP
        if ok:
            return x, params


def reference_sae(x, p, k):
    """The SAE one sample at a time, TopK by sorting."""
    x_hat, z = np.zeros_like(x), np.zeros((x.shape[0], p["w_enc"].shape[0]))
    for b in range(x.shape[0]):
        pre = p["w_enc"] @ (x[b] - p["b_dec"]) + p["b_enc"]
        keep = np.argsort(pre)[::-1][:k] if k is not None else np.arange(pre.size)
        for j in keep:
            z[b, j] = max(pre[j], 0.0)
        x_hat[b] = p["w_dec"] @ z[b] + p["b_dec"]
    return x_hat, z


# --------------------------------------------------------------------------- forward, backward

@settings(max_examples=20, deadline=None)
@given(B=st.integers(1, 5), d=st.integers(1, 5), m=st.integers(1, 7),
       k=st.one_of(st.none(), st.integers(1, 7)), seed=st.integers(0, 2**16))
def test_sae_backward_matches_finite_differences(B, d, m, k, seed):
    k = None if k is None else min(k, m)
    rng = np.random.default_rng(seed)
    x, p = generic_sae_inputs(rng, B, d, m, k)
    (x_hat, z), cache = sae_forward(x, *[p[n] for n in KEYS], k=k)
    dx_hat, dz = rng.standard_normal(x_hat.shape), rng.standard_normal(z.shape)
    grads = sae_backward(dx_hat, dz, cache)
    dy = np.concatenate([dx_hat.ravel(), dz.ravel()])

    def outputs(*arrays):
        (xh, zz), _ = sae_forward(*arrays, k=k)
        return np.concatenate([xh.ravel(), zz.ravel()])

    result = gradcheck(outputs, [x] + [p[n] for n in KEYS], list(grads), dy=dy)
    assert result.ok, result


@pytest.mark.parametrize("k", [None, 1, 3])
def test_sae_forward_matches_per_sample_reference(k):
    x, p = generic_sae_inputs(np.random.default_rng(1), 6, 4, 7, k)
    (x_hat, z), _ = sae_forward(x, *[p[n] for n in KEYS], k=k)
    ref_x_hat, ref_z = reference_sae(x, p, k)
    np.testing.assert_allclose(z, ref_z, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x_hat, ref_x_hat, rtol=1e-12, atol=1e-14)
    if k is not None:
        assert np.all(np.count_nonzero(z, axis=1) <= k)


@pytest.mark.parametrize("l1", [0.0, 0.7])
def test_sae_loss_backward_matches_finite_differences(l1):
    rng = np.random.default_rng(2)
    x, x_hat, z = rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), rng.random((5, 4))
    _, cache = sae_loss_forward(x, x_hat, z, 2.5, l1)
    dx_hat, dz = sae_loss_backward(1.0, cache)
    result = gradcheck(lambda a, b: sae_loss_forward(x, a, b, 2.5, l1)[0], [x_hat, z],
                       [dx_hat, dz])
    assert result.ok, result


@pytest.mark.parametrize("k, l1", [(None, 0.5), (2, 0.0)])
def test_sae_loss_and_grads_match_finite_differences(k, l1):
    x, p = generic_sae_inputs(np.random.default_rng(3), 6, 4, 5, k)
    scale = data_scale(x)
    _, grads, _ = sae_loss_and_grads(p, x, scale, l1, k)

    def loss(*arrays):
        return sae_loss_and_grads(dict(zip(KEYS, arrays)), x, scale, l1, k)[0]

    result = gradcheck(loss, [p[n] for n in KEYS], [grads[n] for n in KEYS])
    assert result.ok, result


def test_loss_is_normalized_mse_plus_scaled_l1():
    x = np.array([[0.0, 0.0], [2.0, 2.0]])
    z = np.array([[1.0, 0.0, 3.0], [0.0, 0.0, 0.0]])
    v = data_scale(x)                          # each row is sqrt(2) from the mean: v = 2
    assert v == pytest.approx(2.0)
    loss, _ = sae_loss_forward(x, x.mean(axis=0) + 0 * x, z, v, 0.25)
    assert loss == pytest.approx(1.0 + 0.25 * 4.0 / (2 * np.sqrt(2.0)))


# --------------------------------------------------------------------------- unit-norm decoder

def test_decoder_projection_and_renormalization():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((6, 9))
    normalize_decoder(w)
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), 1.0, rtol=1e-12)
    g = project_decoder_grad(w, rng.standard_normal((6, 9)))
    np.testing.assert_allclose(np.sum(g * w, axis=0), 0.0, atol=1e-12)


def test_training_keeps_decoder_columns_unit_and_float32():
    x, _ = planted_features(16, 8, 0.1, 500, seed=0)
    r = train_sae(x, 24, steps=50, batch=64)
    np.testing.assert_allclose(np.linalg.norm(r.params["w_dec"], axis=0), 1.0, rtol=1e-5)
    assert all(v.dtype == np.float32 for v in r.params.values())
    assert r.encode(x).dtype == np.float32


def test_init_from_data_points_columns_at_centred_samples():
    x = np.random.default_rng(5).standard_normal((50, 3))
    p = init_sae(3, 10, seed=0, x=x)
    centred = (x - x.mean(axis=0)) / np.linalg.norm(x - x.mean(axis=0), axis=1, keepdims=True)
    # every column is one of the centred samples' directions
    assert np.allclose(np.max(centred @ p["w_dec"], axis=0), 1.0)
    np.testing.assert_allclose(p["b_dec"], x.mean(axis=0))
    np.testing.assert_allclose(p["w_enc"], p["w_dec"].T)


# --------------------------------------------------------------------------- metrics

def test_explained_variance_is_one_for_identity_and_zero_for_the_mean():
    x = np.random.default_rng(6).random((40, 3)) + 1.0
    identity = {"w_enc": np.eye(3), "b_enc": np.zeros(3), "w_dec": np.eye(3), "b_dec": np.zeros(3)}
    ev, l0, rate = evaluate_sae(identity, x)
    assert ev == pytest.approx(1.0) and l0 == 3.0 and np.all(rate == 1.0)
    silent = dict(identity, b_enc=np.full(3, -100.0), b_dec=x.mean(axis=0))
    ev, l0, rate = evaluate_sae(silent, x)
    assert ev == pytest.approx(0.0, abs=1e-12) and l0 == 0.0 and np.all(rate == 0.0)


def test_dead_latents_are_counted():
    # two distinct points and TopK with k = 1: at most two latents can ever win
    x = np.repeat(np.array([[1.0, 0.5], [-1.0, 0.5]], dtype=np.float32), 50, axis=0)
    r = train_sae(x, 8, k=1, steps=100, batch=20, dead_window=500)
    assert r.dead_fraction >= 6 / 8
    assert np.count_nonzero(r.fire_rate) <= 2
    x, _ = planted_features(8, 4, 0.2, 2000, seed=1)
    assert train_sae(x, 8, l1=0.0, steps=200, batch=100).dead_fraction < 0.5


def test_a_larger_l1_gives_sparser_latents():
    x, _ = planted_features(16, 8, 0.1, 4000, seed=3)
    weak = train_sae(x, 32, l1=0.05, steps=500)
    strong = train_sae(x, 32, l1=1.0, steps=500)
    assert strong.mean_l0 < 0.5 * weak.mean_l0
    assert strong.explained_variance < weak.explained_variance


# --------------------------------------------------------------------------- planted features

@pytest.mark.parametrize("k, l1", [(None, None), (3, None)])
def test_sae_recovers_planted_features(k, l1):
    r = recover_planted_features(64, 32, 0.04, 10_000, k=k, l1=l1, steps=1500)
    assert r.recovered_fraction >= 0.9
    assert np.median(r.best_cos) > 0.95
    assert r.sae.explained_variance > 0.8
    if k is not None:
        assert r.sae.mean_l0 <= k
    d = json.loads(json.dumps(r.to_dict()))
    assert d["recovered_fraction"] == r.recovered_fraction and d["sae"]["m"] == 128
    assert "recovered" in r.to_table()


def test_random_decoder_does_not_recover_planted_features():
    _, features = planted_features(64, 32, 0.04, 10, seed=0)
    best = best_match_cosines(features, init_sae(32, 128, seed=1)["w_dec"])
    assert np.mean(best > RECOVERED_COS) < 0.1


def test_planted_features_are_sparse_nonnegative_combinations():
    x, f = planted_features(40, 10, 0.05, 5000, seed=2, dtype=np.float64)
    codes = np.linalg.lstsq(f.T, x.T, rcond=None)[0]         # underdetermined: just a shape check
    assert codes.shape == (40, 5000)
    assert np.mean(np.all(x == 0, axis=1)) == pytest.approx(0.95 ** 40, abs=0.03)
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0)


# --------------------------------------------------------------------------- specificity

def test_latent_specificity_rules():
    person = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2])
    sport = np.array([0] * 10 + [1] * 5)
    z = np.zeros((15, 4))
    z[0:4, 0] = 1.0          # 4 of person 0's prompts: person-specific
    z[0:3, 1] = 1.0          # only 3: too few
    z[[0, 1, 2, 3, 5], 2] = 1.0  # persons 0 and 1, both sport 0: sport-specific, not a person's
    z[[0, 10], 3] = 1.0      # two sports: neither
    spec = latent_specificity(z, person, sport, min_templates=4)
    np.testing.assert_array_equal(spec.person_of, [0, -1, -1, -1])
    np.testing.assert_array_equal(spec.sport_of, [-1, -1, 0, -1])


# --------------------------------------------------------------------------- errors

def test_bad_arguments_raise_clear_errors():
    x = np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32)
    with pytest.raises(ValueError, match="k must be at most the number of latents m = 8"):
        train_sae(x, 8, k=9)
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        train_sae(x, 8, k=0)
    with pytest.raises(ValueError, match="l1 must be"):
        train_sae(x, 8, l1=-0.1)
    with pytest.raises(ValueError, match="TopK latents take no L1"):
        train_sae(x, 8, k=2, l1=0.1)
    with pytest.raises(ValueError, match="m must be an int >= 1"):
        train_sae(x, 0)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="x must be finite"):
        train_sae(bad, 8)
    with pytest.raises(ValueError, match="x must have 2 dimensions"):
        train_sae(x[0], 8)
    with pytest.raises(TypeError, match="floating-point"):
        train_sae(np.ones((5, 2), dtype=int), 4)
    with pytest.raises(ValueError, match="x must vary"):
        train_sae(np.ones((5, 2)), 4)
    with pytest.raises(ValueError, match="p_active"):
        planted_features(8, 4, 1.5)
    with pytest.raises(ValueError, match="d = 3 columns"):
        init_sae(3, 4, x=x)


# --------------------------------------------------------------------------- the facts model

def test_collect_neurons_reads_the_last_prompt_token(demo_model):
    from minigpt.interp import fact_prompts

    model, tok, _ = demo_model
    S = collect_neurons(model, tok, layer=2)
    assert S.acts.shape == (900, model.config.d_ff) and S.position == "last"
    assert np.bincount(S.person).tolist() == [5] * 180
    P = fact_prompts(tok, template=3)
    _, cache = model.run_with_cache(P.ids, names=["blocks.2.mlp.post"])
    np.testing.assert_array_equal(S.acts[S.template == 3], cache["blocks.2.mlp.post"][:, -1])
    subject = collect_neurons(model, tok, layer=2, position="subject", templates=[3])
    np.testing.assert_array_equal(subject.acts, cache["blocks.2.mlp.post"][:, P.last])
    with pytest.raises(ValueError, match="layer"):
        collect_neurons(model, tok, layer=model.config.n_layer)
    with pytest.raises(ValueError, match="position"):
        collect_neurons(model, tok, position="first")


def test_sae_on_the_facts_model(demo_model):
    model, tok, _ = demo_model
    r = sae_on_model(model, tok, steps=1000)
    assert (r.layer, r.position, r.n_samples, r.n_people, r.n_templates) == (2, "last", 900, 180, 5)
    assert r.sae.explained_variance > 0.5
    assert r.sae.mean_l0 <= 4 and 0.0 <= r.sae.dead_fraction <= 1.0
    assert 0 <= r.n_people_covered <= r.n_person_latents <= r.sae.m
    assert r.n_people_covered <= 180 and 1 <= r.n_sports_covered <= 9
    assert np.all((0.0 <= r.sport_coverage) & (r.sport_coverage <= 1.0))
    d = json.loads(json.dumps(r.to_dict()))
    assert d["sae"]["explained_variance"] == pytest.approx(r.sae.explained_variance)
    assert "person-specific" in r.to_table()


def test_plots():
    plt = pytest.importorskip("matplotlib.pyplot")
    r = recover_planted_features(8, 4, 0.1, 1000, steps=50)
    fig, (a, b) = plt.subplots(1, 2)
    assert plot_recovery(r, ax=a) is a
    assert plot_latent_frequencies(r, ax=b) is b
    assert plot_latent_frequencies(r.sae) is not None
    plt.close("all")
