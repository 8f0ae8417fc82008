"""Uploads: non-finite numbers are a clear 400, and the uploads folder has a quota and a
clean-up (old files at start-up; the oldest first when the quota is hit; files open
sessions train on are kept, and when only those are left the answer is 507)."""
from __future__ import annotations

import os
import time

import pytest
from fastapi.testclient import TestClient

from nnplay.server import Limits, create_app


def _client(tmp_path, **limits) -> TestClient:
    app = create_app(Limits(**limits), runs_dir=tmp_path / "runs", allow_hosts=["testserver"])
    return TestClient(app, headers={"origin": "http://testserver"})


def _table(seed: int, rows: int = 100) -> str:
    """A 3-feature regression table (kept on the server as a file), 1000 to 2000 bytes."""
    return "\n".join(["x,y,z,t"] + [f"{i},{(i * seed) % 7},{seed},{i * 0.5 + seed}" for i in range(rows)])


def _post(c, body, target=None):
    return c.post("/api/upload" + (f"?target={target}" if target else ""), content=body,
                  headers={"content-type": "text/csv"})


@pytest.mark.parametrize("body, words", [
    ("a,b,c\n1,nan,0\n3,4,1\n5,6,0\n", "column 'b', line 2: 'nan'"),
    ("a,b,c\n1,2,0\n3,4,1\n-inf,6,0\n", "column 'a', line 4: '-inf'"),
    ("a,b,c\n1,2,0\n\n3,1e39,1\n", "column 'b', line 4: '1e39'"),   # beyond float32
    ("a,b,c,d\n1,2,3,0.5\n3,4,5,inf\n5,6,7,2.5\n", "target 'd', line 3"),                 # regression target
])
def test_non_finite_numbers_are_a_clear_400(tmp_path, body, words):
    with _client(tmp_path) as c:
        r = _post(c, body)
    assert r.status_code == 400, r.text
    assert words in r.json()["error"] and "finite" in r.json()["error"]
    assert not list((tmp_path / "runs" / "uploads").iterdir())    # a refused file is not kept


def test_points_uploads_leave_no_file(tmp_path):
    with _client(tmp_path) as c:
        assert _post(c, "a,b,c\n0,1,0\n1,0,1\n2,2,0\n").json()["data"]["name"] == "points"
    assert not list((tmp_path / "runs" / "uploads").iterdir())


def test_more_classes_than_the_spec_allows_are_a_clear_400(tmp_path):
    rows = "\n".join(["a,b,c"] + [f"{i},{i % 5},k{i}" for i in range(30)])   # 30 classes > 10
    with _client(tmp_path) as c:
        r = _post(c, rows)
    assert r.status_code == 400 and "10" in r.json()["error"], r.text


def test_the_quota_deletes_the_oldest_uploads_first(tmp_path):
    uploads = tmp_path / "runs" / "uploads"
    with _client(tmp_path, upload_bytes=2000, uploads_bytes=5000) as c:
        names, sizes = [], []
        for seed in range(1, 9):
            body = _table(seed)
            assert 1000 < len(body) < 2000
            r = _post(c, body, "t")
            assert r.status_code == 200, r.text
            names.append(os.path.basename(r.json()["data"]["path"]))
            sizes.append(len(body))
            total = sum(f.stat().st_size for f in uploads.iterdir())
            assert total <= 5000
            os.utime(uploads / names[-1], (time.time() - 100 + seed, time.time() - 100 + seed))
        newest, room = 0, 5000                       # the newest files that fit, as many as fit
        while sizes[-1 - newest] <= room:
            room -= sizes[-1 - newest]
            newest += 1
        assert 2 <= newest < 8                       # some went, the newest stayed
        assert sorted(f.name for f in uploads.iterdir()) == sorted(names[-newest:])


def test_files_open_sessions_use_are_kept_and_a_full_folder_is_507(tmp_path, wrap):
    uploads = tmp_path / "runs" / "uploads"
    with _client(tmp_path, upload_bytes=2000, uploads_bytes=2000) as c:
        data = _post(c, _table(1), "t").json()["data"]
        with c.websocket_connect("/ws") as ws:
            wrap(ws).start({"data": data, "model": {"hidden": [3]}})
            r = _post(c, _table(2), "t")                 # no room without the file being trained on
            assert r.status_code == 507 and "uploads folder is full" in r.json()["error"]
            assert [f.name for f in uploads.iterdir()] == [os.path.basename(data["path"])]
        r = _post(c, _table(2), "t")                     # the session closed: its file may go
        assert r.status_code == 200, r.text
        assert [f.name for f in uploads.iterdir()] == [os.path.basename(r.json()["data"]["path"])]


def test_old_uploads_are_deleted_at_start_up(tmp_path):
    uploads = tmp_path / "runs" / "uploads"
    uploads.mkdir(parents=True)
    old, fresh = uploads / "old.csv", uploads / "fresh.csv"
    old.write_text("a,b\n1,2\n")
    fresh.write_text("a,b\n1,2\n")
    os.utime(old, (time.time() - 3 * 3600, time.time() - 3 * 3600))
    with _client(tmp_path, upload_hours=2):
        pass
    assert not old.exists() and fresh.exists()


def test_the_quota_must_hold_one_upload():
    with pytest.raises(ValueError, match="uploads_bytes"):
        Limits(upload_bytes=2000, uploads_bytes=1000)


def test_a_bad_upload_names_the_users_file_not_the_servers_copy(tmp_path):
    """Issue 15: the error said '.../uploads/<hash>.csv: line 3 ...'; the page shows the user's file."""
    body = "a,b,c\n1,2,0\n3,4\n5,6,1\n"                    # line 3 has 2 fields
    with _client(tmp_path) as c:
        en = c.post("/api/upload?name=flowers.csv", content=body, headers={"content-type": "text/csv"})
        ko = c.post("/api/upload?name=flowers.csv&lang=ko", content=body, headers={"content-type": "text/csv"})
    assert en.status_code == ko.status_code == 400
    assert en.json()["error"] == "flowers.csv: line 3 has 2 fields, the header has 3"
    assert ko.json()["error"].startswith("flowers.csv: 3번째 줄") and "uploads" not in ko.json()["error"]
