"""The HTTP side: page and assets, i18n, upload, run list and downloads (save over the socket)."""
from __future__ import annotations

import json
import math
import re
import runpy
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

import nnplay
from nnplay.cli import app as cli_app
from nnplay.i18n import messages
from nnplay.server import Limits, create_app
from nnplay.spec import loads

WEB = Path(nnplay.__file__).parent / "web"


def test_page_and_assets_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200 and 'src="/js/main.js"' in page.text
    for ref in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
        assert client.get(ref).status_code == 200, ref
    for js in (WEB / "js").glob("*.js"):    # every module import resolves, nothing from elsewhere
        text = js.read_text().replace('"http://www.w3.org/2000/svg"', "")   # a name, not a fetch
        assert "http://" not in text and "https://" not in text
        for dep in re.findall(r'from "\./([\w.]+)"', text):
            assert client.get(f"/js/{dep}").status_code == 200, (js.name, dep)
    assert "@import" not in (WEB / "css" / "play.css").read_text()


def test_testids_the_tests_rely_on_exist():
    html = (WEB / "index.html").read_text()
    for tid in ("play", "step", "reset", "epoch", "lang", "error", "save", "compare", "mode-2d", "mode-image"):
        assert f'data-testid="{tid}"' in html
    js = "".join(p.read_text() for p in (WEB / "js").glob("*.js"))
    for tid in ("loss-train", "loss-test", "boundary", "upload", "draw", "chart", "feature-maps", "confusion"):
        assert f'"{tid}"' in js or f'id("{tid}")' in js


def test_every_text_the_page_uses_exists_in_both_languages(client):
    en, ko = client.get("/api/i18n/en").json(), client.get("/api/i18n/ko").json()
    assert set(en) == set(ko) and len(en) > 100
    assert en["epoch"] == "Epoch" and ko["epoch"] == "에포크"
    assert en == {k[4:]: v for k, v in messages("en").items() if k.startswith("web.")}
    used = set()
    for p in [WEB / "index.html", *(WEB / "js").glob("*.js")]:
        text = p.read_text()
        used |= set(re.findall(r'data-i18n="([\w.-]+)"', text))
        used |= set(re.findall(r'\bt\("([\w.-]+)"', text))
        used |= {f"help.{k}" for k in re.findall(r'data-help="(\w+)"', text)}
    missing = sorted(k for k in used if k not in en)
    assert not missing, missing
    for key in ("act", "opt", "init", "reg", "schedule", "layer", "data"):   # option labels
        assert any(k.startswith(f"{key}.") for k in en)
    info = client.get("/api/info").json()
    for a in info["options"]["activations"]:
        assert f"act.{a}" in en and f"act.{a}" in ko
    for o in info["options"]["optimizers"]:
        assert f"opt.{o}" in en and f"opt.{o}" in ko
    assert client.get("/api/i18n/fr").status_code == 422


def test_info_lists_the_spec_vocabularies_and_presets(client):
    info = client.get("/api/info").json()
    assert info["options"]["datasets"] == ["circle", "xor", "gauss", "spiral", "moons", "reg-plane", "reg-gauss"]
    assert "adabelief" in info["options"]["optimizers"] and "x1*x2" in info["options"]["features"]
    assert info["presets"]["image"]["data"]["name"] == "digits"
    assert info["presets"]["2d"]["data"]["name"] == "spiral"
    assert info["limits"]["upload_bytes"] == Limits().upload_bytes


def test_upload_two_features_become_points(client):
    csv = "a,b,label\n0,10,cat\n5,20,dog\n10,30,cat\n"
    r = client.post("/api/upload", content=csv, headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] == 3 and body["columns"] == ["a", "b", "label"] and body["target"] == "label"
    assert body["classes"] == ["cat", "dog"]
    # min-max into [-5.4, 5.4]: 0 -> -5.4, 5 -> 0, 10 -> 5.4 (and 10, 20, 30 likewise)
    assert body["data"] == {"name": "points", "points": [[-5.4, -5.4, 0], [0.0, 0.0, 1], [5.4, 5.4, 0]]}


