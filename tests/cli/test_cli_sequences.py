"""nnplay train / --folds / --resume / report / export on sequence models, and the series
errors (exit 2, one line naming the field, English and Korean)."""
from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch

from helpers import cli, force_torchscript_export, user_error
from nnplay import export as ex
from nnplay import spec
from nnplay.runs import RunStore, load_trained, train_run

SMALL = ['data.name="series"', "data.samples=160", "data.noise=0.1", "data.window=8",
         'model.layers=[{type="lstm", units=6, num_layers=2, dropout=0.2}]', "train.epochs=6",
         "train.batch_size=16", "train.probe_every=2"]


def sets(*items: str) -> list[str]:
    return [a for s in items for a in ("--set", s)]


@pytest.fixture
def series_csv(tmp_path):
    p = tmp_path / "temps.csv"
    rng = np.random.default_rng(0)
    rows = ["month,temp,city"] + [f"{i},{15 + 8 * np.sin(2 * np.pi * i / 12) + rng.normal(0, 0.5):.3f},Seoul"
                                  for i in range(120)]
    p.write_text("\n".join(rows) + "\n")
    return p


def test_train_a_csv_column_and_report(series_csv, tmp_path):
    runs = str(tmp_path / "runs")
    r = cli("train", "--runs-dir", runs, "--json", "-q", *sets(
        'data.name="series"', 'data.series="csv"', f'data.path="{series_csv}"', 'data.target="temp"',
        "data.window=12", "data.horizon=3", "data.period=12", "data.test_steps=24",
        'model.layers=[{type="gru", units=8}]', "train.epochs=5"))
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert {"test_mae", "test_rmse", "test_loss", "baselines"} <= set(s)
    assert set(s["baselines"]) == {"persistence", "seasonal_naive", "ar"}
    assert "baseline" in r.stderr and "test MAE" in r.stderr
    rep = cli("report", s["run_id"], "--runs-dir", runs)
    assert rep.exit_code == 0, rep.output
    assert (tmp_path / "runs" / s["run_id"] / "report" / "forecast.png").exists()


def test_folds_on_a_series_never_train_on_the_future(monkeypatch):
    from nnplay.train import folds as folds_mod
    seen = []
    real = folds_mod.Trainer

    def spy(spec_, data):
        seen.append(data)
        return real(spec_, data=data)
    monkeypatch.setattr(folds_mod, "Trainer", spy)
    res = folds_mod.cross_validate(spec.load(None, SMALL + ["data.horizon=2"]), 3)
    assert res["metric"] == "val_mse" and len(res["per_fold"]) == 3
    base = spec.load(None, SMALL + ["data.horizon=2"])
    from nnplay.data import load_data
    pool = torch.cat([load_data(base.data).x_train, load_data(base.data).x_val])
    for d in seen:   # every training window comes before every validation window, with a gap
        idx = lambda xs: [int(torch.nonzero((pool == x).all(2).all(1))[0]) for x in xs[[0, -1]]]
        assert idx(d.x_train)[1] + 2 <= idx(d.x_val)[0]


def test_resume_of_a_stacked_lstm_equals_an_uninterrupted_run(tmp_path):
    s = spec.load(None, SMALL + ["train.checkpoint_every=1"])
    store = RunStore(tmp_path)
    _, whole = train_run(s, store)

    def stop(rec):
        if rec["epoch"] == 3:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        train_run(s, store, on_epoch=stop)
    cut = next(r["id"] for r in store.list() if r["status"] == "interrupted")
    run, resumed = train_run(s, store, resume=cut)
    assert resumed["test_mae"] == pytest.approx(whole["test_mae"], rel=1e-6)
    assert resumed["baselines"] == whole["baselines"]


