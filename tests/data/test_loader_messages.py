"""Issue 15: a loader's error (CSV, IDX, folder, series, text) is worded in English and Korean,
like every other UserError; the CLI's --lang ko and the page's Korean show the Korean one."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import HANGUL
from nnplay.data import load_data
from nnplay.spec import DataSpec, UserError

DATA = Path(__file__).parents[2] / "src" / "nnplay" / "data"


def _csv(tmp_path, text):
    p = tmp_path / "d.csv"
    p.write_text(text)
    return dict(name="csv", path=str(p), target="y")


CASES = {
    "csv fields": lambda tmp: _csv(tmp, "a,b,y\n1,2,0\n3,4\n"),
    "csv not numeric": lambda tmp: _csv(tmp, "a,b,y\n1,x,0\n3,4,1\n"),
    "csv not finite": lambda tmp: _csv(tmp, "a,b,y\n1,nan,0\n3,4,1\n"),
    "csv no target": lambda tmp: {**_csv(tmp, "a,b,c\n1,2,0\n3,4,1\n")},
    "csv missing": lambda tmp: dict(name="csv", path=str(tmp / "none.csv"), target="y"),
    "idx no folder": lambda tmp: dict(name="idx", path=str(tmp / "mnist")),
    "idx bad magic": lambda tmp: (tmp.joinpath("train-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04"),
                                  tmp.joinpath("train-labels-idx1-ubyte").write_bytes(b"\x01\x02\x03\x04"),
                                  dict(name="idx", path=str(tmp)))[-1],
    "folder missing": lambda tmp: dict(name="folder", path=str(tmp / "pics")),
    "resample regression": lambda tmp: dict(name="reg-plane", resample="oversample"),
}


@pytest.mark.parametrize("case", CASES)
def test_loader_errors_are_worded_in_english_and_korean(tmp_path, case):
    with pytest.raises(UserError) as e:
        load_data(DataSpec(**CASES[case](tmp_path)))
    en, ko = e.value.render("en"), e.value.render("ko")
    assert not HANGUL.search(en) and HANGUL.search(ko), (en, ko)


def test_no_loader_raises_an_english_only_message():
    """A message written in the code (``SomeError(f"...")``) has no Korean: loaders use ``.say``."""
    found = [f"{p.name}:{i}" for p in sorted(DATA.glob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"raise \w*(Spec|User|CSV|IDX)Error\(f?[\"']", line)]
    assert not found, found
