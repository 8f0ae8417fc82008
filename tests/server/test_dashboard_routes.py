"""The "Runs" view's read-only routes (server/dashboard.py): the index with each run's network,
a run's curves, its report written on first request and served by validated names, the sweeps
with their best trial; hostile ids and names get 4xx and the server goes on serving."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnplay.runs import RunStore, model_label, train_run
from nnplay.spec import load
from nnplay import sweep


@pytest.fixture
def two_runs(client):
    store = RunStore(Path(client.app.state.store_root))
    a, _ = train_run(load(None, ["name=mlp-a", "train.epochs=3", "data.samples=200", "model.hidden=[5]"]), store)
    b, _ = train_run(load(None, ["name=mlp-b", "train.epochs=4", "data.samples=200", "model.hidden=[6, 3]",
                                 "model.activation=relu"]), store)
    return store, a, b


def test_index_rows_carry_the_network_and_the_metrics_of_the_store(client, two_runs):
    store, a, b = two_runs
    res = client.get("/api/dashboard/runs")
    assert res.status_code == 200
    rows = {r["id"]: r for r in res.json()["runs"]}
    assert set(rows) == {a.id, b.id}
    assert rows[a.id]["model"] == "MLP 5 tanh" and rows[b.id]["model"] == "MLP 6-3 relu"
    for run in (a, b):          # the same numbers as the run's own summary.json
        s = json.loads(run.path("summary.json").read_text())
        row = rows[run.id]
        assert row["status"] == "done" and row["epochs"] == s["epochs"]
        assert row["test_loss"] == pytest.approx(s["test_loss"]) and row["test_metric"] == pytest.approx(s["test_accuracy"])
    assert res.json()["sweeps"] == []


def test_curves_are_the_runs_metrics_per_epoch(client, two_runs):
    _, a, _ = two_runs
    body = client.get(f"/api/dashboard/runs/{a.id}/curves").json()
    want = [json.loads(line) for line in a.path("metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in body["epochs"]] == [1, 2, 3]
    for got, rec in zip(body["epochs"], want):
        assert got["train_loss"] == rec["train_loss"] and got["val_accuracy"] == rec["val_accuracy"]
        assert "grad_norm" not in got                   # nested probe records left out


def test_report_is_written_once_and_served_by_name(client, two_runs):
    _, a, _ = two_runs
    page = client.get(f"/api/dashboard/runs/{a.id}/report/en/index.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="curves.png"' in page.text and a.id in page.text
    png = client.get(f"/api/dashboard/runs/{a.id}/report/en/curves.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    stamp = (a.dir / "report" / "en" / "index.html").stat().st_mtime_ns
    assert client.get(f"/api/dashboard/runs/{a.id}/report/en/index.html").status_code == 200
    assert (a.dir / "report" / "en" / "index.html").stat().st_mtime_ns == stamp   # kept, not rewritten
    ko = client.get(f"/api/dashboard/runs/{a.id}/report/ko/index.html")
    assert ko.status_code == 200 and '<html lang="ko">' in ko.text
    assert client.get(f"/api/dashboard/runs/{a.id}/report/en/confusion_none.png").status_code == 404


HOSTILE_IDS = ["..", "%2e%2e", "..%2f..%2fetc", "a%2f..%2f..", ".hidden", "-rf", "x" * 500, "%00",
               "r%0aun", "%E2%80%AE", "run%5c..%5c..", "*", "%20"]
HOSTILE_FILES = ["..%2fspec.toml", "..%2f..%2findex.sqlite", "index.html%00.png", "INDEX.HTML",
                 ".index.html", "a.png.html", "x" * 300 + ".png", "spec.toml", "%2e%2e"]


def test_hostile_ids_and_names_get_4xx_and_the_server_keeps_serving(client, two_runs):
    store, a, _ = two_runs
    secret = store.root / "index.sqlite"
    for bad in HOSTILE_IDS:
        for url in (f"/api/dashboard/runs/{bad}/curves", f"/api/dashboard/runs/{bad}/report/en/index.html"):
            res = client.get(url)
            assert 400 <= res.status_code < 500, (url, res.status_code)
            assert secret.read_bytes()[:16] not in res.content
    for bad in HOSTILE_FILES:
        res = client.get(f"/api/dashboard/runs/{a.id}/report/en/{bad}")
        assert 400 <= res.status_code < 500, (bad, res.status_code)
        assert b"[data]" not in res.content and b"SQLite" not in res.content
    for lang in ("de", "..", "en%2f..", "e" * 40):
        assert 400 <= client.get(f"/api/dashboard/runs/{a.id}/report/{lang}/index.html").status_code < 500
    assert client.get("/api/dashboard/runs/20990101-000000-none-beef/curves").status_code == 404
    assert client.get("/api/info").status_code == 200           # still serving
    assert client.get(f"/api/dashboard/runs/{a.id}/curves").status_code == 200


def test_unfinished_run_has_no_report_409(client):
    store = RunStore(Path(client.app.state.store_root))
    run = store.create(load(None, ["name=half"]))
    res = client.get(f"/api/dashboard/runs/{run.id}/report/en/index.html")
    assert res.status_code == 409 and "no saved model" in res.json()["error"]
    assert client.get(f"/api/dashboard/runs/{run.id}/curves").json()["epochs"] == []


def test_sweeps_are_listed_with_their_best_trial(client):
    pytest.importorskip("optuna")
    store = RunStore(Path(client.app.state.store_root))
    base = load(None, ["name=sw", "train.epochs=2", "data.samples=120", "model.hidden=[3]"])
    sw = sweep.prepare(base, store.root, ["train.lr=[0.001, 0.3]"], [], metric="test_loss")
    result = sweep.run(sw, store)
    got = client.get("/api/dashboard/runs").json()
    assert [s["name"] for s in got["sweeps"]] == ["sw"]
    s = got["sweeps"][0]
    assert s["metric"] == "test_loss" and s["direction"] == "minimize" and s["trials"] == 2
    assert s["best"]["run_id"] == result["best"]["run_id"]       # the sweep module's own best
    assert s["best"]["value"] == pytest.approx(result["best"]["value"])
    assert s["best"]["run_id"] in {r["id"] for r in got["runs"]}
    (store.root / "sweeps" / "junk.sqlite").write_bytes(b"not a database" * 10)   # skipped, not a 500
    with pytest.warns(UserWarning, match="junk.sqlite"):
        again = client.get("/api/dashboard/runs")
    assert again.status_code == 200 and [s["name"] for s in again.json()["sweeps"]] == ["sw"]


def test_model_label_of_a_cnn_names_its_layers():
    spec = load("examples/digits_cnn.toml")
    assert model_label(spec) == "conv2d16 maxpool2d conv2d32 maxpool2d dense64"
