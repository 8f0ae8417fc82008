"""The spec: defaults, round trips, --set overrides, and errors that name the field."""
from __future__ import annotations

import json
import tomllib

import pytest

from nnplay import spec as S
from nnplay.spec import Spec, SpecError


def error_of(d: dict) -> str:
    with pytest.raises(SpecError) as e:
        S.from_dict(d)
    return str(e.value)


# --- defaults ------------------------------------------------------------------
def test_defaults_are_the_documented_ones():
    s = Spec()
    assert (s.data.name, s.data.samples, s.data.train_ratio, s.data.val_ratio) == ("spiral", 500, 0.5, 0.2)
    assert s.data.features == ["x1", "x2"]
    assert (s.model.hidden, s.model.activation, s.model.init) == ([8, 8], "tanh", "xavier_uniform")
    assert s.model.layers is None and s.model.regularization == "none"
    assert (s.train.optimizer, s.train.lr, s.train.batch_size, s.train.epochs) == ("adam", 0.01, 32, 100)
    assert s.train.early_stopping.patience == 0 and s.train.adversarial.method == "none"
    assert S.load() == s  # no file, no overrides: the defaults


def test_default_lists_are_not_shared_between_specs():
    a, b = Spec(), Spec()
    a.model.hidden.append(3)
    assert b.model.hidden == [8, 8]


# --- round trips -----------------------------------------------------------------
RICH = {
    "name": "round-trip",
    "data": {"name": "circle", "noise": 0.2, "features": ["x1", "x2", "x1*x2", "sin(x1)"], "classes": 3},
    "model": {"init": "he_uniform", "activation": "relu", "dropout": 0.1, "regularization": "l2",
              "reg_rate": 0.001, "label_smoothing": 0.1,
              "layers": [{"type": "dense", "units": 5, "activation": "leaky_relu", "alpha": 0.2},
                         {"type": "batchnorm"}, {"type": "dropout", "rate": 0.3}]},
    "train": {"optimizer": "nesterov", "lr": 0.05, "schedule": "cosine", "epochs": 7,
              "early_stopping": {"patience": 3, "metric": "val_accuracy"}},
}


def test_toml_round_trip_is_exact():
    s = S.from_dict(RICH)
    text = s.to_toml()
    back = S.loads(text)
    assert back == s
    assert back.to_toml() == text
    assert back.model.layers[0].alpha == 0.2 and back.train.early_stopping.metric == "val_accuracy"


def test_json_round_trip_is_exact():
    s = S.from_dict(RICH)
    back = S.from_dict(json.loads(s.to_json()))
    assert back == s
    assert json.loads(s.to_json()) == tomllib.loads(s.to_toml())


def test_load_file_round_trip(tmp_path):
    s = S.from_dict(RICH)
    p = tmp_path / "s.toml"
    p.write_text(s.to_toml())
    assert S.load(p) == s


# --- --set overrides --------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    ("[16, 8]", [16, 8]), ("0.1", 0.1), ("1e-3", 0.001), ("7", 7), ("true", True), ("false", False),
    ("relu", "relu"), ('"relu"', "relu"), ("x1*x2", "x1*x2"), ('["x1", "x1^2"]', ["x1", "x1^2"]),
])
def test_set_values_are_parsed_as_toml_or_bare_strings(text, value):
    got = S.parse_value(text)
    assert got == value and type(got) is type(value)


def test_overrides_apply_in_order_defaults_file_set(tmp_path):
    p = tmp_path / "spec.toml"
    p.write_text('[train]\nlr = 0.5\nepochs = 3\n[model]\nhidden = [4]\n')
    s = S.load(p, ["train.lr=0.2", "model.activation=relu", "train.lr=0.3", "data.name=xor"])
    assert s.train.lr == 0.3                 # the last --set wins
    assert s.train.epochs == 3               # the file beats the default (100)
    assert s.model.hidden == [4]
    assert s.model.activation == "relu" and s.data.name == "xor"
    assert s.train.batch_size == 32          # untouched default


def test_override_creates_nested_sections():
    d = S.apply_overrides({}, ["train.early_stopping.patience=4"])
    assert d == {"train": {"early_stopping": {"patience": 4}}}
    src = {"train": {"lr": 1.0}}
    S.apply_overrides(src, ["train.lr=2"])
    assert src == {"train": {"lr": 1.0}}     # the input dict is copied, not changed


@pytest.mark.parametrize("bad", ["train.lr", "=3", "  =x"])
def test_override_without_key_value_is_rejected(bad):
    with pytest.raises(SpecError, match="key=value"):
        S.apply_overrides({}, [bad])


def test_override_into_a_value_is_rejected():
    with pytest.raises(SpecError, match="not a section"):
        S.apply_overrides({"train": {"lr": 0.1}}, ["train.lr.x=1"])


