"""The course's lessons (수업): what to change, what to watch, and the figure that proves it.

A lesson is a small TOML file in ``examples/lessons/<id>.toml`` (its id is the file name).
It names the example spec(s) it opens (``examples/<spec>.toml`` plus ``--set`` overrides),
explains in English and Korean what to change and what to watch, and states its claim:
one measured figure (``MEASURES``) and a bound per part ("first-layer gradient ratio below
1e-3 with sigmoid, above 1e-2 with ReLU + He"). A lesson of two parts on 2-D data opens in
the playground's compare mode. The page shows ``measure``'s figure when a lesson's training
ends, and the lesson tests (tests/test_lessons.py...) assert through the same functions.
"""
from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated, Callable, Literal, get_args

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from . import probes
from . import spec as specmod
from .spec import SpecError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"   # the course's specs
LESSONS = EXAMPLES / "lessons"

# the course's chapters, in its order (the page's menu groups)
Group = Literal["neurons", "activations", "optimization", "generalization", "cnn", "sequences",
                "generative", "trust", "practice"]
GROUPS: tuple[str, ...] = get_args(Group)


# --- measuring: trained Trainer -> one number -------------------------------------------------
def _summary(key: str) -> Callable:
    """The figure ``key`` of the summary a run of this trainer would save (``nnplay.runs``)."""
    def measure(trainer) -> float:
        from .runs import _sequence_extras   # series: test MAE in the data's own units
        s = {**trainer.summary(0.0), **_sequence_extras(trainer)}
        if key not in s:
            numbers = [k for k, v in s.items() if isinstance(v, (int, float))]
            raise SpecError.say("lesson.measure_missing", measure=key, allowed=", ".join(numbers))
        return float(s[key])
    return measure


def first_layer_gradient(trainer, n: int = 512) -> float:
    """||dL/dW|| of the first dense/conv layer over that of the output layer, on the first ``n``
    training samples at the current weights: the share of the gradient that reaches the input
    side (the vanishing gradient, 10 layers after training: 2.4e-5 with sigmoid, 1.2 with ReLU + He)."""
    model, layers = trainer.model, probes.param_layers(trainer.model)
    if len(layers) < 2:
        raise SpecError.say("lesson.needs_layers", measure="first_layer_gradient")
    x, y = trainer.x["train"][:n], trainer.y["train"][:n]
    model.zero_grad(set_to_none=True)
    was = model.training
    model.eval()
    try:
        trainer.loss_fn(model(x), y).backward()
        g = probes.grad_norms(model)
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was)
    return g[layers[0][0]] / max(g[layers[-1][0]], 1e-30)


def near_zero_weights(trainer, tol: float = 1e-3) -> float:
    """The share of all dense/conv weights with |w| < ``tol`` (L1 drives weights to exactly 0)."""
    w = torch.cat([m.weight.detach().flatten() for _, m in probes.param_layers(trainer.model)])
    return float((w.abs() < tol).float().mean())


def loss_gap(trainer) -> float:
    """Validation loss minus train loss, both in eval mode: how far the net overfits."""
    return trainer.evaluate("val")["loss"] - trainer.evaluate("train")["loss"]


def recall_at_1(trainer) -> float:
    """Retrieval with the learned embedding on the test split (``nnplay.retrieval``)."""
    from .retrieval import summary
    if trainer.spec.model.embedding is None:
        raise SpecError.say("lesson.needs_embedding")
    return float(summary(trainer.model, trainer.x["test"], trainer.y["test"])["test_recall_at_1"])


CONFIDENT = 0.8      # an SVC probability at least this: a generated digit "gets a confident label"


