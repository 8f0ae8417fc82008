"""What a trained text model gives besides its loss: baselines in the same run, and samples.

- ``bigram``: a character model with one character of memory, the yardstick a character-level
  network must beat (Lidstone-smoothed counts from the training part, the smoothing picked
  on validation), scored on the very (previous character, target) pairs the network is.
- ``fasttext``: the bag of character n-grams (``ngram_bag``; Joulin et al. 2016,
  https://arxiv.org/abs/1607.01759) trained on the same split beside the run's network, by
  fastText's recipe, with its accuracy and speed.
- ``sample``: text written by a character model, one character at a time, from the softmax
  at a temperature (Karpathy 2015, "The Unreasonable Effectiveness of Recurrent Neural
  Networks"; the temperature: Hinton et al. 2015, https://arxiv.org/abs/1503.02531).
"""
from __future__ import annotations

import math
import time

import torch

from .data import DataBundle
from .data.text import PAD, UNK, Vocabulary
from .model import eval_mode
from .spec import LayerSpec, Spec, SpecError

ALPHAS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)   # bigram smoothing tried on validation
FASTTEXT = LayerSpec(type="ngram_bag", dim=10, ngrams=3)   # the paper's 10 hidden units
FASTTEXT_LR = 0.15        # per sample (the paper: 0.05-0.5); a batch's mean loss takes it x batch size
MAX_LENGTH = 100_000      # characters one sample call may write


def is_char_model(spec: Spec) -> bool:
    return spec.data.name == "text"


# --- the bigram baseline --------------------------------------------------------------
def bigram_counts(data: DataBundle) -> torch.Tensor:
    """(V, V) float64: n(p, c), how often character c follows p in the training part
    (p = padding for a part's first character)."""
    v = len(data.vocabulary)
    prev, nxt = data.x_train[:, -1], data.y_train
    return torch.bincount(prev * v + nxt, minlength=v * v).reshape(v, v).double()


def bigram_loss(counts: torch.Tensor, x: torch.Tensor, y: torch.Tensor, alpha: float) -> float:
    """Mean -ln P(y | x[:, -1]) in nats per character, with
    P(c | p) = (n(p, c) + alpha) / (n(p) + alpha * K), K = V - 1 (every id but padding)."""
    k = counts.shape[0] - 1
    p = x[:, -1]
    prob = (counts[p, y] + alpha) / (counts[p].sum(1) + alpha * k)
    return float(-torch.log(prob).mean())


def bigram(data: DataBundle) -> dict:
    """{"test_loss", "val_loss", "train_loss", "alpha"} of the smoothed character bigram."""
    counts = bigram_counts(data)
    scored = "val" if len(data.y_val) else "train"
    alpha = min(ALPHAS, key=lambda a: bigram_loss(counts, *data.split(scored), a))
    out = {s + "_loss": bigram_loss(counts, *data.split(s), alpha)
           for s in ("test", "val", "train") if len(data.split(s)[1])}
    return {**out, "alpha": alpha}


# --- the fastText baseline -----------------------------------------------------------
def speed(trainer) -> float:
    """Training samples per second over the run (validation included, as trained)."""
    return round(len(trainer.data.x_train) * trainer.epoch / max(trainer.seconds, 1e-9), 1)


def fasttext_trainer(trainer):
    """A Trainer for the bag of n-grams on ``trainer``'s data and split, with its epochs,
    batch size, early stopping and seed, set up by fastText's recipe: plain SGD on sparse
    gradients (a step changes only the rows of the n-grams in its batch; that, and no
    recurrence, is why it is fast on a CPU)."""
    from .model.layers import NgramBag
    from .train import Trainer
    t = trainer.spec.train
    spec = trainer.spec.model_copy(update={
        "model": trainer.spec.model.model_copy(update={"layers": [FASTTEXT]}),
        "train": t.model_copy(update={"optimizer": "sgd", "lr": min(10.0, FASTTEXT_LR * t.batch_size),
                                      "weight_decay": 0.0, "compile": False})})
    bag = Trainer(spec, data=trainer.data, device=str(trainer.device))
    for m in bag.model.modules():
        if isinstance(m, NgramBag):
            m.bag.sparse = True
    return bag


def fasttext(trainer) -> dict:
    """``fasttext_trainer`` trained: {"test_accuracy", "test_loss", "samples_per_s", "seconds", "epochs"}."""
    bag = fasttext_trainer(trainer)
    t0 = time.perf_counter()
    s = bag.fit().summary
    return {"test_accuracy": s.get("test_accuracy"), "test_loss": s.get("test_loss"),
            "samples_per_s": speed(bag), "seconds": round(time.perf_counter() - t0, 4),
            "epochs": s["epochs"]}


def summary_extras(trainer) -> dict:
    """What a text run adds to its summary: the baselines, and its own speed."""
    if trainer.data.vocabulary is None:
        return {}
    if is_char_model(trainer.spec):
        return {"baselines": {"bigram": bigram(trainer.data)}, "vocabulary": len(trainer.data.vocabulary),
                "unit": "nats per character"}
    return {"samples_per_s": speed(trainer), "baselines": {"fasttext": fasttext(trainer)}}


# --- sampling --------------------------------------------------------------------------
@torch.no_grad()
def sample(model: torch.nn.Module, vocab: Vocabulary, window: int, length: int, prompt: str = "",
           temperature: float = 1.0, seed: int = 0) -> str:
    """``prompt`` followed by ``length`` characters drawn one at a time from
    softmax(logits / temperature) (padding and the unknown symbol left out); the network
    reads the last ``window`` characters. A prompt character without an id is an error."""
    if not 1 <= length <= MAX_LENGTH:
        raise SpecError.say("sample.length", got=length, most=MAX_LENGTH)
    if not (temperature > 0 and math.isfinite(temperature)):
        raise SpecError.say("sample.temperature", got=temperature)
    if bad := vocab.missing(prompt):
        shown = " ".join(bad[:20]) + (" ..." if len(bad) > 20 else "")
        raise SpecError.say("sample.prompt", chars=shown, n=len(bad), known=len(vocab) - 2)
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    ids = [PAD] * window + vocab.encode(prompt).tolist()
    with eval_mode(model):
        for _ in range(length):
            x = torch.tensor([ids[-window:]], device=device)           # (1, window)
            p = torch.softmax(model(x)[0].double().cpu() / temperature, 0)
            p[[PAD, UNK]] = 0                     # never write padding or the unknown symbol
            ids.append(int(torch.multinomial(p, 1, generator=gen)))
    return prompt + vocab.decode(ids[window + len(prompt):])


def sample_run(run, length: int, prompt: str = "", temperature: float = 1.0, seed: int = 0) -> str:
    """``sample`` with a finished run's character model (``nnplay sample``)."""
    spec = run.spec
    if not is_char_model(spec):
        raise SpecError.say("sample.not_text", run=repr(run.id), data=spec.data.name)
    from .runs import load_trained
    trainer = load_trained(run)
    vocab = Vocabulary(list(trainer.data.vocabulary))
    return sample(trainer.model, vocab, spec.data.window, length, prompt, temperature, seed)
