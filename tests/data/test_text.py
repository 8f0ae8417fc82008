"""Text data: konlpy's Korean texts as package data, the chronological split, the training
vocabulary with its unknown symbol, labelled texts from a CSV, and the errors a user can fix."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from helpers import write_reviews
from nnplay import spec
from nnplay.data import load_data
from nnplay.data.text import PAD, UNK, UNK_TEXT, read_corpus
from nnplay.spec import SpecError


def text_spec(**data) -> spec.Spec:
    return spec.from_dict({"data": {"name": "text", **data}})


def test_corpora_are_read_without_konlpy_or_java():
    """The shipped texts are files of konlpy's wheel: read without importing konlpy (whose
    package imports its Java bridge)."""
    code = ("import sys; from nnplay.data.text import read_corpus; "
            "a, b = read_corpus('constitution'), read_corpus('bills'); "
            "assert 'konlpy' not in sys.modules and 'jpype' not in sys.modules; print(len(a), len(b))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
    assert out.returncode == 0, out.stderr
    n_const, n_bills = map(int, out.stdout.split())
    assert n_const > 18_000 and n_bills > 30_000
    assert read_corpus("constitution").startswith("대한민국헌법")


def test_split_is_chronological_and_every_character_is_one_sample():
    s = text_spec(window=8, train_ratio=0.8, val_ratio=0.1)
    d = load_data(s.data)
    text = read_corpus("constitution")
    v = d.vocabulary
    # the targets of train, val, test, in order, are the text itself (unknown characters as one symbol)
    targets = "".join("".join(v[i] for i in d.split(k)[1]) for k in ("train", "val", "test"))
    assert targets == "".join(c if c in v[2:] else UNK_TEXT for c in text)
    assert len(d.y_train) == int(0.8 * len(text)) - len(d.y_val) and len(d.y_test) == len(text) - int(0.8 * len(text))
    # input i of a part: the 8 characters before target i in the same part, padded at its start
    x, y = d.x_val, d.y_val
    assert x[0].tolist() == [PAD] * 8 and x[3].tolist() == [PAD] * 5 + y[:3].tolist()
    assert x[100].tolist() == y[92:100].tolist()
    assert d.task == "multiclass" and d.num_classes == len(v) and d.x_train.dtype == torch.int64


def test_vocabulary_comes_from_train_with_an_unknown_symbol(tmp_path):
    """Characters seen fewer than twice in the training part (or only later) are the unknown id."""
    f = tmp_path / "t.txt"
    f.write_text("aabab" "ba" "abz", encoding="utf-8")   # train 5, val 2, test 3 characters
    d = load_data(text_spec(path=str(f), window=1, train_ratio=0.7, val_ratio=0.25).data)
    assert d.vocabulary == ["", UNK_TEXT, "a", "b"]
    assert d.y_train.tolist() == [2, 2, 3, 2, 3] and d.y_val.tolist() == [3, 2]
    assert d.y_test.tolist() == [2, 3, UNK] and d.x_test[:, 0].tolist() == [PAD, 2, 3]
    g = tmp_path / "u.txt"
    g.write_text("aaxbb" "ab" "xab", encoding="utf-8")   # x once in train: unknown everywhere
    d = load_data(text_spec(path=str(g), window=1, train_ratio=0.7, val_ratio=0.25).data)
    assert "x" not in d.vocabulary and d.y_train[2] == UNK and d.y_test[0] == UNK


def test_limit_takes_the_start_of_the_text():
    d = load_data(text_spec(window=4, limit=1000, train_ratio=0.8, val_ratio=0.1).data)
    assert len(d.y_train) + len(d.y_val) + len(d.y_test) == 1000


@pytest.mark.parametrize("content", ["", "  \n\t\n"])
def test_empty_text_is_an_error(tmp_path, content):
    f = tmp_path / "empty.txt"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(SpecError, match="the text is empty"):
        load_data(text_spec(path=str(f)).data)


def test_text_shorter_than_the_window_is_an_error(tmp_path):
    f = tmp_path / "short.txt"
    f.write_text("가나다라마바사아자차카타파하" * 3, encoding="utf-8")   # 42 characters
    with pytest.raises(SpecError) as e:
        load_data(text_spec(path=str(f), window=16, train_ratio=0.8, val_ratio=0.1).data)
    msg = e.value.render("en")
    assert "data.window = 16" in msg and "42 characters" in msg and "test 9" in msg
    assert "data.window" in e.value.render("ko") and "너무 짧습니다" in e.value.render("ko")


def test_file_errors(tmp_path):
    with pytest.raises(SpecError, match="file not found"):
        load_data(text_spec(path=str(tmp_path / "nope.txt")).data)
    f = tmp_path / "latin1.txt"
    f.write_bytes("café".encode("latin-1") * 100)
    with pytest.raises(SpecError, match="not UTF-8"):
        load_data(text_spec(path=str(f)).data)


# --- labelled texts from a CSV ---------------------------------------------------------
def csv_spec(path, **data) -> spec.Spec:
    return spec.from_dict({"data": {"name": "csv", "path": str(path), "text": "review", "target": "label",
                                    "window": 24, **data}})


def test_labelled_texts(tmp_path):
    f = write_reviews(tmp_path / "r.csv", n=200)
    d = load_data(csv_spec(f).data)
    assert d.class_names == ["neg", "pos"] and d.task == "binary"
    assert len(d.y_train) + len(d.y_val) + len(d.y_test) == 200
    assert d.x_train.shape[1] == 24 and d.x_train.dtype == torch.int64
    # a text keeps its first 24 characters, padded at the front
    short = tmp_path / "s.csv"
    short.write_text("review,label\n" + "\n".join(f"ab,{i % 2}" for i in range(20)) + "\n", encoding="utf-8")
    d = load_data(csv_spec(short, val_ratio=0).data)
    assert d.x_test[0].tolist() == [PAD] * 22 + [2, 3]


@pytest.mark.parametrize("field, override", [("data.text", {"text": "body"}),
                                             ("data.target", {"target": "stars"})])
def test_unknown_csv_column_names_the_columns(tmp_path, field, override):
    f = write_reviews(tmp_path / "r.csv", n=50)
    with pytest.raises(SpecError) as e:
        load_data(csv_spec(f, **override).data)
    msg = e.value.render("en")
    assert msg.startswith(f"{field}: column") and "columns: review, label" in msg


def test_one_label_is_an_error(tmp_path):
    f = tmp_path / "one.csv"
    f.write_text("review,label\n" + "\n".join(f"text {i},pos" for i in range(30)) + "\n", encoding="utf-8")
    with pytest.raises(SpecError, match="at least two classes"):
        load_data(csv_spec(f).data)


def test_empty_texts_are_an_error(tmp_path):
    f = tmp_path / "blank.csv"
    f.write_text("review,label\n" + "\n".join(f" ,{i % 2}" for i in range(30)) + "\n", encoding="utf-8")
    with pytest.raises(SpecError, match="the text is empty"):
        load_data(csv_spec(f).data)