@cache
def _digit_judge():
    """scikit-learn's SVC on all 1,797 digits (probabilities calibrated): a judge nnplay did not train."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC
    d = load_digits()
    return CalibratedClassifierCV(SVC(), ensemble=False).fit(d.data / 16.0, d.target)


def judge_digits(images: np.ndarray) -> np.ndarray:
    """(N, 1, 8, 8) images in [0, 1] -> (N, 10) class probabilities from the SVC judge."""
    return _digit_judge().predict_proba(images.reshape(len(images), -1))


def confident_share(trainer, n: int = 1000, seed: int = 1) -> float:
    """The share of ``n`` generated digits the SVC judge labels with probability >= 0.8."""
    if not trainer.data.is_image or getattr(trainer, "kind", None) not in ("vae", "gan"):
        raise SpecError.say("lesson.needs_samples")
    return float((judge_digits(trainer.sample(n, seed=seed)).max(1) >= CONFIDENT).mean())


def pgd_accuracy(trainer, eps: float = 0.1) -> float:
    """Test accuracy under a 10-step PGD attack of L-inf size ``eps`` (``nnplay.trust.attacks``;
    Madry et al. 2018, https://arxiv.org/abs/1706.06083): how much of the accuracy survives."""
    from .trust.attacks import attack
    d = trainer.data
    if d.task == "regression" or not d.is_image:
        raise SpecError.say("lesson.needs_images", measure="pgd_accuracy")
    return attack(trainer.model, d.x_test, d.y_test, eps=eps, method="pgd", steps=10,
                  bounds=d.bounds).adversarial_accuracy


SUMMARY_KEYS = ("test_accuracy", "train_loss", "test_loss", "test_mse", "test_mae", "test_recall_rare",
                "test_balanced_accuracy", "modes_covered", "high_quality")
MEASURES: dict[str, Callable] = {**{k: _summary(k) for k in SUMMARY_KEYS},
                                 "first_layer_gradient": first_layer_gradient,
                                 "near_zero_weights": near_zero_weights, "loss_gap": loss_gap,
                                 "recall_at_1": recall_at_1, "confident_share": confident_share,
                                 "pgd_accuracy": pgd_accuracy}
Measure = Literal[tuple(MEASURES)]


# --- the lesson file ------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """One text in both languages."""
    en: Annotated[str, Field(min_length=1)]
    ko: Annotated[str, Field(min_length=1)]


class Part(_Strict):
    """One set-up the lesson opens: ``examples/<spec>.toml`` with ``set`` overrides, and the
    bound its measured figure should keep (``at_most`` and/or ``at_least``)."""
    spec: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    set: list[str] = []
    label: Text
    at_most: float | None = None
    at_least: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> "Part":
        if self.at_most is None and self.at_least is None:
            raise ValueError("give at_most or at_least (the claim's bound for this part)")
        return self

    def holds(self, value: float) -> bool:
        return (self.at_most is None or value <= self.at_most) and \
            (self.at_least is None or value >= self.at_least)


class Claim(Text):
    """The figure the lesson measures (``MEASURES``) and what it shows, in both languages."""
    measure: Measure


class Lesson(_Strict):
    id: str
    group: Group
    order: int = 0                      # place within the group
    title: Text
    text: Text                          # what to change and what to watch
    claim: Claim
    parts: Annotated[list[Part], Field(min_length=1, max_length=3)]
    compare: bool = False               # two 2-D parts side by side (the page's compare mode)
    cli: str | None = None              # the command line that takes the lesson further

    @model_validator(mode="after")
    def _compare_has_two(self) -> "Lesson":
        if self.compare and len(self.parts) < 2:
            raise ValueError("compare = true needs two parts (A and B)")
        return self

    def spec(self, part: int = 0, epochs: int | None = None) -> specmod.Spec:
        """Part ``part``'s spec; ``epochs`` (fewer than the lesson's) for a quick look."""
        if not 0 <= part < len(self.parts):
            raise SpecError.say("lesson.part", id=self.id, part=part, most=len(self.parts) - 1)
        p = self.parts[part]
        more = [f"train.epochs={epochs}"] if epochs is not None else []
        return specmod.load(EXAMPLES / f"{p.spec}.toml", [*p.set, *more])

    def page(self) -> dict:
        """What the page lists and shows (the ``hello`` message's ``lessons``)."""
        return self.model_dump(exclude_none=True) | {"epochs": [self.spec(i).train.epochs
                                                                for i in range(len(self.parts))]}


def load_lesson(path: str | Path) -> Lesson:
    """A lesson file, validated: every field, and every part's spec loads (``SpecError``
    naming the file and the field otherwise)."""
    p = Path(path)
    try:
        d = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SpecError.say("lesson.unreadable", path=p.name, reason=str(e)) from None
    try:
        lesson = Lesson.model_validate({**d, "id": p.stem})
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "lesson"
        problem = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":   # name the keys that are allowed there
            table = {"parts": Part, "claim": Claim}.get(err["loc"][0], Text) if len(err["loc"]) > 1 else Lesson
            problem += "; allowed: " + ", ".join(k for k in table.model_fields if k != "id")
        raise SpecError.say("lesson.invalid", path=p.name, where=where, problem=problem) from None
    for i, part in enumerate(lesson.parts):
        try:
            lesson.spec(i)
        except SpecError as e:
            raise SpecError.say("lesson.invalid", path=p.name, where=f"parts.{i}.spec",
                                problem=str(e)) from None
    return lesson


@cache
def all_lessons(folder: Path = LESSONS) -> tuple[Lesson, ...]:
    """Every lesson in ``folder``, in the course's order (group, then ``order``, then id)."""
    found = [load_lesson(p) for p in sorted(Path(folder).glob("*.toml"))]
    return tuple(sorted(found, key=lambda s: (GROUPS.index(s.group), s.order, s.id)))


def lesson(lesson_id: str, folder: Path = LESSONS) -> Lesson:
    known = {s.id: s for s in all_lessons(folder)}
    if lesson_id not in known:
        raise SpecError.say("lesson.unknown", id=lesson_id, allowed=", ".join(known))
    return known[lesson_id]


def grouped(folder: Path = LESSONS) -> list[dict]:
    """[{group, lessons: [page dicts]}] for the page's menu, empty groups left out."""
    out = []
    for g in GROUPS:
        items = [s.page() for s in all_lessons(folder) if s.group == g]
        if items:
            out.append({"group": g, "lessons": items})
    return out


def measure(trainer, name: str) -> float:
    """The figure ``name`` (``MEASURES``) of a trained Trainer."""
    if name not in MEASURES:
        raise SpecError.say("lesson.measure_unknown", measure=name, allowed=", ".join(MEASURES))
    return MEASURES[name](trainer)


def measured(lesson: Lesson, part: int, trainer) -> dict:
    """The claim of ``lesson``'s part ``part`` measured on ``trainer``: {lesson, part, measure,
    value, at_most, at_least, holds, epoch, epochs} (``epochs``: the lesson's own)."""
    p = lesson.parts[part]
    value = measure(trainer, lesson.claim.measure)
    return {"lesson": lesson.id, "part": part, "measure": lesson.claim.measure, "value": value,
            "at_most": p.at_most, "at_least": p.at_least, "holds": p.holds(value),
            "epoch": trainer.epoch, "epochs": lesson.spec(part).train.epochs}
