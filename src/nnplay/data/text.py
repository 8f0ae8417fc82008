"""Text as character ids: a character-level language model's windows, and labelled texts.

Characters -> ids from the training part only: 0 is padding (before a text starts), 1 the
unknown symbol (a character seen fewer than MIN_COUNT times in training, so that the model
also learns what to do with characters it has not seen), 2.. the training part's characters
in order of first appearance.

- ``data.name = "text"``: a UTF-8 file (``data.path``) or Korean text shipped in konlpy's wheel
  (``data.corpus``: the constitution, or ten bills), read as package data: no Java, nothing
  downloaded. Split by position (train, validation, test follow each other in the text, never
  shuffled); each character of a part is one sample: input the ``data.window`` characters
  before it in the same part (padded at the start), target the character itself.
  Karpathy, "The Unreasonable Effectiveness of Recurrent Neural Networks" (2015).
- ``data.name = "csv"`` with ``data.text``: one text and one label per row; each text keeps its
  first ``data.window`` characters, padded at the front (a recurrent net ends on real text).
"""
from __future__ import annotations

import csv as _csv
from collections import Counter
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from ..spec import MAX_CLASSES, DataSpec, SpecError, shorten

PAD, UNK = 0, 1
MIN_COUNT = 2          # a training character seen fewer times is the unknown symbol
PAD_TEXT, UNK_TEXT = "", "\ufffd"   # how padding and the unknown symbol print
CORPORA = {            # data.corpus -> files inside konlpy's wheel (konlpy/data/corpus/...)
    "constitution": ["kolaw/constitution.txt"],
    "bills": [f"kobill/{n}.txt" for n in range(1809890, 1809900)],
}


@dataclass
class Vocabulary:
    """Characters <-> ids (see the module docstring)."""
    chars: list[str]               # index = id; chars[0] = PAD_TEXT, chars[1] = UNK_TEXT

    @classmethod
    def fit(cls, texts: list[str] | str) -> "Vocabulary":
        counts = Counter(texts) if isinstance(texts, str) else Counter(c for t in texts for c in t)
        return cls([PAD_TEXT, UNK_TEXT, *(c for c, n in counts.items() if n >= MIN_COUNT)])

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.chars) if i > UNK}
        return np.fromiter((index.get(c, UNK) for c in text), np.int64, len(text))

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def missing(self, text: str) -> list[str]:
        """The characters of ``text`` that have no id of their own, in order, once each."""
        known = set(self.chars[UNK + 1:])
        return list(dict.fromkeys(c for c in text if c not in known))


def read_corpus(name: str) -> str:
    """A Korean text shipped in konlpy's wheel, found through the installed distribution's
    file list (importing konlpy would load its Java bridge, which this does not need)."""
    try:
        dist = metadata.distribution("konlpy")
    except metadata.PackageNotFoundError:
        raise SpecError.say("data.no_konlpy", corpus=name) from None
    parts = []
    for rel in CORPORA[name]:
        path = Path(dist.locate_file(f"konlpy/data/corpus/{rel}"))
        try:
            parts.append(path.read_text(encoding="utf-8"))
        except OSError:
            raise SpecError.say("data.no_konlpy", corpus=name) from None
    return "\n".join(parts)


