"""The lessons the page opens (examples/lessons/*.toml, nnplay.lessons): every lesson spec in
examples/ has one, each is valid and says everything in English and Korean, a bad file is a
clear error naming the field, and the measures agree with PyTorch's own autograd."""
from __future__ import annotations

import types
from pathlib import Path

import pytest
import torch

from helpers import HANGUL
from nnplay import lessons, spec
from nnplay.data import load_data
from nnplay.model import eval_mode
from nnplay.spec import SpecError
from nnplay.train import Trainer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# lesson specs the page cannot open, and why (the lesson needs something only the learner has)
NOT_IN_PAGE = {"text_reviews": "trains on the learner's own CSV file (data.path)"}
ALL = lessons.all_lessons()


def test_every_lesson_spec_has_a_lesson():
    opened = {p.spec for s in ALL for p in s.parts}
    teaching = {p.stem for p in EXAMPLES.glob("*.toml")}
    assert teaching - opened == set(NOT_IN_PAGE), "add a lesson file in examples/lessons/ for these specs"
    assert opened <= teaching


def test_lessons_come_in_the_course_order():
    groups = [g["group"] for g in lessons.grouped()]
    assert groups == [g for g in lessons.GROUPS if g in groups]
    assert groups == list(lessons.GROUPS)   # every chapter of the course has a lesson
    assert sum(len(g["lessons"]) for g in lessons.grouped()) == len(ALL) >= 20


@pytest.mark.parametrize("lesson", ALL, ids=lambda s: s.id)
def test_lesson_is_valid_and_bilingual(lesson):
    again = lessons.load_lesson(lessons.LESSONS / f"{lesson.id}.toml")
    assert again == lesson
    texts = [lesson.title, lesson.text, lesson.claim, *(p.label for p in lesson.parts)]
    for t in texts[:3]:   # labels may be names alike in both languages ("Adam", "LSTM")
        assert HANGUL.search(t.ko) and not HANGUL.search(t.en), t
    for i, part in enumerate(lesson.parts):
        s = lesson.spec(i)
        assert s == spec.load(EXAMPLES / f"{part.spec}.toml", part.set)
        assert lesson.spec(i, epochs=2).train.epochs == 2
    page = lesson.page()
    assert page["epochs"] == [lesson.spec(i).train.epochs for i in range(len(lesson.parts))]
    assert page["title"] == {"en": lesson.title.en, "ko": lesson.title.ko}


@pytest.mark.parametrize("lesson", [s for s in ALL if s.compare], ids=lambda s: s.id)
def test_compare_lessons_are_2d(lesson):
    """The page's compare mode shows two 2-D networks side by side."""
    for i in range(2):
        assert load_data(lesson.spec(i).data).is_2d, lesson.id


GOOD = """group = "neurons"
[title]
en = "t"
ko = "제목"
[text]
en = "x"
ko = "설명"
[claim]
measure = "test_accuracy"
en = "c"
ko = "주장"
[[parts]]
spec = "xor_mlp"
label = { en = "a", ko = "가" }
at_least = 0.9
"""


@pytest.mark.parametrize("change, field, words", [
    (("ko = \"설명\"\n", ""), "text.ko", "Field required"),
    (("measure = \"test_accuracy\"", "measure = \"accuracy\""), "claim.measure", "first_layer_gradient"),
    (("group = \"neurons\"", "group = \"poetry\""), "group", "'activations'"),
    (("spec = \"xor_mlp\"", "spec = \"xor_nope\""), "parts.0.spec", "xor_nope"),
    (("at_least = 0.9\n", ""), "parts.0", "at_most or at_least"),
    (("at_least = 0.9\n", "at_least = 0.9\ncolour = 1\n"), "parts.0.colour", "allowed: spec, set, label"),
    (("[title]", "colour = 1\n[title]"), "colour", "allowed: group, order, title"),
])
def test_a_bad_lesson_file_names_the_field(tmp_path, change, field, words):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(*change), encoding="utf-8")
    with pytest.raises(SpecError) as e:
        lessons.load_lesson(path)
    assert f"bad.toml: {field}" in str(e.value) and words in str(e.value), str(e.value)
    assert e.value.render("ko").startswith("수업 bad.toml")


