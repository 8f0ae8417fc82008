"""Transfer learning: --from loads layers whose name and shape match; model.freeze fixes layers
(no gradient, no optimizer state, batch-norm statistics frozen too)."""
from __future__ import annotations

import json

import pytest
import torch

from helpers import cli, user_error
from nnplay import spec
from nnplay.model.transfer import frozen_names, load_matching
from nnplay.spec import SpecError
from nnplay.train import Trainer

CNN = ['data.name="digits"', "data.limit=400", "model.activation=relu", "train.epochs=3",
       "train.probe_every=0",
       'model.layers=[{type="conv2d",filters=4},{type="batchnorm"},{type="maxpool2d",kernel=2},'
       '{type="flatten"},{type="dense",units=16}]']


def test_freeze_features_fixes_weights_and_batchnorm_statistics():
    tr = Trainer(spec.load(None, CNN + ['model.freeze=["features"]']))
    assert tr.frozen == ["conv1", "bn1"]            # every layer before dense1 that holds state
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    tr.fit()
    after = tr.model.state_dict()
    for k in before:
        fixed = k.startswith(("conv1.", "bn1."))
        same = torch.equal(before[k], after[k])
        assert same == fixed, f"{k}: {'moved' if fixed else 'did not move'}"   # running stats too
    frozen_params = {id(p) for n in ("conv1", "bn1") for p in tr.model.get_submodule(n).parameters()}
    assert all(p.grad is None for n in ("conv1", "bn1") for p in tr.model.get_submodule(n).parameters())
    in_optimizer = {id(p) for g in tr.optimizer.param_groups for p in g["params"]}
    assert not frozen_params & in_optimizer                       # no optimizer state for them
    assert not frozen_params & {id(p) for p in tr.optimizer.state}
    tr.model.train()
    assert not tr.model.bn1.training and tr.model.dense1.training  # BN stays in eval mode


def test_load_matching_keeps_a_new_head_for_other_classes():
    src = Trainer(spec.load(None, CNN))
    src.fit()
    tr = Trainer(spec.load(None, CNN + ["data.keep_classes=[0,1,2]", "train.seed=5"]))
    fresh_out = tr.model.out.weight.clone()
    loaded, kept = load_matching(tr.model, src.model.state_dict())
    assert loaded == ["conv1", "bn1", "dense1"] and kept == ["out"]   # 10 -> 3 classes
    assert torch.equal(tr.model.conv1.weight, src.model.conv1.weight)
    assert torch.equal(tr.model.bn1.running_mean, src.model.bn1.running_mean)
    assert torch.equal(tr.model.out.weight, fresh_out)


def test_freeze_names_are_checked():
    model = Trainer(spec.load(None, CNN)).model
    assert frozen_names(model, ["conv1"]) == ["conv1"]
    with pytest.raises(SpecError, match="no layer 'conv9'.*allowed: features, conv1"):
        Trainer(spec.load(None, CNN + ['model.freeze=["conv9"]']))
    with pytest.raises(SpecError, match="'out' cannot be frozen"):
        Trainer(spec.load(None, CNN + ['model.freeze=["out"]']))


def _last_json(result) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cli_from_run_reports_loaded_and_frozen_layers(tmp_path):
    sets = [a for s in CNN for a in ("--set", s)]
    src = cli("train", *sets, "--json", "-q")
    assert src.exit_code == 0, src.output
    run_id = _last_json(src)["run_id"]
    r = cli("train", *sets, "--set", "data.keep_classes=[7,8,9]", "--set", 'model.freeze=["features"]',
            "--from", run_id, "--json", "-q")
    assert r.exit_code == 0, r.output
    s = _last_json(r)
    assert s["transfer"] == {"from": run_id, "loaded": ["conv1", "bn1", "dense1"], "kept": ["out"],
                             "frozen": ["conv1", "bn1"]}
    assert s["frozen"] == ["conv1", "bn1"]
    assert "loaded conv1, bn1, dense1" in r.stderr
    page = cli("report", s["run_id"], "--out", str(tmp_path / "rep"))
    assert page.exit_code == 0, page.output
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "layers frozen</th><td>conv1, bn1" in html and run_id in html

    # a run whose layers fit none of this network's: exit 2, naming both
    mlp = cli("train", "--set", "train.epochs=1", "--json", "-q")
    other = _last_json(mlp)["run_id"]
    user_error(cli("train", *sets, "--from", other), "none of its layers fit", "dense1 8x2", "conv1 4x1x3x3")
    user_error(cli("train", *sets, "--from", other, "--lang", "ko"), "이 신경망에 맞는 층이 하나도 없습니다")
    # a frozen layer the run cannot fill (conv1 has 6 filters here, 4 there)
    wider = [s.replace("filters=4", "filters=6") for s in sets]
    user_error(cli("train", *wider, "--set", 'model.freeze=["conv1"]', "--from", run_id),
               "model.freeze fixes conv1")
    user_error(cli("train", *sets, "--from", run_id, "--folds", "2"), "--from starts a new run")
    user_error(cli("train", *sets, "--from", "no-such-run"), "no-such-run")