# --- unknown keys -------------------------------------------------------------------
@pytest.mark.parametrize("d, where, allowed", [
    ({"trian": {}}, "trian", ["data", "model", "train"]),
    ({"train": {"lrr": 1}}, "train.lrr", ["optimizer", "lr", "batch_size"]),
    ({"data": {"nosie": 0.1}}, "data.nosie", ["noise", "samples", "features"]),
    ({"train": {"early_stopping": {"wait": 3}}}, "train.early_stopping.wait", ["patience", "min_delta"]),
    ({"model": {"layers": [{"type": "dense", "units": 3, "size": 3}]}}, "model.layers[0].size",
     ["units", "filters", "kernel", "stride"]),
])
def test_unknown_keys_name_the_allowed_keys(d, where, allowed):
    msg = error_of(d)
    assert where in msg and "unknown key" in msg
    for key in allowed:
        assert key in msg
    assert "None" not in msg


# --- bad values name the field and the allowed values ----------------------------------------
@pytest.mark.parametrize("d, field, allowed", [
    ({"train": {"optimizer": "adamax"}}, "train.optimizer",
     ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "radam", "adabound", "adabelief"]),
    ({"model": {"activation": "swish"}}, "model.activation",
     ["step", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "prelu", "crelu", "gelu", "softmax"]),
    ({"model": {"init": "orthogonal"}}, "model.init",
     ["xavier_normal", "xavier_uniform", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "zeros"]),
    ({"model": {"layers": [{"type": "attention"}]}}, "model.layers[0].type",
     ["dense", "conv2d", "maxpool2d", "avgpool2d", "flatten", "dropout", "batchnorm", "layernorm", "lstm", "gru", "conv1d"]),
    ({"data": {"name": "mnist"}}, "data.name", ["circle", "xor", "digits", "idx", "csv", "points"]),
    ({"data": {"features": ["x1", "x3"]}}, "data.features", ["x1^2", "x1*x2", "sin(x2)"]),
    ({"train": {"schedule": "linear"}}, "train.schedule", ["none", "step", "cosine", "onecycle"]),
    ({"model": {"regularization": "l3"}}, "model.regularization", ["none", "l1", "l2"]),
])
def test_bad_choice_names_field_and_allowed_values(d, field, allowed):
    msg = error_of(d)
    assert field in msg
    for a in allowed:
        assert a in msg
    assert "received" in msg


@pytest.mark.parametrize("d, field, bound", [
    ({"train": {"lr": -0.1}}, "train.lr", "greater than 0"),
    ({"train": {"lr": 0}}, "train.lr", "greater than 0"),
    ({"data": {"train_ratio": 1.5}}, "data.train_ratio", "less than 1"),
    ({"data": {"train_ratio": 0}}, "data.train_ratio", "greater than 0"),
    ({"data": {"val_ratio": 1.0}}, "data.val_ratio", "less than 1"),
    ({"data": {"val_ratio": -0.1}}, "data.val_ratio", "at least 0"),
    ({"data": {"noise": 2}}, "data.noise", "at most 1"),
    ({"model": {"dropout": 1.0}}, "model.dropout", "less than 1"),
    ({"model": {"hidden": [8, 0]}}, "model.hidden[1]", "at least 1"),
    ({"train": {"batch_size": 0}}, "train.batch_size", "at least 1"),
])
def test_out_of_range_values_name_field_and_bound(d, field, bound):
    msg = error_of(d)
    assert field in msg and bound in msg and "received" in msg


def test_wrong_type_names_field():
    msg = error_of({"train": {"epochs": "many"}})
    assert "train.epochs" in msg and "'many'" in msg


@pytest.mark.parametrize("d, text", [
    ({"model": {"layers": [{"type": "dense"}]}}, "units"),
    ({"model": {"layers": [{"type": "conv2d"}]}}, "filters"),
    ({"model": {"layers": [{"type": "activation"}]}}, "activation"),
    ({"data": {"name": "csv", "path": "x.csv"}}, "data.target"),
    ({"data": {"name": "idx"}}, "data.path"),
    ({"data": {"name": "points"}}, "data.points"),
    ({"data": {"features": []}}, "data.features"),
])
def test_cross_field_requirements(d, text):
    assert text in error_of(d)


def test_several_errors_are_all_reported():
    msg = error_of({"train": {"optimizer": "x", "lr": -1}})
    assert "train.optimizer" in msg and "train.lr" in msg


# --- aliases ---------------------------------------------------------------------------
@pytest.mark.parametrize("alias, canonical", [
    ("he", "he_normal"), ("kaiming", "he_normal"), ("xavier", "xavier_normal"),
    ("glorot", "xavier_normal"), ("lecun", "lecun_normal"),
])
def test_init_aliases(alias, canonical):
    s = S.from_dict({"model": {"init": alias, "layers": [{"type": "dense", "units": 2, "init": alias}]}})
    assert s.model.init == canonical and s.model.layers[0].init == canonical


