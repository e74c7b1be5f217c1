"""What every run guarantees: its files, seeds, reproducibility, names, schedulers and loggers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import (
    DATASET_MIRROR,
    assert_no_noise,
    config_names,
    data_cache,
    needs_dataset_files,
    read_events,
    read_hparams,
    read_metrics,
    run_dirs,
    run_in_process,
)
from glossary_exp.checkpoints import CHECKPOINT_GLOBALS, STORAGE_GLOBAL, checkpoint_globals, load_checkpoint

SHORT = ("experiment=random_regression", "trainer.max_epochs=2", "data.samples=200")


EXPERIMENTS = sorted(config_names("experiment"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_preset_fits_briefly(short_fits: dict[str, Path], experiment: str) -> None:
    if experiment not in short_fits and needs_dataset_files(experiment) and not DATASET_MIRROR.is_dir():
        pytest.skip(f"no dataset mirror at {DATASET_MIRROR} (set GLOSSARY_EXP_DATASET_MIRROR) for {experiment}")
    record = read_metrics(short_fits[experiment])
    assert record["status"] == "completed", record.get("error")
    assert (short_fits[experiment] / "checkpoints" / "last.ckpt").is_file()


def example_checkpoints(runs: dict[str, Path]) -> list[Path]:
    return sorted(path for run in runs.values() for path in (run / "checkpoints").glob("*.ckpt"))


def test_every_examples_checkpoints_hold_only_the_allowed_types_and_load(short_fits: dict[str, Path]) -> None:
    checkpoints = example_checkpoints(short_fits)
    assert len(checkpoints) >= 2 * len(short_fits)  # best and last of every preset that ran
    for path in checkpoints:
        names = checkpoint_globals(path)
        assert {n for n in names if not STORAGE_GLOBAL.match(n)} <= CHECKPOINT_GLOBALS, path
        checkpoint = load_checkpoint(path, str(path))  # weights-only, as every read by the framework
        assert checkpoint["state_dict"] and "rng_states" in checkpoint


def test_fast_dev_run_runs_every_stage_and_offers_no_resume(cli) -> None:
    result = cli("experiment=random_images", "debug=fast_dev_run")
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = run_dirs(cli.output_dir)
    assert read_metrics(run)["status"] == "completed" and "test/loss" in read_metrics(run)["metrics"]
    assert "resume=" not in result.stdout


def test_a_run_directory_holds_everything(cli) -> None:
    result = cli(*SHORT, "seed=5")
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = run_dirs(cli.output_dir)
    assert run.parent.name == "random_regression"  # runs are grouped by experiment
    assert run.name.endswith("_max_epochs-2_samples-200_seed-5")  # named by their overrides, keys cut short
    for name in ("config.yaml", ".hydra/config.yaml", ".hydra/overrides.yaml", "metrics.json", "run.log",
                 "checkpoints/best.ckpt", "checkpoints/last.ckpt", "hparams.yaml"):
        assert (run / name).is_file(), name
    assert list(run.glob("events.out.tfevents.*"))
    assert yaml.safe_load((run / "config.yaml").read_text())["seed"] == 5
    assert "Final metrics:" in result.stdout and f"Run directory: {run}" in result.stdout
    assert_no_noise(result)  # two checkpoint callbacks, the srun hint, torch's LeafSpec deprecation...
    assert "test/loss" in (run / "run.log").read_text() or "Trainer.fit" in (run / "run.log").read_text()


def test_same_seed_same_metrics_and_a_chosen_seed_is_recorded(cli) -> None:
    for _ in range(2):
        assert cli(*SHORT, "seed=11", "deterministic=true").returncode == 0
    assert cli(*SHORT).returncode == 0  # seed: null -> chosen at random
    first, second, auto = (read_metrics(run) for run in run_dirs(cli.output_dir))
    assert first["metrics"] == second["metrics"]
    seed = auto["seed"]
    assert isinstance(seed, int)
    auto_run = run_dirs(cli.output_dir)[-1]
    assert yaml.safe_load((auto_run / "config.yaml").read_text())["seed"] == seed
    assert read_hparams(auto_run)["seed"] == seed


def test_step_scheduler_decays_the_logged_learning_rate(cli) -> None:
    result = cli(*SHORT, "trainer.max_epochs=3", "scheduler=step", "scheduler.step_size=1", "scheduler.gamma=0.5",
                 "trainer.log_every_n_steps=1")
    assert result.returncode == 0, result.stderr[-2000:]
    lrs = sorted({round(e.value, 6) for e in read_events(run_dirs(cli.output_dir)[0]).Scalars("lr")},
                 reverse=True)
    assert lrs == [0.01, 0.005, 0.0025]


def test_cosine_scheduler_with_default_t_max_spans_the_whole_run(cli) -> None:
    result = cli(*SHORT, "trainer.max_epochs=4", "scheduler=cosine", "trainer.log_every_n_steps=1")
    assert result.returncode == 0, result.stderr[-2000:]
    lrs = [round(e.value, 6) for e in read_events(run_dirs(cli.output_dir)[0]).Scalars("lr")]
    # T_max null -> max_epochs: 0.01 * (1 + cos(pi * epoch / 4)) / 2 for epochs 0..3
    assert sorted(set(lrs), reverse=True) == [0.01, 0.008536, 0.005, 0.001464]


# The ddp preset; and two devices under strategy auto, in a multirun of one job: Lightning's "ddp"
# would run the sweep again in the second process (two run directories).
@pytest.mark.parametrize("mode,accelerator", [
    ((), ("accelerator=ddp", "trainer.accelerator=cpu")),
    (("-m",), ("accelerator=cpu", "trainer.devices=2")),
], ids=["ddp", "auto"])
def test_ddp_over_two_cpu_processes_trains_and_tests(cli, mode: tuple[str, ...],
                                                     accelerator: tuple[str, ...]) -> None:
    result = cli(*mode, *SHORT, *accelerator)
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = run_dirs(cli.output_dir)
    record = read_metrics(run)
    assert record["status"] == "completed"
    assert {"train/loss", "val/loss", "test/loss"} <= set(record["metrics"])
    assert (run / "checkpoints" / "best.ckpt").is_file()


def test_csv_logger(cli) -> None:
    assert cli(*SHORT, "logger=csv").returncode == 0
    (run,) = run_dirs(cli.output_dir)
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert "val/loss" in header and not list(run.glob("events.out.tfevents.*"))


def test_runs_started_in_the_same_second_get_their_own_directories() -> None:
    code = "from glossary_exp.rundir import run_dir; print(run_dir('outputs', 'x', 'seed-1', None))"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    dirs = {proc.communicate()[0].strip() for proc in procs}
    assert len(dirs) == 4


# The CPU examples the runs issue names: each, run again from its record, gives the same metrics bit for bit.
REPRODUCED = ("linear_regression", "sine_cubic", "quadratic_gd", "random_regression", "random_regression_mlp",
              "random_images", "mnist_mlp")


@pytest.mark.parametrize("experiment", REPRODUCED)
def test_every_cpu_example_reproduces_bit_for_bit(short_fits: dict[str, Path], experiment: str,
                                                   tmp_path: Path) -> None:
    if experiment not in short_fits:
        pytest.skip(f"no dataset mirror at {DATASET_MIRROR} (set GLOSSARY_EXP_DATASET_MIRROR) for {experiment}")
    original = short_fits[experiment]  # a job of the presets' sweep: reproduced as a run of its own
    env = {"GLOSSARY_EXP_DATASET_MIRROR": str(DATASET_MIRROR), "GLOSSARY_EXP_DATA_DIR": str(data_cache())}
    result = run_in_process("reproduce", str(original), output_dir=tmp_path / "outputs", env=env)
    assert result.returncode == 0 and result.escaped is None, result.stdout[-3000:] + result.stderr
    assert "the same code, versions and device as then" in result.stdout
    assert "Reproduced exactly: " in result.stdout
    (copy,) = run_dirs(tmp_path / "outputs")
    assert read_metrics(copy)["metrics"] == read_metrics(original)["metrics"]
    assert read_metrics(copy)["reproduced_exactly"] is True