def test_good_lesson_file_loads_and_unknown_ids_are_refused(tmp_path):
    (tmp_path / "mine.toml").write_text(GOOD, encoding="utf-8")
    assert lessons.load_lesson(tmp_path / "mine.toml").id == "mine"
    with pytest.raises(SpecError, match="allowed: xor, spiral"):
        lessons.lesson("nope")
    with pytest.raises(SpecError, match="part 2 does not exist; allowed: 0..1"):
        lessons.lesson("xor").spec(2)


@pytest.fixture(scope="module")
def sigmoid():
    """The vanishing-gradient lesson's sigmoid net after 3 epochs."""
    tr = Trainer(lessons.lesson("vanishing_gradient").spec(0, epochs=3))
    tr.fit()
    return tr


def test_first_layer_gradient_is_torch_autograd_on_the_loss(sigmoid):
    tr = sigmoid
    x, y = tr.x["train"][:512], tr.y["train"][:512]
    tr.model.eval()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(tr.model(x).squeeze(1), y.float())   # one logit
    g1, gout = torch.autograd.grad(loss, [tr.model.dense1.weight, tr.model.out.weight])
    tr.model.train()
    assert lessons.first_layer_gradient(tr) == pytest.approx(float(g1.norm() / gout.norm()), rel=1e-4)
    assert all(p.grad is None for p in tr.model.parameters())   # it leaves no gradient behind


def test_measured_reports_the_bound_and_whether_it_holds(sigmoid):
    m = lessons.measured(lessons.lesson("vanishing_gradient"), 0, sigmoid)
    assert m["measure"] == "first_layer_gradient" and m["at_most"] == 1e-3 and m["at_least"] is None
    assert m["holds"] == (m["value"] <= 1e-3) and m["epoch"] == 3 and m["epochs"] == 30
    w = torch.cat([mod.weight.detach().flatten() for mod in sigmoid.model.modules()
                   if isinstance(mod, torch.nn.Linear)])
    assert lessons.near_zero_weights(sigmoid) == pytest.approx(float((w.abs() < 1e-3).double().mean()))
    known = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))   # 12 + 6 weights, by hand
    with torch.no_grad():
        known[0].weight.fill_(0.5)
        known[1].weight.fill_(-2.0)
        known[0].weight[0, :3] = torch.tensor([0.0, 5e-4, -9e-4])   # three under 1e-3 in size
        known[1].weight[1, 2] = 0.0                                 # and a fourth
    assert lessons.near_zero_weights(types.SimpleNamespace(model=known)) == pytest.approx(4 / 18)
    ev = sigmoid.evaluate
    assert lessons.loss_gap(sigmoid) == pytest.approx(ev("val")["loss"] - ev("train")["loss"])
    bce = torch.nn.functional.binary_cross_entropy_with_logits   # PyTorch's own loss, eval-mode outputs
    with torch.no_grad(), eval_mode(sigmoid.model):
        gap = [bce(sigmoid.model(sigmoid.x[s]).squeeze(1), sigmoid.y[s].float()) for s in ("val", "train")]
    assert lessons.loss_gap(sigmoid) == pytest.approx(float(gap[0] - gap[1]), rel=1e-5)
    acc = lessons.measure(sigmoid, "test_accuracy")
    assert acc == sigmoid.evaluate("test")["accuracy"]
    with pytest.raises(SpecError, match="needs model.embedding"):
        lessons.measure(sigmoid, "recall_at_1")
    with pytest.raises(SpecError, match="allowed: test_accuracy"):
        lessons.measure(sigmoid, "beauty")


@pytest.mark.parametrize("lesson_id", ["sweep", "active_learning"])
def test_lessons_without_another_test_hold_their_claim(lesson_id):
    """Claims no other test asserts (each part's own bound, seed 0; a few seconds each)."""
    lesson = lessons.lesson(lesson_id)
    for i in range(len(lesson.parts)):
        tr = Trainer(lesson.spec(i))
        tr.fit()
        m = lessons.measured(lesson, i, tr)
        assert m["holds"], m
