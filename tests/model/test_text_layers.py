"""The embedding and ngram_bag (fastText) layers: shapes, initial draws, hashing and errors."""
from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from nnplay.model import build_model
from nnplay.model.build import BUCKETS
from nnplay.model.layers import NgramBag
from nnplay.spec import ModelSpec, SpecError


def model(layers, window=8, out=5, vocabulary=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return build_model(ModelSpec(layers=layers), (window,), out, g, vocabulary=vocabulary)


def test_embedding_then_lstm_is_a_plain_sequential():
    m = model([{"type": "embedding", "dim": 6}, {"type": "lstm", "units": 7}])
    assert [n for n, _ in m.named_children()] == ["embed1", "lstm1", "out"]
    assert m.embed1.weight.shape == (20, 6) and m.embed1.padding_idx == 0
    assert torch.equal(m.embed1.weight[0], torch.zeros(6))       # padding reads as zeros
    x = torch.randint(0, 20, (3, 8))
    assert m(x).shape == (3, 5)
    # the embedding is a lookup: its output is the table's rows (PyTorch's F.embedding)
    assert torch.equal(m.embed1(x), F.embedding(x, m.embed1.weight))


def test_embedding_draws_from_the_generator_only():
    state = torch.get_rng_state()
    a = model([{"type": "embedding", "dim": 4}, {"type": "flatten"}], seed=3)
    b = model([{"type": "embedding", "dim": 4}, {"type": "flatten"}], seed=3)
    c = model([{"type": "embedding", "dim": 4}, {"type": "flatten"}], seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.embed1.weight, b.embed1.weight) and not torch.equal(a.embed1.weight, c.embed1.weight)
    w = a.embed1.weight.detach()[1:]                             # PyTorch's N(0, 1)
    assert abs(float(w.mean())) < 0.5 and 0.6 < float(w.std()) < 1.4


def test_embedding_vocabulary_can_be_larger_but_not_smaller():
    assert model([{"type": "embedding", "dim": 4, "vocabulary": 50}]).embed1.num_embeddings == 50
    with pytest.raises(SpecError, match=r"model.layers\[0\] \(embedding\): vocabulary must be at least .*\(20\)"):
        model([{"type": "embedding", "dim": 4, "vocabulary": 10}])


@pytest.mark.parametrize("layers, vocabulary, match", [
    ([{"type": "dense", "units": 4}], 20, r"model.layers\[0\]: text data are character ids"),
    (None, 20, r"model.layers: text data are character ids"),
    ([{"type": "embedding", "dim": 4}], None, r"vocabulary must be at least .*needs text data"),
    ([{"type": "embedding", "dim": 4}, {"type": "embedding", "dim": 4}], 20, r"must be the first layer"),
    ([{"type": "ngram_bag", "dim": 4, "ngrams": 5}], 20, r"data.window >= 5; received data.window = 4"),
])
def test_text_layer_errors(layers, vocabulary, match):
    g = torch.Generator().manual_seed(0)
    with pytest.raises(SpecError, match=match):
        build_model(ModelSpec(layers=layers) if layers else ModelSpec(), (4,), 2, g, vocabulary=vocabulary)


def test_embedding_needs_dim():
    with pytest.raises(SpecError, match="an embedding layer needs 'dim'"):
        from nnplay import spec
        spec.from_dict({"model": {"layers": [{"type": "embedding"}]}})


def test_ngram_bag_hashes_each_ngram_and_averages_its_rows():
    """Hand-enumerated n-grams of ids [0, 0, 2, 3, 2] (0 = padding) with ngrams = 2: the
    unigrams 2, 3, 2 and the bigrams (2, 3), (3, 2); n-grams touching padding are left out."""
    bag = NgramBag(buckets=97, dim=3, ngrams=2, generator=torch.Generator().manual_seed(0))
    x = torch.tensor([[0, 0, 2, 3, 2]])

    def row(gram):                       # the documented hash, in Python integers
        h = len(gram)
        for c in gram:
            h = (h * NgramBag.PRIME + c) % 96
        return h + 1

    expected = [row((2,)), row((3,)), row((2,)), row((2, 3)), row((3, 2))]
    ids = bag.ids(x)[0]
    assert sorted(i for i in ids.tolist() if i) == sorted(expected)
    assert (ids == 0).sum() == 2 + 2     # 2 padding unigrams, 2 bigrams touching padding
    w = bag.bag.weight.detach()
    assert torch.allclose(bag(x)[0], w[expected].mean(0), atol=1e-7)
    assert torch.equal(w[0], torch.zeros(3)) and float(w.abs().max()) <= 1 / 3   # U(+-1/dim)
    assert torch.equal(bag(torch.zeros(1, 5, dtype=torch.long)), torch.zeros(1, 3))   # all padding


def test_ngram_bag_default_buckets():
    m = model([{"type": "ngram_bag", "dim": 10}])
    assert [n for n, _ in m.named_children()] == ["bag1", "out"]
    assert m.bag1.bag.num_embeddings == BUCKETS and m(torch.randint(0, 20, (4, 8))).shape == (4, 5)
