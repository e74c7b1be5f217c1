"""What a killed writer, a damaged cache or a full disk leaves: cleared, rebuilt, or said in one line.

docs/reliability.md says what users see.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from conftest import read_metrics, run_cli, run_dirs, run_in_process
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
        assert all(torch.equal(a, b) for name in whole for a, b in zip(whole[name], again[name], strict=True))
        warned = [r.getMessage() for r in caplog.records if "is damaged or unreadable" in r.getMessage()]
        assert len(warned) <= 1 and "\n" not in "".join(warned)
        # Rebuilt whole; or, where the change is in bytes no record depends on (zip padding), read as it is.
        assert cache.read_bytes() == original if warned else bad
        detected.append(bool(warned))
    assert all(detected) if damage == "truncated" else detected[-2:] == [True, True] and sum(detected) >= 10


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 12 MB tmpfs: room for two checkpoints of BIG, not three (mounted as root; unmounted after)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(disk)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


# 4.8 MB checkpoints: epoch 0 writes best.ckpt and last.ckpt, epoch 1's new best.ckpt finds the disk full.
BIG = ("experiment=random_regression", "model.hidden=100000", "data.samples=200", "trainer.max_epochs=3",
       "trainer.log_every_n_steps=1", "optimizer.lr=1e-5", "seed=0")


def test_a_full_disk_is_one_line_the_record_says_so_and_resume_continues_once_space_is_free(small_disk: Path) -> None:
    output_dir = small_disk / "outputs"
    output_dir.mkdir()
    done = run_cli(*BIG, output_dir=output_dir)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr[-3000:]
    (run_dir,) = run_dirs(output_dir)
    line = done.stderr.strip()
    assert line.startswith(f"error: the disk is full (no space left on device) writing {run_dir}/checkpoints/")
    assert re.search(r": \d+\.\d MB free of 1\d\.\d MB there; ", line)
    assert f"the last whole checkpoint is {run_dir}/checkpoints/last.ckpt" in line
    assert line.endswith(f"once space is free, continue with: python -m glossary_exp resume={run_dir.name[:26]}")
    record = read_metrics(run_dir)
    assert record["status"] == "failed" and f"error: {record['error']}" == line
    assert not [p for p in output_dir.rglob("*.tmp")]  # the half-written checkpoint went with the error

    subprocess.run(["mount", "-o", "remount,size=40m", str(small_disk)], check=True)  # space freed
    resumed = run_in_process(f"resume={run_dir.name[:26]}", output_dir=output_dir)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert read_metrics(run_dir)["status"] == "completed"


def test_a_sweep_stops_launching_jobs_onto_a_full_disk_and_continues_the_job_once_space_is_free(
        small_disk: Path) -> None:
    output_dir = small_disk / "outputs"
    grid = ("-m", *BIG[:-2], "optimizer.lr=1e-5,2e-5,3e-5", "seed=0")
    done = run_in_process(*grid, output_dir=output_dir)
    assert done.returncode == 1 and done.escaped is None, done.stderr[-3000:]
    assert done.stderr.strip().endswith("the sweep stopped launching jobs")
    (job,) = run_dirs(output_dir)  # not one failed job per point of the grid
    record = read_metrics(job)
    assert record["status"] == "failed" and record["error"].startswith("the disk is full")

    subprocess.run(["mount", "-o", "remount,size=60m", str(small_disk)], check=True)  # space freed
    again = run_in_process(*grid, f"hydra.sweep.dir={job.parent}", output_dir=output_dir)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "job 0: resume (failed on a full disk: continues from last.ckpt)" in again.stdout
    records = [read_metrics(run) for run in sorted(run_dirs(output_dir))]
    assert [r["status"] for r in records] == ["completed"] * 3 and len(records[0]["resumed"]) == 1
    assert "disk_full" not in records[0]


def test_an_exceeded_quota_that_even_the_record_meets_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from glossary_exp import run

    def quota(*args: object) -> None:  # what torch.save raises: its zip writer's error, caused by the write's
        try:
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
        except OSError as err:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos") from err

    write_json = run.write_json

    def record_too(path: Path, data: dict) -> None:
        if data["status"] == "failed":
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT), str(path))
        write_json(path, data)

    monkeypatch.setattr(run, "execute", quota)
    monkeypatch.setattr(run, "write_json", record_too)
    done = run_in_process(*RUN, output_dir=tmp_path / "outputs")
    (run_dir,) = run_dirs(tmp_path / "outputs")
    assert done.returncode == 1 and done.escaped is None and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith(f"error: the disk quota is exceeded writing in {run_dir}: ")
    assert done.stderr.strip().endswith("no checkpoint was written yet: once space is free, run the command again; "
                                        "the record (metrics.json) could not be written either and still says running")
    assert read_metrics(run_dir)["status"] == "running"


def test_a_disk_full_before_the_run_starts_leaves_nothing(small_disk: Path) -> None:
    with pytest.raises(OSError, match="No space left"), open(small_disk / "filler", "wb") as filler:
        filler.write(b"\0" * 13_000_000)  # no room left even for Hydra's own .hydra files
    output_dir = small_disk / "outputs"
    done = run_in_process(*RUN, output_dir=output_dir)
    assert done.returncode == 1 and done.escaped is None and len(done.stderr.strip().splitlines()) == 1
    assert re.match(rf"error: the disk is full \(no space left on device\) writing in {output_dir}/random_regression/"
                    r"\S+: 0 B free of 1\d\.\d MB there; once space is free, run the command again$", done.stderr)
    assert not output_dir.exists() or not any(output_dir.rglob("*"))

    (small_disk / "filler").write_bytes(b"\0" * (12 * 2**20 - 100_000))  # room for Hydra's files, not a study
    # The study's SQLite file meets it: "database or disk is full", SQLite's own error.
    search = run_in_process("-m", "hparams_search=sine_cubic", output_dir=output_dir)
    assert search.returncode == 1 and search.escaped is None and len(search.stderr.strip().splitlines()) == 1
    assert search.stderr.startswith(f"error: the disk is full (no space left on device) writing in {output_dir}/")
    assert not output_dir.exists() or not any(output_dir.rglob("*"))


def test_tensorboards_writer_thread_meeting_a_full_disk_is_the_same_one_line(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from tensorboard.summary.writer import record_writer

    write, records = record_writer.RecordWriter.write, []

    def fills_up(self: record_writer.RecordWriter, data: bytes) -> None:  # in TensorBoard's own writer thread
        records.append(data)
        if len(records) > 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write(self, data)

    monkeypatch.setattr(record_writer.RecordWriter, "write", fills_up)
    done = run_in_process(*RUN, "trainer.log_every_n_steps=1", output_dir=tmp_path / "outputs")
    (run_dir,) = run_dirs(tmp_path / "outputs")
    assert done.returncode == 1 and done.escaped is None, done.stderr[-2000:]
    assert done.stderr.startswith(f"error: the disk is full (no space left on device) writing in {run_dir}: ")
    assert len(done.stderr.strip().splitlines()) == 1  # not the writer thread's traceback first
    assert read_metrics(run_dir)["error"] == done.stderr.strip().removeprefix("error: ")
