"""Active learning (능동 학습): of a pool of unlabelled samples, which do we label next?

Pool-based uncertainty sampling (Settles 2009, "Active Learning Literature Survey",
https://burrsettles.com/pub/settles.activelearning.pdf): train on the labels so far,
score every unlabelled sample by how unsure the model is, ask for the K most unsure,
retrain, repeat. With p_(1) >= p_(2) the two largest class probabilities:

- least confidence: 1 - p_(1)                       (Lewis & Gale 1994)
- margin:           -(p_(1) - p_(2))                (Scheffer et al. 2001): a small gap first
- entropy:          -sum_k p_k log p_k              (Shannon's entropy, nats)
- random:           no score: K samples drawn at random, the baseline to beat.

``query`` picks from any pool (the playground's 2-D points: ``ask``); ``learn`` runs the
whole loop with the spec's own Trainer and records the test accuracy at every step.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

from .data import DataBundle, load_data
from .spec import Spec, UserError
from .runs import new_trainer

if TYPE_CHECKING:
    from .train import Trainer

STRATEGIES = ("margin", "entropy", "least", "random")
SEED_MAX = 2**32 - 1   # --seed + repeat r: the seed of repeat r's labels and picks


def scores(probs: torch.Tensor, strategy: str) -> torch.Tensor:
    """Uncertainty of each row of ``probs`` (N, K): higher means ask about it first."""
    check_strategy(strategy)
    top2 = probs.topk(2, dim=1).values                       # (N, 2): p_(1), p_(2)
    if strategy == "least":
        return 1 - top2[:, 0]
    if strategy == "margin":
        return top2[:, 1] - top2[:, 0]
    if strategy == "entropy":
        return -(probs * probs.clamp_min(1e-12).log()).sum(1)
    raise UserError.say("active.no_score")   # random has no score


def query(probs: torch.Tensor, strategy: str, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices (k,) into ``probs``' rows of the samples to label next: the k most uncertain
    (ties: the lower index first), or k drawn at random."""
    check_strategy(strategy)
    k = min(k, len(probs))
    if strategy == "random":
        return torch.randperm(len(probs), generator=generator)[:k]
    return torch.sort(scores(probs, strategy), descending=True, stable=True).indices[:k]


def ask(trainer: Trainer, points: np.ndarray, k: int = 1, strategy: str = "margin") -> list[int]:
    """For a 2-D model: which of the raw (N, 2) ``points`` to ask the learner about next
    (indices, most uncertain first)."""
    probs = trainer.predict(trainer.data.featurize(points))
    return query(probs, strategy, k, torch.Generator().manual_seed(0)).tolist()


def check_strategy(strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise UserError.say("active.bad_strategy", got=repr(strategy), allowed=", ".join(STRATEGIES))


def check(data: DataBundle, budget: int, step: int, initial: int, repeats: int, seed: int = 0) -> None:
    """The loop's settings against the pool (the training split); a UserError naming the option."""
    pool = len(data.x_train)
    if data.task == "regression":
        raise UserError.say("active.task")
    if step < 1:
        raise UserError.say("active.step", got=step)
    if repeats < 1:
        raise UserError.say("active.repeats", got=repeats)
    if not 0 <= seed <= SEED_MAX - repeats:
        raise UserError.say("active.seed", got=seed, most=SEED_MAX - repeats)
    if not 1 <= initial <= pool:
        raise UserError.say("active.initial", got=initial, pool=pool)
    if not initial <= budget <= pool:
        raise UserError.say("active.budget", got=budget, initial=initial, pool=pool)


@dataclass
class Curve:
    """Test accuracy (repeats, steps) against the number of labels at each step."""
    labels: list[int]
    accuracy: np.ndarray

    def rows(self) -> list[dict]:
        """``[{labels, test_accuracy, std}]``: mean and standard deviation over repeats."""
        return [{"labels": n, "test_accuracy": float(a.mean()), "std": float(a.std())}
                for n, a in zip(self.labels, self.accuracy.T)]

    def at(self, labels: int) -> float:
        return float(self.accuracy[:, self.labels.index(labels)].mean())


def _subset(data: DataBundle, idx: torch.Tensor) -> DataBundle:
    """``data`` with only the training samples ``idx`` (the labelled ones)."""
    points = None if data.points is None else {**data.points, "train": data.points["train"][idx.numpy()]}
    return dataclasses.replace(data, x_train=data.x_train[idx], y_train=data.y_train[idx], points=points)


def learn(spec: Spec, strategies: list[str], budget: int, step: int, initial: int | None = None,
          repeats: int = 1, seed: int = 0, data: DataBundle | None = None,
          on_step: Callable[[str, int, int, float], None] | None = None) -> dict[str, Curve]:
    """The active-learning loop for each strategy: from ``initial`` random labels (default
    ``step``), ask for ``step`` more at a time until ``budget``, retraining the spec's network
    from its seed each time. Repeat r draws its first labels (and random picks) from seed
    ``seed + r`` and trains with ``train.seed + r``; every strategy starts repeat r from the
    same labels and the same initial weights (a paired comparison).
    ``on_step(strategy, repeat, labels, test_accuracy)`` after each training."""
    for s in strategies:
        check_strategy(s)
    data = data if data is not None else load_data(spec.data)
    initial = step if initial is None else initial
    check(data, budget, step, initial, repeats, seed)
    sizes = list(range(initial, budget, step)) + [budget]
    curves = {s: Curve(sizes, np.zeros((repeats, len(sizes)))) for s in strategies}
    pool = len(data.x_train)
    for r in range(repeats):
        s_first, s_pick = np.random.SeedSequence(seed + r).generate_state(2)   # two streams
        first = torch.randperm(pool, generator=torch.Generator().manual_seed(int(s_first)))[:initial]
        run_spec = spec.model_copy(update={"train": spec.train.model_copy(
            update={"seed": (spec.train.seed + r) % 2**63})})
        for s in strategies:
            labelled, trainer = first, None   # sizes[0] == initial: the first step only trains
            pick = torch.Generator().manual_seed(int(s_pick))
            for j, n in enumerate(sizes):
                if len(labelled) < n:   # ask about the next (n - labelled) samples
                    unlabelled = torch.ones(pool, dtype=torch.bool)
                    unlabelled[labelled] = False
                    rest = unlabelled.nonzero().squeeze(1)
                    probs = trainer.predict(data.x_train[rest])
                    labelled = torch.cat([labelled, rest[query(probs, s, n - len(labelled), pick)]])
                trainer = new_trainer(run_spec, data=_subset(data, labelled))
                acc = trainer.fit().summary["test_accuracy"]
                curves[s].accuracy[r, j] = acc
                if on_step is not None:
                    on_step(s, r, n, acc)
    return curves


def plot(curves: dict[str, Curve], path, title: str, lang: str = "en"):
    """Test accuracy against labels, one line per strategy, a band of one standard deviation."""
    from matplotlib.figure import Figure

    from .i18n import t
    from .figure import fonts, save_png, style
    with style(lang):
        lang = fonts(lang)[0]   # Korean text only with a Hangul font
        fig = Figure(figsize=(6, 4.2))
        ax = fig.subplots()
        for name, c in curves.items():
            mean, sd = c.accuracy.mean(0), c.accuracy.std(0)
            ax.plot(c.labels, mean, "o-", ms=3, label=name)
            ax.fill_between(c.labels, mean - sd, mean + sd, alpha=0.2)
        ax.set(xlabel=t("active.fig.labels", lang), ylabel=t("active.fig.accuracy", lang), title=title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        return save_png(fig, path)