def read_text(path: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise SpecError.say("data.no_file", path=shorten(path))
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise SpecError.say("data.text_not_utf8", path=shorten(path), byte=e.start) from None


def windows(ids: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Every position of ``ids`` as a sample: (N, window) the ids before it, padded at the
    start; (N,) the id at it."""
    padded = np.concatenate([np.full(window, PAD, np.int64), ids])
    x = np.lib.stride_tricks.sliding_window_view(padded, window)[:len(ids)]   # (N, window), a view
    return x.copy(), ids.copy()


def load_chars(spec: DataSpec) -> tuple[Vocabulary, dict[str, tuple[np.ndarray, np.ndarray]], dict]:
    """``data.name = "text"`` -> (vocabulary, {split: (x, y)}, {split: characters}).
    Raises ``SpecError`` for an empty text or a part shorter than the window."""
    from . import split_sizes
    source = spec.path if spec.path else f"konlpy:{spec.corpus}"
    text = read_text(spec.path) if spec.path else read_corpus(spec.corpus)
    if spec.limit is not None:
        text = text[:spec.limit]
    if not text.strip():
        raise SpecError.say("data.text_empty", source=shorten(source))
    n_train, n_val, n_test = split_sizes(len(text), spec)
    parts = {"train": text[:n_train], "val": text[n_train:n_train + n_val],
             "test": text[n_train + n_val:]}
    short = {k: len(v) for k, v in parts.items() if len(v) <= spec.window and (k != "val" or spec.val_ratio > 0)}
    if short:
        raise SpecError.say("data.text_short", source=shorten(source), n=len(text), window=spec.window,
                            parts=", ".join(f"{k} {v}" for k, v in short.items()))
    vocab = Vocabulary.fit(parts["train"])
    splits = {k: windows(vocab.encode(v), spec.window) for k, v in parts.items()}
    return vocab, splits, {k: len(v) for k, v in parts.items()}


def load_labelled(spec: DataSpec) -> tuple[list[str], list[str]]:
    """``data.name = "csv"`` with ``data.text``: (texts, labels) from the named columns."""
    path = Path(spec.path)
    if not path.is_file():
        raise SpecError.say("data.no_file", path=shorten(str(path)))
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = [r for r in _csv.reader(f) if any(c.strip() for c in r)]
    except (_csv.Error, UnicodeDecodeError) as e:
        raise SpecError.say("data.text_not_csv", path=shorten(str(path)), reason=str(e)[:200]) from None
    if len(rows) < 2:
        raise SpecError.say("data.text_no_rows", path=shorten(str(path)))
    header = [h.strip() for h in rows[0]]
    for field, name in (("data.text", spec.text), ("data.target", spec.target)):
        if name not in header:
            raise SpecError.say("data.no_column", field=field, column=repr(name),
                                path=path.name, columns=", ".join(header))
    ti, yi = header.index(spec.text), header.index(spec.target)
    texts, labels = [], []
    for line, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise SpecError.say("data.text_fields", path=shorten(str(path)), line=line, got=len(r),
                                want=len(header))
        texts.append(r[ti])
        labels.append(r[yi].strip())
    if not any(t.strip() for t in texts):
        raise SpecError.say("data.text_empty", source=shorten(f"{path.name}: {spec.text}"))
    k = len(set(labels))
    if k > MAX_CLASSES:
        raise SpecError.say("data.text_classes", path=path.name, target=repr(spec.target), k=k,
                            most=MAX_CLASSES)
    if k < 2:
        raise SpecError.say("data.csv_one_class", path=path, target=repr(spec.target))
    return texts, labels


def encode_texts(vocab: Vocabulary, texts: list[str], window: int) -> np.ndarray:
    """(N, window) ids: each text's first ``window`` characters, padded at the front."""
    out = np.full((len(texts), window), PAD, np.int64)
    for i, t in enumerate(texts):
        ids = vocab.encode(t[:window])
        if len(ids):
            out[i, window - len(ids):] = ids
    return out


def bundle(spec: DataSpec):
    """The ``DataBundle`` of a text spec (character model, or csv with ``data.text``)."""
    import torch

    from . import DataBundle, _limit, _split, check_splits
    if spec.name == "text":
        vocab, s, _ = load_chars(spec)
        t = {k: (torch.from_numpy(x), torch.from_numpy(y)) for k, (x, y) in s.items()}
        return DataBundle(*t["train"], *t["val"], *t["test"], "multiclass", len(vocab), ["text"],
                          list(vocab.chars), vocabulary=list(vocab.chars))
    texts, labels = load_labelled(spec)
    classes = sorted(set(labels))
    y = np.array([classes.index(v) for v in labels], np.int64)
    n = min(spec.limit or len(y), len(y))
    check_splits(n, len(classes), spec, source=("data.src_file_limit" if spec.limit else "data.src_file",
                                                {"path": repr(spec.path), "n": n}))
    rows, y = _limit(np.arange(len(y))[:, None], y, spec.limit, spec.seed)
    stratify = np.bincount(y).min() >= 2
    (itr, ytr), (iva, yva), (ite, yte) = _split(rows, y, spec, stratify)
    vocab = Vocabulary.fit([texts[i] for i in itr[:, 0]])

    def x(idx):
        return torch.from_numpy(encode_texts(vocab, [texts[i] for i in idx[:, 0]], spec.window))

    k = len(classes)
    return DataBundle(x(itr), torch.from_numpy(ytr), x(iva), torch.from_numpy(yva), x(ite),
                      torch.from_numpy(yte), "binary" if k == 2 else "multiclass", k, [spec.text],
                      classes, vocabulary=list(vocab.chars))
