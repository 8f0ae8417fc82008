"""rnn/lstm/gru and conv1d layers: PyTorch's own modules are the reference for every output."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nnplay.model import build_model
from nnplay.model.regularize import penalty
from nnplay.spec import ModelSpec, SpecError, from_dict

KINDS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def model(*layers, shape=(7, 3), out=2, **kw):
    return build_model(ModelSpec(layers=list(layers), **kw), shape, out,
                       torch.Generator().manual_seed(0), torch.Generator().manual_seed(1))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bi", [False, True])
def test_stack_equals_torchs_multilayer_module(kind, bi):
    """Two stacked layers (no dropout) compute what one nn.LSTM(num_layers=2) computes with the
    same weights; the summary is PyTorch's final state h_n (both directions when bidirectional)."""
    m = model({"type": kind, "units": 5, "num_layers": 2, "bidirectional": bi})
    rec = m[0]
    ref = KINDS[kind](3, 5, num_layers=2, batch_first=True, bidirectional=bi)
    with torch.no_grad():
        for layer_i, layer in enumerate(rec.layers):
            for name, p in layer.named_parameters():   # weight_ih_l0[_reverse] -> ..._l{layer_i}
                getattr(ref, name.replace("_l0", f"_l{layer_i}")).copy_(p)
    x = torch.randn(4, 7, 3)
    seq, h = ref(x)
    h = h[0] if kind == "lstm" else h                    # (layers*D, B, H)
    last = torch.cat(list(h[-(2 if bi else 1):]), 1)     # the top layer's final state(s)
    torch.testing.assert_close(rec(x), last)
    rec.return_sequences = True
    torch.testing.assert_close(rec(x), seq)


@pytest.mark.parametrize("kind", KINDS)
def test_default_init_is_pytorchs_own(kind):
    """init = "default" draws what nn.LSTM's reset_parameters draws, from the given generator."""
    torch.manual_seed(5)
    ref = KINDS[kind](3, 4, batch_first=True)
    m = build_model(ModelSpec(layers=[{"type": kind, "units": 4}], init="default"), (6, 3), 1,
                    torch.Generator().manual_seed(5))
    for (n, p), (rn, rp) in zip(m[0].layers[0].named_parameters(), ref.named_parameters()):
        assert n == rn
        torch.testing.assert_close(p, rp)


def test_init_schemes_and_no_global_rng():
    """xavier_uniform bounds each weight matrix by sqrt(6/(fan_in+fan_out)), biases start at 0,
    and building never draws from the global RNG."""
    state = torch.get_rng_state()
    m = model({"type": "lstm", "units": 8, "num_layers": 2, "dropout": 0.3}, init="xavier_uniform")
    assert torch.equal(state, torch.get_rng_state())
    for n, p in m[0].named_parameters():
        if "bias" in n:
            assert torch.count_nonzero(p) == 0
        else:
            bound = (6 / sum(p.shape)) ** 0.5
            assert p.abs().max() <= bound and p.abs().max() > 0.8 * bound
    z = model({"type": "gru", "units": 4, "init": "zeros"})
    assert all(torch.count_nonzero(p) == 0 for p in z[0].parameters())


def test_regularization_covers_recurrent_and_conv1d_weights():
    m = model({"type": "conv1d", "filters": 4}, {"type": "lstm", "units": 3})
    ws = [m.conv1.weight, m.lstm1.layers[0].weight_ih_l0, m.lstm1.layers[0].weight_hh_l0, m.out.weight]
    torch.testing.assert_close(penalty(m, "l2", 0.1), 0.1 * sum(w.pow(2).sum() for w in ws))


def test_dropout_between_stacked_layers_uses_the_session_generator():
    m = model({"type": "gru", "units": 6, "num_layers": 3, "dropout": 0.5})
    x = torch.randn(2, 7, 3)
    m.train()
    a, b = m(x), m(x)
    assert not torch.allclose(a, b)                   # masks differ between calls
    m.eval()
    torch.testing.assert_close(m(x), m(x))            # none in eval mode


@pytest.mark.parametrize("padding, kernel, stride, steps", [
    ("same", 3, 1, 7), ("valid", 3, 1, 5), ("valid", 5, 2, 2), ("same", 3, 2, 4)])
def test_conv1d_slides_over_time(padding, kernel, stride, steps):
    m = model({"type": "conv1d", "filters": 4, "kernel": kernel, "stride": stride,
               "padding": padding, "activation": "linear"})
    x = torch.randn(2, 7, 3)                          # (B, T, F)
    y = m.conv1(x)
    ref = F.conv1d(x.transpose(1, 2), m.conv1.weight, m.conv1.bias, stride=stride,
                   padding=kernel // 2 if padding == "same" else 0).transpose(1, 2)
    assert y.shape == (2, steps, 4)
    torch.testing.assert_close(y, ref)


def test_shapes_through_a_sequence_stack():
    m = model({"type": "lstm", "units": 5, "return_sequences": True, "bidirectional": True},
              {"type": "conv1d", "filters": 4, "activation": "relu"},
              {"type": "rnn", "units": 3}, {"type": "dense", "units": 6})
    assert list(dict(m.named_children())) == ["lstm1", "conv1", "act1", "rnn1", "dense1", "act2", "out"]
    assert m(torch.randn(2, 7, 3)).shape == (2, 2)
    flat = model({"type": "gru", "units": 5, "return_sequences": True})   # flattened for the head
    assert flat.out.in_features == 7 * 5


@pytest.mark.parametrize("layers, shape, words", [
    ([{"type": "lstm", "units": 4}], (1, 8, 8), "needs a sequence input"),
    ([{"type": "conv1d", "filters": 2}], (5,), "needs a sequence input"),
    ([{"type": "conv1d", "filters": 2, "kernel": 9, "padding": "valid"}], (7, 3), "does not fit"),
    ([{"type": "lstm", "units": 4, "return_sequences": True}, {"type": "batchnorm"}], (7, 3), "layernorm"),
])
def test_shape_errors_name_the_layer(layers, shape, words):
    with pytest.raises(SpecError, match=words) as e:
        build_model(ModelSpec(layers=layers), shape, 1)
    assert "model.layers[" in str(e.value)


@pytest.mark.parametrize("layer, words", [
    ({"type": "lstm"}, "needs 'units'"), ({"type": "conv1d"}, "needs 'filters'"),
    ({"type": "gru", "units": 4, "num_layers": 9}, "num_layers"),
    ({"type": "gru", "units": 4, "dropout": 1.0}, "dropout")])
def test_spec_errors(layer, words):
    with pytest.raises(SpecError, match=words):
        from_dict({"model": {"layers": [layer]}})


def test_spec_round_trips():
    d = {"model": {"layers": [{"type": "lstm", "units": 4, "bidirectional": True, "num_layers": 2,
                               "dropout": 0.1, "return_sequences": True}, {"type": "conv1d", "filters": 3}]}}
    s = from_dict(d)
    assert from_dict(s.to_dict()) == s and from_dict(__import__("tomllib").loads(s.to_toml())) == s
