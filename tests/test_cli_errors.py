"""Bad input through the real CLI: one short line naming the key, non-zero exit, no traceback,
and nothing an earlier run wrote is touched."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import run_cli, run_dirs, snapshot


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output_dir = tmp_path_factory.mktemp("errors") / "outputs"
    output_dir.mkdir()
    result = run_cli("experiment=quadratic_gd", output_dir=output_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    return output_dir


# The contract of test_bad_input.py, on real processes: a few of each kind.
BAD_INPUTS = [
    (["experiment=no_such_thing"], "experiment=no_such_thing is not an option", "linear_regression"),
    (["model=nope"], "model=nope is not an option", "sine_cubic"),
    (["optimizer.lrr=0.1"], "optimizer.lrr is not a setting (did you mean optimizer.lr?)", None),
    (["optimizer.lr=abc"], "error: optimizer.lr must be a finite number, got 'abc'", None),
    (["optimizer.lr=-1"], "error: optimizer.lr must be > 0, got -1", None),
    (["experiment=random_regression", "data.batch_size=0"], "error: data.batch_size must be >= 1, got 0", None),
    (["trainer.max_epochs=-2"], "error: trainer.max_epochs must be >= 1, got -2", None),
    (["experiment=random_regression", "task=test", "ckpt_path=/no/such/file.ckpt"],
     "error: ckpt_path=/no/such/file.ckpt: no such file", None),
    (["resume=/no/such/run"], "error: resume=/no/such/run: not a run directory or the id of one run", None),
    (["-m", "optimizer.lr=0.1,0.01", "--cfg", "job"], "error: --multirun and --cfg exclude each other", "--info"),
    (["trainer.precision=33"], "error: trainer.precision must be one of", "32-true"),
    (["trainer.devices=abc"], "error: Lightning refused trainer.accelerator=auto trainer.devices=abc",
     "should be an int > 0"),
]


@pytest.mark.parametrize("overrides,message,also", BAD_INPUTS, ids=[" ".join(b[0]) for b in BAD_INPUTS])
def test_bad_input_gets_a_short_clear_error(earlier_run: Path, overrides: list[str], message: str,
                                            also: str | None) -> None:
    before = snapshot(earlier_run)
    result = run_cli(*overrides, output_dir=earlier_run)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    if also:
        assert also in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1  # one line, not a dump
    assert result.returncode == 2
    assert snapshot(earlier_run) == before  # no new run directory, nothing changed


def test_a_loss_that_turns_infinite_is_recorded_and_explained(earlier_run: Path) -> None:
    # Not bad input in itself: the run trained 40 steps before the loss diverged, so its record stays.
    result = run_cli("experiment=quadratic_gd", "optimizer.lr=2", output_dir=earlier_run)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: training loss became inf at step" in result.stderr
    (run,) = [r for r in run_dirs(earlier_run) if r.name.endswith("_lr-2")]
    assert json.loads((run / "metrics.json").read_text())["status"] == "failed"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_on_a_machine_without_one_names_what_it_has(tmp_path: Path) -> None:
    result = run_cli("experiment=quadratic_gd", "accelerator=gpu", output_dir=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: Lightning refused trainer.accelerator=gpu" in result.stderr
    assert "This machine has: cpu" in result.stderr and "list accelerators" in result.stderr


def test_ddp_that_reruns_the_command_is_refused_in_a_multirun(tmp_path: Path) -> None:
    result = run_cli("-m", "experiment=quadratic_gd", "trainer.accelerator=cpu", "trainer.devices=2",
                     "trainer.strategy=ddp", output_dir=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "trainer.strategy=ddp starts each process by running the command again" in result.stdout
    assert len(list((tmp_path / "quadratic_gd").glob("multirun_*"))) == 1  # the sweep did not start again


def test_resume_of_no_run_writes_nothing_where_it_points(earlier_run: Path, tmp_path: Path) -> None:
    for target in (tmp_path / "missing", tmp_path):  # a path that does not exist; a directory that is no run
        result = run_cli(f"resume={target}", output_dir=earlier_run)
        assert result.returncode == 2
        assert f"error: resume={target}: not a run directory" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_resume_of_a_run_without_checkpoint_keeps_its_record(earlier_run: Path, tmp_path: Path) -> None:
    (source,) = [r for r in run_dirs(earlier_run) if (r / "checkpoints" / "last.ckpt").exists()][:1]
    run = tmp_path / "outputs" / source.name  # a copy stopped before its first checkpoint
    shutil.copytree(source, run)
    (run / "checkpoints" / "last.ckpt").unlink()
    (run / "metrics.json").write_text(json.dumps({**json.loads((run / "metrics.json").read_text()),
                                                  "status": "interrupted"}))
    record = (run / "metrics.json").read_bytes()
    result = run_cli(f"resume={run}", output_dir=tmp_path / "outputs")
    assert result.returncode == 2
    assert f"error: resume={run}: the run saved no checkpoint yet" in result.stderr
    assert (run / "metrics.json").read_bytes() == record


def test_full_traceback_when_asked(earlier_run: Path) -> None:
    result = run_cli("optimizer.lr=-1", output_dir=earlier_run, env={"HYDRA_FULL_ERROR": "1"})
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_bad_values_are_refused_before_torch_is_imported(tmp_path: Path) -> None:
    """Lightning's import is most of a run's start-up (8 s on a slow machine): a bad value need not wait for it."""
    commands = [["optimizer.lr=-1"], ["experiment=random_regression", "data.batch_size=0"],
                ["task=test"], [f"resume={tmp_path / 'missing'}"]]
    script = (
        "import contextlib, io, sys\n"
        "from glossary_exp.cli import main\n"
        f"for args in {commands!r}:\n"
        f"    sys.argv = ['glossary-exp', *args, 'paths.output_dir={tmp_path / 'outputs'}']\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stderr(io.StringIO()) as err:\n"
        "        main()\n"
        "    print(err.getvalue().strip().startswith('error: '), 'torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.stdout.splitlines() == ["True False"] * len(commands), result.stdout + result.stderr[-2000:]
    assert not (tmp_path / "outputs").exists()
