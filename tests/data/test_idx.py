"""MNIST-format IDX files written by hand with struct, raw and gzipped."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from nnplay.data import idx, load_data
from nnplay.spec import DataSpec, SpecError

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (20, 4, 5), dtype=np.uint8)
LABELS = (np.arange(20) % 3).astype(np.uint8)


def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    head = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}i", *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(folder, name, arr, gz=False, code=0x08):
    data = idx_bytes(arr, code)
    path = folder / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_values(tmp_path, gz):
    p = write(tmp_path, "train-images-idx3-ubyte", IMAGES, gz)
    got = idx.read_idx(p)
    assert got.shape == (20, 4, 5) and np.array_equal(got, IMAGES)


def test_read_other_dtypes(tmp_path):
    a = np.array([[1.5, -2.25], [1e3, 0.0]], dtype=np.float32)
    p = tmp_path / "f.idx"
    p.write_bytes(idx_bytes(a, 0x0D))
    assert np.array_equal(idx.read_idx(p), a)
    b = np.array([-5, 7, 300], dtype=np.int32)
    p.write_bytes(idx_bytes(b, 0x0C))
    assert idx.read_idx(p).tolist() == [-5, 7, 300]


@pytest.mark.parametrize("gz", [False, True])
def test_load_folder_train_and_test(tmp_path, gz):
    write(tmp_path, "train-images-idx3-ubyte", IMAGES, gz)
    write(tmp_path, "train-labels-idx1-ubyte", LABELS, gz)
    write(tmp_path, "t10k-images-idx3-ubyte", IMAGES[:6], gz)
    write(tmp_path, "t10k-labels-idx1-ubyte", LABELS[:6], gz)
    parts = idx.load(tmp_path)
    X, y = parts["train"]
    assert X.shape == (20, 1, 4, 5) and X.dtype == np.float32
    np.testing.assert_allclose(X[:, 0], IMAGES / 255.0, rtol=1e-6)
    assert y.tolist() == LABELS.tolist() and parts["test"][0].shape == (6, 1, 4, 5)


def test_bundle_keeps_the_files_test_split(tmp_path):
    write(tmp_path, "train-images-idx3-ubyte", IMAGES)
    write(tmp_path, "train-labels-idx1-ubyte", LABELS)
    write(tmp_path, "t10k-images-idx3-ubyte", IMAGES[:6])
    write(tmp_path, "t10k-labels-idx1-ubyte", LABELS[:6])
    b = load_data(DataSpec(name="idx", path=str(tmp_path), val_ratio=0.25))
    assert (len(b.x_train), len(b.x_val), len(b.x_test)) == (15, 5, 6)
    np.testing.assert_allclose(b.x_test[:, 0].numpy(), IMAGES[:6] / 255.0, rtol=1e-6)
    assert b.task == "multiclass" and b.num_classes == 3 and b.input_shape == (1, 4, 5)


def test_bad_magic_names_the_file(tmp_path):
    write(tmp_path, "train-labels-idx1-ubyte", LABELS)
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x1f\x8b" + idx_bytes(IMAGES)[2:])
    with pytest.raises(SpecError, match="bad magic") as e:
        load_data(DataSpec(name="idx", path=str(tmp_path)))
    assert "train-images-idx3-ubyte" in str(e.value)


def test_wrong_length_names_the_file(tmp_path):
    write(tmp_path, "train-images-idx3-ubyte", IMAGES)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(LABELS)[:-3])
    with pytest.raises(SpecError) as e:
        load_data(DataSpec(name="idx", path=str(tmp_path)))
    assert "train-labels-idx1-ubyte" in str(e.value) and "17" in str(e.value)


def test_images_and_labels_that_disagree(tmp_path):
    write(tmp_path, "train-images-idx3-ubyte", IMAGES)
    write(tmp_path, "train-labels-idx1-ubyte", LABELS[:7])
    with pytest.raises(SpecError, match="do not match"):
        load_data(DataSpec(name="idx", path=str(tmp_path)))


def test_missing_folder_and_missing_files(tmp_path):
    with pytest.raises(SpecError, match="data.path: folder not found"):
        load_data(DataSpec(name="idx", path=str(tmp_path / "nope")))
    with pytest.raises(SpecError, match="train-images-idx3-ubyte"):
        load_data(DataSpec(name="idx", path=str(tmp_path)))


# --- files that once crashed the loader -----------------------------------------------------------
def test_labels_outside_0_to_9(tmp_path):
    write(tmp_path, "train-images-idx3-ubyte", IMAGES)
    write(tmp_path, "train-labels-idx1-ubyte", np.r_[LABELS[:-1], [200]].astype(np.uint8))
    with pytest.raises(SpecError, match="labels must be whole numbers from 0 to 9 .*found 200"):
        load_data(DataSpec(name="idx", path=str(tmp_path)))


def test_float_labels(tmp_path):
    write(tmp_path, "train-images-idx3-ubyte", IMAGES)
    write(tmp_path, "train-labels-idx1-ubyte", np.arange(20) * 0.5, code=0x0E)
    with pytest.raises(SpecError, match="found 0.5"):
        load_data(DataSpec(name="idx", path=str(tmp_path)))


def test_non_finite_images(tmp_path):
    write(tmp_path, "train-images-idx3-ubyte", np.where(IMAGES > 250, np.inf, 1.0), code=0x0E)
    write(tmp_path, "train-labels-idx1-ubyte", LABELS)
    with pytest.raises(SpecError, match="train-images-idx3-ubyte: the images hold values that are not finite"):
        load_data(DataSpec(name="idx", path=str(tmp_path)))


@pytest.mark.parametrize("content, text", [
    (b"\x00\x00\x08\xff", "names 255 dimensions but the file ends first"),
    (b"\x00\x00\x08\x01\xff\xff\xff\xff", "negative dimension"),
])
def test_broken_headers(tmp_path, content, text):
    write(tmp_path, "train-images-idx3-ubyte", IMAGES)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(content)
    with pytest.raises(SpecError, match=text):
        load_data(DataSpec(name="idx", path=str(tmp_path)))


@pytest.mark.parametrize("content", [b"not gzip at all", gzip.compress(idx_bytes(LABELS), mtime=0)[:15]],
                         ids=["not gzip", "cut short"])  # fixed ids: xdist workers must collect alike
def test_broken_gzip(tmp_path, content):
    write(tmp_path, "train-images-idx3-ubyte", IMAGES)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(content)
    with pytest.raises(SpecError, match="train-labels-idx1-ubyte.gz: cannot read this IDX file"):
        load_data(DataSpec(name="idx", path=str(tmp_path)))


def test_a_file_given_for_the_folder(tmp_path):
    p = write(tmp_path, "train-images-idx3-ubyte", IMAGES)
    with pytest.raises(SpecError, match="is a file; give the folder that holds train-images-idx3-ubyte"):
        load_data(DataSpec(name="idx", path=str(p)))


def test_a_test_file_smaller_than_the_classes(tmp_path):
    write(tmp_path, "train-images-idx3-ubyte", IMAGES)
    write(tmp_path, "train-labels-idx1-ubyte", LABELS)
    write(tmp_path, "t10k-images-idx3-ubyte", IMAGES[:2])
    write(tmp_path, "t10k-labels-idx1-ubyte", LABELS[:2])
    with pytest.raises(SpecError, match="would split into 16 train, 4 validation, 2 test; each split needs at "
                                        "least 3 .*change data.val_ratio"):
        load_data(DataSpec(name="idx", path=str(tmp_path)))
