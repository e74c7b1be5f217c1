"""What a killed writer, a damaged cache or a full disk leaves: cleared, rebuilt, or said in one line (docs/reliability.md)."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from conftest import read_metrics, run_dirs, run_in_process
from glossary_exp.atomic import HOST

RUN = ("experiment=random_regression", "data.samples=200", "trainer.max_epochs=1")


def dead_pid() -> int:
    """The PID of a process that has ended: what a SIGKILLed writer's temp file names."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def plant(directory: Path, target: str, pid: int, host: str | None = HOST) -> Path:
    """A writer's temp file as atomic.temp_path names it (without a host: the name older versions wrote)."""
    temp = directory / f".{target}.{pid}{'@' + host if host else ''}.tmp"
    temp.write_bytes(b"half a checkpoint")
    return temp


@pytest.fixture
def interrupted_run(tmp_path: Path) -> Path:
    """A fit whose record says interrupted, as a SIGKILL during its first epoch would leave it."""
    done = run_in_process(*RUN, output_dir=tmp_path / "outputs")
    assert done.returncode == 0, done.stderr[-2000:]
    (run_dir,) = run_dirs(tmp_path / "outputs")
    record = read_metrics(run_dir)
    (run_dir / "metrics.json").write_text(json.dumps({**record, "status": "interrupted", "metrics": {}}))
    return run_dir


def test_a_refused_resume_clears_what_a_killed_writer_left_and_nothing_else(interrupted_run: Path) -> None:
    checkpoints = interrupted_run / "checkpoints"
    (checkpoints / "last.ckpt").unlink()  # killed during its first last.ckpt write
    dead = [plant(checkpoints, "last.ckpt", dead_pid(), host=None), plant(checkpoints, "best.ckpt", dead_pid())]
    kept = [plant(interrupted_run, "metrics.json", 1),  # a live writer's (PID 1 always runs)
            plant(checkpoints, "last.ckpt", dead_pid(), host="another-node")]  # a PID means nothing elsewhere
    done = run_in_process(f"resume={interrupted_run}", output_dir=interrupted_run.parents[1])
    assert done.returncode == 2 and "the run saved no checkpoint yet" in done.stderr
    assert [path.exists() for path in dead + kept] == [False, False, True, True]


def test_a_resume_clears_them_as_the_run_starts_again(interrupted_run: Path) -> None:
    dead = plant(interrupted_run / "checkpoints", "last.ckpt", dead_pid())
    done = run_in_process(f"resume={interrupted_run}", output_dir=interrupted_run.parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert not dead.exists() and read_metrics(interrupted_run)["status"] == "completed"


def test_summary_clears_what_a_killed_writer_left_in_the_sweep(tmp_path: Path) -> None:
    job = tmp_path / "sweep" / "0_lr-0.1"
    (job / "checkpoints").mkdir(parents=True)
    (job / "metrics.json").write_text(json.dumps({"status": "completed", "overrides": ["optimizer.lr=0.1"],
                                                  "metrics": {"val/loss": 0.5}}))
    dead = [plant(tmp_path / "sweep", "summary.csv", dead_pid()), plant(job / "checkpoints", "last.ckpt", dead_pid())]
    done = subprocess.run([sys.executable, "-m", "glossary_exp", "summary", str(tmp_path / "sweep")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "removed 2 partial file(s)" in done.stdout and not any(path.exists() for path in dead)
    assert (tmp_path / "sweep" / "summary.csv").is_file()


def damaged_copies(original: bytes, damage: str) -> Iterator[bytes]:
    """The cache cut short at several lengths, or with one byte changed at each of 16 places and in the images."""
    if damage == "truncated":
        yield from (original[:n] for n in (0, 100, len(original) // 2, len(original) - 1))
        return
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        images = next(i for i in archive.infolist() if i.filename.endswith("data/0"))  # the first tensor's bytes
    # Past its local header, whose name and extra field (torch's alignment padding) have their lengths at 26..30.
    name_length, extra_length = struct.unpack("<HH", original[images.header_offset + 26:images.header_offset + 30])
    start = images.header_offset + 30 + name_length + extra_length
    for i in [*range(0, len(original), len(original) // 16), start, start + images.file_size // 2]:
        yield original[:i] + bytes([original[i] ^ 0x5A]) + original[i + 1:]


@pytest.mark.parametrize("damage", ["truncated", "flipped bytes"])
def test_a_damaged_dataset_cache_is_decoded_again_never_read(tmp_path: Path, damage: str,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    from test_vision_data import class_tree

    from glossary_exp.vision.folder import ImageFolderData

    class_tree(tmp_path / "images", {"train": 6, "test": 2})

    def splits() -> dict:
        data = ImageFolderData(path=str(tmp_path / "images"), root=str(tmp_path / "data"), num_workers=1)
        data.setup()
        return data.splits

    whole = splits()
    (cache,) = (tmp_path / "data" / "cache").iterdir()
    original = cache.read_bytes()
    caplog.set_level("INFO")
    detected = []
    for bad in damaged_copies(original, damage):
        cache.write_bytes(bad)
        caplog.clear()
        again = splits()
        assert all(torch.equal(a, b) for name in whole for a, b in zip(whole[name], again[name]))
        warned = [r.getMessage() for r in caplog.records if "is damaged or unreadable" in r.getMessage()]
        assert len(warned) <= 1 and "\n" not in "".join(warned)
        # Rebuilt whole; or, where the change is in bytes no record depends on (zip padding), read as it is.
        assert cache.read_bytes() == original if warned else bad
        detected.append(bool(warned))
    assert all(detected) if damage == "truncated" else detected[-2:] == [True, True] and sum(detected) >= 10