def test_export_of_recurrent_models_agrees_with_onnx_runtime(tmp_path, monkeypatch):
    """Dynamo exporter, and TorchScript when dynamo fails: ONNX Runtime within 1e-4 of PyTorch."""
    store = RunStore(tmp_path / "runs")
    run, _ = train_run(spec.load(None, [
        'data.name="adding"', "data.samples=120", "data.length=12", "train.epochs=1",
        'model.layers=[{type="lstm", units=6, bidirectional=true, return_sequences=true}, '
        '{type="conv1d", filters=4, activation="relu"}, {type="gru", units=5, num_layers=2, return_sequences=true}, '
        '{type="rnn", units=3}]']), store)
    tr = load_trained(run)
    x = torch.cat([tr.data.x_train, tr.data.x_test])
    with torch.no_grad():
        ref = tr.model(x).numpy()
    for exporter in ("dynamo", "torchscript"):
        if exporter == "torchscript":
            force_torchscript_export(monkeypatch)
        path = tmp_path / f"{exporter}.onnx"
        res = ex.export_onnx(run, path)
        assert res["exporter"] == exporter and res["max_abs_diff"] < 1e-4
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for batch in (1, 7, len(x)):                   # the batch axis is dynamic
            got = sess.run(None, {"input": x[:batch].numpy()})[0]
            assert np.abs(got - ref[:batch]).max() < 1e-4


@pytest.mark.parametrize("args, en, ko", [
    (['data.name="series"', 'data.series="nile"', "data.window=100"],
     "data.window (100) + data.horizon (1) is longer than the series nile (100 steps)",
     "data.window (100) + data.horizon (1)가 시계열 nile(100 스텝)보다 깁니다"),
    (['data.name="series"', "data.window=0"], "data.window: must be at least 1", "data.window"),
    (['data.name="series"', "data.horizon=500"], "data.horizon: must be at most 100", "data.horizon"),
    (['data.name="adding"', "data.length=5000"], "data.length", "data.length"),
])
def test_series_errors_exit_2(tmp_path, args, en, ko):
    user_error(cli("train", "--runs-dir", str(tmp_path), *sets(*args)), en)
    user_error(cli("train", "--runs-dir", str(tmp_path), "--lang", "ko", *sets(*args)), ko)


def test_csv_series_errors_exit_2(series_csv, tmp_path):
    base = ['data.name="series"', 'data.series="csv"', f'data.path="{series_csv}"']
    user_error(cli("train", "--runs-dir", str(tmp_path), *sets(*base, 'data.target="rain"')),
               "data.target: column 'rain' is not in", "allowed: month, temp, city")
    user_error(cli("train", "--runs-dir", str(tmp_path), *sets(*base, 'data.target="city"')),
               "data.target: column 'city'", "is not a numeric series; line 2: 'Seoul'")
    user_error(cli("train", "--runs-dir", str(tmp_path), "--lang", "ko", *sets(*base, 'data.target="city"')),
               "숫자 시계열이 아닙니다")
    user_error(cli("train", "--runs-dir", str(tmp_path), *sets('data.name="series"', 'data.series="csv"')),
               "data.series = 'csv' needs data.path")


def test_predict_a_series_in_its_own_units(tmp_path):
    """nnplay predict on raw windows (data units) gives the run's test forecasts in data units,
    from the run and from its .onnx file; a CSV is refused with the shape it needs."""
    runs = tmp_path / "runs"
    run, s = train_run(spec.load(None, ['data.name="series"', 'data.series="nile"', "data.window=6",
                                        "data.horizon=2", "data.test_steps=20", "train.epochs=3",
                                        'model.layers=[{type="gru", units=4}]']), RunStore(runs))
    tr = load_trained(run)
    f = tr.data.forecasts
    raw = f.values[f.starts["test"][:, None] - 6 + np.arange(6)][:, :, None]    # (n, 6, 1) in m^3
    np.save(tmp_path / "w.npy", raw)
    want = f.unscale(tr.predict(tr.data.x_test).numpy())
    assert cli("export", run.id, "--out", str(tmp_path / "m.onnx"), "--runs-dir", str(runs)).exit_code == 0
    for source in (run.id, str(tmp_path / "m.onnx")):
        r = cli("predict", source, str(tmp_path / "w.npy"), "--json", "--runs-dir", str(runs))
        assert r.exit_code == 0, r.output
        got = np.array([p["value"] for p in json.loads(r.stdout)["predictions"]])
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-2)
    assert f.scores(got)["mae"] == pytest.approx(s["test_mae"], rel=1e-4)
    (tmp_path / "w.csv").write_text("value\n1\n2\n")
    user_error(cli("predict", run.id, str(tmp_path / "w.csv"), "--runs-dir", str(runs)),
               "this network takes sequences: give a .npy array of shape (N, 6, 1)")