def test_feature_aliases():
    s = S.from_dict({"data": {"features": ["x1x2", "x1**2", "x2x2", "sinx1", "sin x2", "x1"]}})
    assert s.data.features == ["x1*x2", "x1^2", "x2^2", "sin(x1)", "sin(x2)", "x1"]
    assert S.loads(s.to_toml()).data.features == s.data.features


# --- files -----------------------------------------------------------------------------
def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        S.load(tmp_path / "nope.toml")


def test_malformed_toml(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[train\nlr = 0.1\n")
    with pytest.raises(SpecError, match="malformed TOML"):
        S.load(p)
    with pytest.raises(SpecError, match="malformed TOML"):
        S.loads("lr = = 1")


def test_validate_assignment():
    s = Spec()
    with pytest.raises(Exception):
        s.train.lr = -1


@pytest.mark.parametrize("d, english, korean", [
    ({"train": {"batch_size": 0}}, "train.batch_size: must be at least 1 (received: 0)",
     "train.batch_size: 1 이상이어야 합니다 (받은 값: 0)"),
    ({"train": {"lr": 0}}, "train.lr: must be greater than 0", "train.lr: 0보다 커야 합니다"),
    ({"model": {"activation": "relu6"}}, "must be one of: step, linear", "다음 중 하나여야 합니다: step, linear"),
    ({"train": {"optimiser": "sgd"}}, "train.optimiser: unknown key; allowed keys: optimizer",
     "train.optimiser: 알 수 없는 키입니다. 쓸 수 있는 키: optimizer"),
    ({"train": {"epochs": "many"}}, "train.epochs: must be a whole number", "train.epochs: 정수여야 합니다"),
    ({"train": {"compile": "maybe"}}, "train.compile: must be true or false", "train.compile: true 또는 false여야 합니다"),
])
def test_errors_are_worded_in_english_and_korean(d, english, korean):
    with pytest.raises(SpecError) as info:
        S.from_dict(d)
    e = info.value
    assert english in str(e) and str(e) == e.render("en")
    ko = e.render("ko")
    assert ko.startswith("잘못된 명세입니다.") and korean in ko


# --- inputs that once crashed the loader (found by tests/test_fuzz_spec.py) ------------------------
def test_a_spec_file_that_is_not_utf8(tmp_path):
    p = tmp_path / "latin.toml"
    p.write_bytes('name = "café"\n'.encode("latin-1"))
    with pytest.raises(SpecError, match=r"latin.toml: not a UTF-8 text file \(byte 11: invalid"):
        S.load(p)


@pytest.mark.parametrize("text", ["a = " + "[" * 1000 + "]" * 1000, "a = " + "{b=" * 1000 + "1" + "}" * 1000,
                                  "x = " + "[" * 20 + "]" * 20])
def test_toml_nested_too_deep_in_a_file_or_a_set(tmp_path, text):
    p = tmp_path / "deep.toml"
    p.write_text(text)
    for call in (lambda: S.load(p), lambda: S.loads(text), lambda: S.load(None, [text.replace(" ", "")])):
        with pytest.raises(SpecError, match="nest more than 16 levels deep") as e:
            call()
        assert "\n" not in str(e.value)


def test_nesting_checked_without_recursion_in_from_dict():
    d: object = 1
    for _ in range(100_000):          # far past Python's recursion limit
        d = {"a": d}
    with pytest.raises(SpecError, match="nest more than 16"):
        S.from_dict({"model": d})
    with pytest.raises(SpecError, match="a spec must be a table"):
        S.from_dict([1, 2])


@pytest.mark.parametrize("value", [{"a": 1}, [1], ["he"], 3])
def test_init_given_a_table_or_a_list(value):
    for d in ({"model": {"init": value}}, {"model": {"layers": [{"type": "dense", "units": 2, "init": value}]}}):
        msg = error_of(d)
        assert "init: must be one of" in msg and "he_normal" in msg


@pytest.mark.parametrize("field, value, text", [
    ("data.seed", -1, "data.seed: must be at least 0 (received: -1)"),
    ("data.seed", 2**32, "data.seed: must be at most 4294967295 (received: 4294967296)"),
    ("data.seed", 2**64, "data.seed: must be at most 4294967295"),
    ("train.seed", 2**64, "train.seed: must be at most 9223372036854775807 (received: 18446744073709551616)"),
    ("train.seed", -5, "train.seed: must be at least 0"),
])
def test_seeds_bounded_to_what_numpy_and_torch_take(field, value, text):
    sec, key = field.split(".")
    assert text in error_of({sec: {key: value}})


def test_largest_seeds_work():
    from nnplay.data import load_data
    s = S.from_dict({"data": {"seed": 2**32 - 1, "samples": 40}, "train": {"seed": 2**63 - 1}})
    assert len(load_data(s.data).x_train) > 0
    import torch
    torch.manual_seed(s.train.seed)
    torch.Generator().manual_seed(s.train.seed)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_are_rejected_naming_the_field(value):
    msg = error_of({"train": {"early_stopping": {"min_delta": value}}})
    assert "train.early_stopping.min_delta: must be a finite number" in msg
    ko = pytest.raises(SpecError, S.from_dict, {"train": {"lr": value}}).value.render("ko")
    assert "train.lr" in ko and ("유한한 숫자" in ko or "보다" in ko)


def test_a_section_replaced_by_a_scalar():
    msg = error_of({"data": 1})
    assert "data: must be a table" in msg and "samples" in msg and "received: 1" in msg
    with pytest.raises(SpecError) as e:
        S.load(None, ["train=0.1"])
    assert "train: 테이블" in e.value.render("ko") and "optimizer" in e.value.render("ko")


@pytest.mark.parametrize("bad", ["a..b=1", ".lr=1", "train.=1", "train. .lr=1"])
def test_override_with_an_empty_key_part(bad):
    with pytest.raises(SpecError, match="joined by single dots"):
        S.apply_overrides({}, [bad])


def test_long_values_and_odd_keys_keep_the_message_one_short_line():
    msg = error_of({"train": {"epochs": "x" * 100_000, "a\nb": 1}})
    assert "\n" not in msg and len(msg) < 1000
    assert "train.epochs" in msg and "train['a\\nb']: unknown key" in msg


def test_many_problems_are_counted_not_all_listed():
    msg = error_of({"data": {"points": [["x", 0, 0]] * 1000, "name": "points"}})
    assert msg.count("data.points[") == 5 and "and 995 more problem(s)" in msg
    with pytest.raises(SpecError) as e:
        S.from_dict({"data": {"points": [["x", 0, 0]] * 10}})
    assert "문제 5개" in e.value.render("ko")


def test_live_fields_are_marked_once_in_the_spec_and_read_by_trainer_and_server():
    """One source for what changes while training: the spec's LIVE mark, in its JSON schema too;
    the Trainer's set is the spec's (the server asks the Trainer), and each one is applied live."""
    from nnplay.train import Trainer
    from nnplay.spec import ModelSpec, Spec, TrainSpec, live_fields
    train, model = live_fields(TrainSpec), live_fields(ModelSpec)
    assert {"lr", "optimizer", "batch_size", "schedule", "step_size", "gamma", "compile"} <= train
    assert not {"seed", "device", "amp", "class_weights", "adversarial"} & train
    assert model == {"regularization", "reg_rate", "label_smoothing"}
    props = Spec.model_json_schema()["$defs"]
    assert {n for n, p in props["TrainSpec"]["properties"].items() if p.get("live")} == train
    tr = Trainer(Spec.model_validate({"data": {"name": "gauss", "samples": 100}}))
    old = tr.spec
    for name in sorted(train):
        value = {"lr": 0.5, "optimizer": "sgd", "batch_size": 8, "schedule": "step", "step_size": 3,
                 "gamma": 0.5, "compile": True, "momentum": 0.5, "weight_decay": 0.1, "epochs": 7,
                 "probe_every": 2, "checkpoint_every": 3,
                 "early_stopping": {"patience": 2}, "gan": {"d_steps": 3}}[name]
        d = old.to_dict()
        new = Spec.model_validate({**d, "train": {**d["train"], name: value}})
        assert tr.diff(new).applied, name
    assert not tr.diff(old.model_copy(update={"train": old.train.model_copy(update={"seed": 1})})).applied


def test_a_layer_keeps_only_its_own_fields():
    """A conv2d block has no dropout rate, a flatten no kernel (issue 9: the playground's
    "add block" used to fill every block with every other block's defaults)."""
    s = S.from_dict({"model": {"layers": [
        {"type": "conv2d", "filters": 4}, {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
        {"type": "dense", "units": 8, "activation": "leaky_relu", "alpha": 0.2},
        {"type": "dense", "units": 8, "activation": "relu"}, {"type": "dropout"}]}})
    layers = s.to_dict()["model"]["layers"]
    assert layers == [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"},
                      {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
                      {"type": "dense", "units": 8, "activation": "leaky_relu", "alpha": 0.2},
                      {"type": "dense", "units": 8, "activation": "relu"}, {"type": "dropout", "rate": 0.5}]
    assert S.loads(s.to_toml()) == s and S.from_dict(json.loads(s.to_json())) == s
