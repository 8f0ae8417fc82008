"""nnplay.text: the bigram baseline against hand-worked counts, temperature sampling against
hand-worked probabilities, and the fastText baseline beside a run's network."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers import write_reviews
from nnplay import spec
from nnplay.data import load_data
from nnplay.data.text import PAD, UNK, Vocabulary
from nnplay.spec import SpecError
from nnplay.text import bigram, sample, summary_extras
from nnplay.train import Trainer


def test_bigram_against_hand_worked_counts(tmp_path):
    """Train "aabab", validation "ba", test "abz" (z unknown). Training pairs (previous, next):
    (pad,a) (a,a) (a,b) (b,a) (a,b), so n(pad)=1, n(a)=3, n(b)=1; K = 3 outcomes (a, b, unknown).
    Validation needs the unseen (pad,b): of the smoothing values tried, alpha = 1 scores best.
    Test: P(a|pad) = (1+1)/(1+3) = 1/2, P(b|a) = (2+1)/(3+3) = 1/2, P(unk|b) = (0+1)/(1+3) = 1/4,
    so the loss is -(ln 1/2 + ln 1/2 + ln 1/4) / 3 = 4 ln 2 / 3 nats per character."""
    f = tmp_path / "t.txt"
    f.write_text("aababbaabz", encoding="utf-8")
    d = load_data(spec.from_dict({"data": {"name": "text", "path": str(f), "window": 1,
                                           "train_ratio": 0.7, "val_ratio": 0.25}}).data)
    b = bigram(d)
    assert b["alpha"] == 1.0
    assert b["test_loss"] == pytest.approx(4 * math.log(2) / 3, abs=1e-12)
    # validation: P(b|pad) = 1/4, P(a|b) = 2/4
    assert b["val_loss"] == pytest.approx(-(math.log(1 / 4) + math.log(2 / 4)) / 2, abs=1e-12)
    # training: P(a|pad) = 2/4, P(a|a) = 2/6, P(b|a) = 3/6, P(a|b) = 2/4, P(b|a) = 3/6
    assert b["train_loss"] == pytest.approx(-(math.log(1 / 2) + math.log(1 / 3) + 3 * math.log(1 / 2)) / 5, abs=1e-12)


class Fixed(nn.Module):
    """Logits that ignore the input: padding and unknown 5, a 0, b ln 3."""
    def __init__(self):
        super().__init__()
        self.logits = nn.Parameter(torch.tensor([5.0, 5.0, 0.0, math.log(3)]))

    def forward(self, x):
        return self.logits.expand(len(x), 4)


VOCAB = Vocabulary(["", "\ufffd", "a", "b"])


@pytest.mark.parametrize("temperature, p_b", [(1.0, 3 / 4), (0.5, 9 / 10), (2.0, math.sqrt(3) / (1 + math.sqrt(3)))])
def test_sample_draws_from_the_softmax_at_a_temperature(temperature, p_b):
    """P(b) = e^(ln 3 / T) / (1 + e^(ln 3 / T)): 3/4 at T = 1, 9/10 at T = 1/2; padding and the
    unknown symbol are never written, however likely."""
    text = sample(Fixed(), VOCAB, window=2, length=4000, temperature=temperature, seed=1)
    assert set(text) <= {"a", "b"} and len(text) == 4000
    assert text.count("b") / 4000 == pytest.approx(p_b, abs=0.03)    # 4 standard errors or more


def test_sample_keeps_the_prompt_and_repeats_with_its_seed():
    class Next(nn.Module):            # writes the character after the last one: a b a b ...
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, x):
            last = x[:, -1]
            nxt = torch.where(last == 2, 3, 2)
            return nn.functional.one_hot(nxt, 4).float() * 20 + self.w

    text = sample(Next(), VOCAB, window=3, length=6, prompt="ab", temperature=0.5)
    assert text == "ab" + "ababab"
    a = sample(Fixed(), VOCAB, 3, 50, seed=7)
    assert a == sample(Fixed(), VOCAB, 3, 50, seed=7) and a != sample(Fixed(), VOCAB, 3, 50, seed=8)


@pytest.mark.parametrize("kw, match", [
    ({"temperature": 0}, "--temperature must be a number greater than 0"),
    ({"temperature": -1}, "--temperature must be a number greater than 0"),
    ({"temperature": float("nan")}, "--temperature must be a number greater than 0"),
    ({"prompt": "abc"}, r"--prompt: 1 character\(s\) are not in the model's vocabulary of 2 characters .*: c"),
    ({"length": 0}, "--length must be 1 to"),
])
def test_sample_errors(kw, match):
    with pytest.raises(SpecError, match=match):
        sample(Fixed(), VOCAB, **{"window": 2, "length": 5, **kw})


def test_vocabulary_round_trip():
    v = Vocabulary.fit("가나가나다")
    assert v.chars == ["", "\ufffd", "가", "나"]
    assert v.encode("가다나").tolist() == [2, UNK, 3] and v.decode([2, 3, PAD]) == "가나"
    assert v.missing("가다라다") == ["다", "라"]


@pytest.fixture(scope="module")
def classified(tmp_path_factory):
    """An embedding + LSTM on made-up Korean/English reviews, with fastText beside it."""
    f = write_reviews(tmp_path_factory.mktemp("reviews") / "r.csv", n=300)
    s = spec.from_dict({"data": {"name": "csv", "path": str(f), "text": "review", "target": "label",
                                 "window": 40, "train_ratio": 0.7},
                        "model": {"layers": [{"type": "embedding", "dim": 16}, {"type": "lstm", "units": 24}]},
                        "train": {"epochs": 12, "lr": 0.01, "probe_every": 0}})
    tr = Trainer(s)
    return tr, tr.fit(), summary_extras(tr)


def test_fasttext_trains_beside_the_network(classified):
    tr, result, extras = classified
    ft = extras["baselines"]["fasttext"]
    assert result.summary["test_accuracy"] >= 0.9 and ft["test_accuracy"] >= 0.9
    assert extras["samples_per_s"] > 0 and ft["samples_per_s"] > 0 and ft["epochs"] == 12
    assert isinstance(tr.model.lstm1, nn.Module)          # the run's own network is untouched


@pytest.mark.parametrize("langs", ["ko", "en"])
def test_bag_of_ngrams_classifies_each_language(tmp_path, langs):
    f = write_reviews(tmp_path / "r.csv", n=300, seed=1, langs=langs)
    s = spec.from_dict({"data": {"name": "csv", "path": str(f), "text": "review", "target": "label",
                                 "window": 40, "train_ratio": 0.7},
                        "model": {"layers": [{"type": "ngram_bag", "dim": 10}]},
                        "train": {"epochs": 10, "lr": 0.05, "probe_every": 0}})
    res = Trainer(s).fit()
    assert res.summary["test_accuracy"] >= 0.9


def test_bag_of_ngrams_exports_to_onnx(tmp_path):
    """The n-gram hash is integer arithmetic in the graph: ONNX Runtime gives PyTorch's logits."""
    from nnplay.export import export_onnx
    f = write_reviews(tmp_path / "r.csv", n=120, seed=2)
    s = spec.from_dict({"data": {"name": "csv", "path": str(f), "text": "review", "target": "label",
                                 "window": 40, "train_ratio": 0.7},
                        "model": {"layers": [{"type": "ngram_bag", "dim": 10}]},
                        "train": {"epochs": 2, "probe_every": 0}})
    tr = Trainer(s)
    tr.fit()
    out = export_onnx(tr, tmp_path / "bag.onnx")
    assert out["max_abs_diff"] < 1e-4 and out["inputs"] == len(tr.data.x_test)
