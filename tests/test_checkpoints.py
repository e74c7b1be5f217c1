"""Checkpoints never run code when read, every example's own checkpoints still load, and a trusted file can."""

from __future__ import annotations

import fractions
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from conftest import fit_once, read_metrics, run_cli, run_dirs, snapshot

MARKER = Path("/tmp/glossary_exp_test_checkpoint_ran")
RUN = ("experiment=random_regression", "data.samples=200", "trainer.max_epochs=2")


class Payload:
    """An attacker's object: unpickling it creates MARKER."""

    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fit_once(tmp_path_factory, *RUN)


def crafted(path: Path, good: Path) -> Path:
    """A real checkpoint of ours with the attacker's object added: it loads fine up to that object."""
    checkpoint = torch.load(good, weights_only=True)
    torch.save({**checkpoint, "callbacks": {"x": Payload()}}, path)
    return path


@pytest.mark.parametrize("task", ["test", "predict", "fit"])
def test_a_crafted_ckpt_path_runs_nothing_and_is_refused_in_one_line(trained: Path, tmp_path: Path, task: str) -> None:
    MARKER.unlink(missing_ok=True)
    evil = crafted(tmp_path / "evil.ckpt", trained / "checkpoints" / "best.ckpt")
    result = run_cli(*RUN, f"task={task}", f"ckpt_path={evil}", output_dir=tmp_path / "outputs")
    assert not MARKER.exists(), "the checkpoint's code ran"
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"error: ckpt_path={evil} asks to load posix.system, which no checkpoint needs: "
                                     "refused, nothing from it ran (trust_checkpoint=true loads a file you trust "
                                     "with full pickle, which can run any code in it)")
    assert not (tmp_path / "outputs").exists()  # no run directory either


def test_a_resume_whose_last_checkpoint_was_replaced_runs_nothing(trained: Path, tmp_path: Path) -> None:
    MARKER.unlink(missing_ok=True)
    run = tmp_path / "outputs" / "random_regression" / trained.name
    shutil.copytree(trained, run)
    record = read_metrics(run)
    (run / "metrics.json").write_text(json.dumps({**record, "status": "interrupted"}))
    crafted(run / "checkpoints" / "last.ckpt", trained / "checkpoints" / "last.ckpt")
    before = snapshot(run)
    result = run_cli(f"resume={run}", output_dir=tmp_path / "outputs")
    assert not MARKER.exists(), "the checkpoint's code ran"
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "its last.ckpt asks to load posix.system" in result.stderr
    assert snapshot(run) == before  # the run's record and files are as they were


def test_a_trusted_checkpoint_loads_with_trust_checkpoint(trained: Path, tmp_path: Path) -> None:
    # A harmless type no checkpoint of ours holds: refused by default, loaded when the user trusts the file.
    checkpoint = torch.load(trained / "checkpoints" / "best.ckpt", weights_only=True)
    path = tmp_path / "trusted.ckpt"
    torch.save({**checkpoint, "note": fractions.Fraction(1, 3)}, path)
    refused = run_cli(*RUN, "task=test", f"ckpt_path={path}", output_dir=tmp_path / "outputs")
    assert refused.returncode == 2 and "asks to load fractions.Fraction" in refused.stderr
    trusted = run_cli(*RUN, "task=test", f"ckpt_path={path}", "trust_checkpoint=true", output_dir=tmp_path / "outputs")
    assert trusted.returncode == 0, trusted.stderr[-2000:]
    (run,) = run_dirs(tmp_path / "outputs")
    assert read_metrics(run)["metrics"]["test/loss"] == pytest.approx(read_metrics(trained)["metrics"]["test/loss"])


def test_ckpt_path_with_fit_starts_a_new_run_from_those_weights(trained: Path, tmp_path: Path) -> None:
    result = run_cli(*RUN, f"ckpt_path={trained / 'checkpoints' / 'last.ckpt'}", "trainer.max_epochs=1",
                     output_dir=tmp_path / "outputs")
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = run_dirs(tmp_path / "outputs")
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0  # its own epochs
    # One epoch from the 2-epoch run's weights ends below where those 2 epochs did (one from scratch: above).
    assert read_metrics(run)["metrics"]["val/loss"] < read_metrics(trained)["metrics"]["val/loss"]
    assert read_metrics(run)["init_from"] == str(trained / "checkpoints" / "last.ckpt")


def test_atomic_save_leaves_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    from glossary_exp.atomic import write_atomically

    target = tmp_path / "last.ckpt"
    target.write_bytes(b"old")

    def fail_half_way(file) -> None:
        file.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, fail_half_way)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]