def test_upload_wider_tables_stay_tables_and_train(client, wrap):
    rows = ["x,y,z,t"] + [f"{i},{i % 3},{(i * 7) % 5},{i % 2}" for i in range(40)]
    r = client.post("/api/upload?target=t", content="\n".join(rows), headers={"content-type": "text/csv"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["name"] == "csv" and data["target"] == "t" and Path(data["path"]).is_file()
    with client.websocket_connect("/ws") as ws:
        s = wrap(ws)
        ready = s.start({"data": data})
        assert ready["info"]["mode"] == "table" and ready["info"]["feature_names"] == ["x", "y", "z"]
        header, arrays = s.frame()
        assert "boundary" not in arrays and arrays["weight:dense1"].shape == (8, 3)


@pytest.mark.parametrize("body, status, words", [
    ("x\n1\n", 400, "at least two columns"),
    (b"\xff\xfe\x00bad", 400, "UTF-8"),
    ("a,b,c\n1,x,0\n2,y,1\n", 400, "not numeric"),
    ("a,b,c\n1,2,0\n3,4,0\n", 400, "at least two classes"),
    ('a,b\n"1,2\n', 400, "line 2 has 1 fields"),
    ("\r0", 400, "at least two columns"),            # found by the fuzz test (csv.Error)
    ("a,b\n" + "1,2\n" * 600, 413, "limit of 2000 bytes"),
])
def test_upload_errors(tmp_path, body, status, words):
    from fastapi.testclient import TestClient
    with TestClient(create_app(Limits(upload_bytes=2000), runs_dir=tmp_path, allow_hosts=["testserver"]),
                    headers={"origin": "http://testserver"}) as c:
        r = c.post("/api/upload", content=body, headers={"content-type": "text/csv"})
    assert r.status_code == status and words in r.json()["error"]


def test_save_run_then_list_and_download(client, sock, tmp_path, monkeypatch, capsys):
    ready = sock.start({"data": {"samples": 120}, "model": {"hidden": [5]}})
    sock.send(type="save")
    err = sock.until("error")
    assert err["code"] == "state" and "at least one epoch" in err["message"]
    for _ in range(4):
        sock.send(type="step")
    header, arrays = sock.frame()
    sock.send(type="save", name="my-net")
    saved = sock.until("saved")
    run_id = saved["run_id"]
    assert "my-net" in run_id and saved["summary"]["epochs"] == 4
    assert saved["summary"]["test_loss"] == pytest.approx(header["metrics"]["test_loss"], rel=1e-5)
    listed = client.get("/api/runs").json()["runs"]
    assert listed[0]["id"] == run_id and listed[0]["status"] == "done" and listed[0]["epochs"] == 4
    root = Path(client.app.state.store_root)
    res = CliRunner().invoke(cli_app, ["runs", "--json", "--runs-dir", str(root)])
    assert res.exit_code == 0 and json.loads(res.stdout.splitlines()[-1])["runs"][0]["id"] == run_id
    spec_text = client.get(saved["files"]["spec.toml"]).text
    spec = loads(spec_text)
    assert spec.name == "my-net" and spec.train.epochs == 4 and spec.model.hidden == [5]
    assert spec.data == loads(json_to_toml(ready["spec"])).data
    weights = client.get(saved["files"]["model.safetensors"])
    (tmp_path / "model.safetensors").write_bytes(weights.content)
    (tmp_path / "spec.toml").write_text(spec_text)
    state = load_file(tmp_path / "model.safetensors")
    np.testing.assert_allclose(state["dense1.weight"].numpy(), arrays["weight:dense1"], atol=1e-6)
    snippet = client.get(saved["files"]["snippet.py"]).text
    (tmp_path / "snippet.py").write_text(snippet)
    monkeypatch.chdir(tmp_path)                  # the snippet reads spec.toml and the weights here
    runpy.run_path("snippet.py", run_name="__main__")
    rebuilt = eval(capsys.readouterr().out.strip().splitlines()[-1])     # {'loss': ..., 'accuracy': ...}
    assert rebuilt["loss"] == pytest.approx(header["metrics"]["test_loss"], rel=1e-4)
    assert client.get(f"/api/runs/{run_id}/other.txt").status_code == 422
    r = client.get("/api/runs/nope/spec.toml")
    assert r.status_code == 404 and "unknown run" in r.json()["error"]


def json_to_toml(spec: dict) -> str:
    import tomli_w
    return tomli_w.dumps(spec)


def test_saving_leaves_the_live_schedule_and_name_alone(sock):
    """Saving writes a spec that retrains exactly as long, without touching the session's own
    (before: a cosine schedule rebuilt for the epochs so far sent the lr to 0)."""
    sock.start({"name": "live", "data": {"samples": 120}, "model": {"hidden": [5]},
                "train": {"optimizer": "sgd", "lr": 0.1, "schedule": "cosine", "epochs": 100}})
    for _ in range(10):
        sock.send(type="step")
    before = sock.frame()[0]["metrics"]["lr"]
    sock.send(type="save", name="saved-net")
    assert sock.until("saved")["summary"]["epochs"] == 10
    sock.send(type="step")
    after = sock.frame()[0]["metrics"]["lr"]
    # epoch 11 of 100: 0.1 * (1 + cos(pi * 11 / 100)) / 2, just below epoch 10's
    assert before == pytest.approx(0.1 * (1 + math.cos(math.pi * 10 / 100)) / 2)
    assert after == pytest.approx(0.1 * (1 + math.cos(math.pi * 11 / 100)) / 2)
    sock.send(type="spec", spec={"name": "live", "data": {"samples": 120}, "model": {"hidden": [5]},
                                 "train": {"optimizer": "sgd", "lr": 0.1, "schedule": "cosine",
                                           "epochs": 100}})
    assert sock.until("updated")["spec"]["name"] == "live"   # nothing changed: same spec
