"""User errors of the CLI found by fuzzing (tests/cli/test_cli_fuzz.py), each pinned here:
exit 2, one line naming the field, in English and Korean; never a traceback."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers import cli, user_error


@pytest.fixture
def spec_file(tmp_path) -> Path:
    p = tmp_path / "spec.toml"
    p.write_text('[data]\nname = "spiral"\nsamples = 120\n[model]\nhidden = [6]\n'
                 '[train]\nepochs = 3\nbatch_size = 16\nprobe_every = 0\n')
    return p


def test_a_spec_file_that_is_not_utf8(tmp_path):
    p = tmp_path / "latin.toml"
    p.write_bytes('name = "café"\n'.encode("latin-1"))
    user_error(cli("train", str(p)), "latin.toml: not a UTF-8 text file")
    user_error(cli("train", str(p), "--lang", "ko"), "latin.toml: UTF-8 텍스트 파일이 아닙니다")
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 1000 + "]" * 1000)
    user_error(cli("train", str(deep)), "deep.toml: tables and lists nest more than 16 levels deep")


@pytest.mark.parametrize("sets, korean", [
    (["data.samples=10", "data.train_ratio=0.01"], "오류: data.samples = 10에 data.train_ratio = 0.01, data.val_ratio = 0.2"
     "이면 학습 0개, 검증 0개, 테스트 10개로 나뉩니다; 각 분할에는 최소 2개 (클래스마다 하나)가 있어야 합니다"),
    (["model.batchnorm=true", "train.batch_size=1"], "배치 정규화에는 모든 배치에 샘플이 2개 이상"),
    (["data.name=points", "data.resample=smote", "data.val_ratio=0",
      "data.points=" + str([[i * 0.1, 0, 0] for i in range(39)] + [[5, 5, 1]])], "학습 분할의 (클래스: 샘플 수)는 0: "),
    (["x=" + "[" * 1000 + "]" * 1000], "--set: 테이블과 목록이 16단계보다 깊게"),
])
def test_loader_errors_in_korean(spec_file, sets, korean):
    args = ["train", str(spec_file), "--lang", "ko"]
    for s in sets:
        args += ["--set", s]
    assert korean in user_error(cli(*args))


def test_new_errors_in_korean(spec_file):
    ko = user_error(cli("train", str(spec_file), "--lang", "ko", "--set", "train.seed=-1"))
    assert ko == "오류: 잘못된 명세입니다. train.seed: 0 이상이어야 합니다 (받은 값: -1)"
    ko = user_error(cli("train", str(spec_file), "--lang", "ko", "--set", "data=1"))
    assert "data: 테이블(키가 있는 섹션)이어야 합니다 (받은 값: 1)" in ko


def test_one_cycle_with_an_optimizer_without_momentum(spec_file):
    for opt in ("adagrad", "sgd", "adam"):
        r = cli("train", str(spec_file), "-q", "--set", "train.schedule=onecycle", "--set", f"train.optimizer={opt}",
                "--set", "train.epochs=2")
        assert r.exit_code == 0, (opt, r.output, r.exception)


@pytest.mark.parametrize("seed", ["18446744073709551616", "-1"])
def test_attack_seed_out_of_range(seed):
    user_error(cli("attack", "some-run", "--seed", seed), "--seed: must be between 0 and 9223372036854775807")


def test_paths_the_system_refuses(tmp_path):
    user_error(cli("train", "x" * 5000), "cannot read the spec file (File name too long)")
    user_error(cli("train", "--set", "data.name=csv", "--set", "data.target=y", "--set", "data.path=" + "x" * 5000),
               "data.path: cannot read 'xxx", "(File name too long)")
    user_error(cli("report", "r" * 5000), "File name too long")
    afile = tmp_path / "afile"
    afile.write_text("")
    user_error(cli("runs", "--runs-dir", str(afile)), "--runs-dir: cannot keep runs in", "afile")
    ko = user_error(cli("train", "--runs-dir", str(afile / "sub"), "--lang", "ko"))
    assert ko.startswith("오류: --runs-dir: ") and "쓰기 가능한 폴더" in ko


@pytest.mark.parametrize("error", ["MemoryError", "torch.OutOfMemoryError"])
def test_out_of_memory_is_a_clear_error(spec_file, monkeypatch, error):
    import torch

    from nnplay import train

    def too_big(*args, **kw):
        raise MemoryError("Unable to allocate 7.45 GiB") if error == "MemoryError" else \
            torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    monkeypatch.setattr(train, "Trainer", too_big)
    user_error(cli("train", str(spec_file)), "not enough memory for this spec", "data.samples", "model.hidden")
    ko = user_error(cli("train", str(spec_file), "--lang", "ko"))
    assert "메모리가 부족합니다" in ko


def test_other_runtime_errors_are_not_hidden(spec_file, monkeypatch):
    from nnplay import train

    def bug(*args, **kw):
        raise RuntimeError("a bug, not a user error")
    monkeypatch.setattr(train, "Trainer", bug)
    r = cli("train", str(spec_file))
    assert isinstance(r.exception, RuntimeError) and r.exit_code == 1


def test_threads_is_one_by_default_and_checked(tmp_path):
    """--threads (NNPLAY_THREADS): the tests' and the playground's one thread by default, so the
    CLI's numbers are theirs; below 1 is a clear error."""
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        r = cli("train", "--set", "train.epochs=1", "--set", "data.samples=40",
                "--runs-dir", str(tmp_path), "-q")
        assert r.exit_code == 0, r.output
        assert torch.get_num_threads() == 1
        user_error(cli("train", "--threads", "0", "--runs-dir", str(tmp_path)), "--threads: must be 1..")
        user_error(cli("train", "--threads", "999999", "--runs-dir", str(tmp_path)), "received 999999")
        user_error(cli("train", "--threads", "0", "--lang", "ko", "--runs-dir", str(tmp_path)),
                   "코어 수")
    finally:
        torch.set_num_threads(before)


def test_run_and_file_errors_in_korean(tmp_path):
    user_error(cli("train", str(tmp_path / "nope.toml"), "--lang", "ko"), "명세 파일이 없습니다", "nope.toml")
    user_error(cli("train", "--resume", "nope", "--runs-dir", str(tmp_path), "--lang", "ko"),
               "실행 'nope'이(가) 없습니다", "아직 실행이 없습니다")
    user_error(cli("train", "--set", "data.samples=40", "--folds", "50", "--runs-dir", str(tmp_path),
                   "--lang", "ko"), "--folds: 훈련과 검증 분할의 표본 수인")
