"""Launchers through the real CLI: local parallel processes, Ray, submitit (SLURM's config, its local executor)."""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

from conftest import read_metrics
from glossary_exp.rundir import register_resolvers

TWO_JOBS = ("-m", "experiment=random_regression", "data.samples=200", "trainer.max_epochs=2", "optimizer.lr=0.01,0.001")


def needs(module: str, extra: str) -> pytest.MarkDecorator:
    """Skip unless ``module`` is installed (``pip install 'glossary-exp[<extra>]'``)."""
    missing = importlib.util.find_spec(module) is None
    return pytest.mark.skipif(missing, reason=f"{module} is not installed: pip install 'glossary-exp[{extra}]'")


def finished_jobs(output_dir: Path) -> list[Path]:
    (sweep_dir,) = output_dir.glob("*/multirun_*")
    jobs = sorted(p.parent for p in sweep_dir.glob("*/metrics.json"))
    assert (sweep_dir / "summary.csv").is_file()
    return jobs


@needs("hydra_plugins.hydra_joblib_launcher", "parallel")
def test_parallel_launcher_runs_jobs_in_processes_with_a_share_of_the_cores(cli) -> None:
    done = cli(*TWO_JOBS, "hydra/launcher=parallel", "hydra.launcher.n_jobs=2")
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = finished_jobs(cli.output_dir)
    assert len(jobs) == 2 and all(read_metrics(job)["status"] == "completed" for job in jobs)
    shares = [re.search(r"share of the machine: slot (\d) of 2: (\d+) torch thread", (job / "run.log").read_text())
              for job in jobs]
    assert all(shares), "each job logs its share"
    assert {m.group(1) for m in shares} == {"0", "1"}  # two worker processes, one slot each
    cores = len(os.sched_getaffinity(0))
    assert {int(m.group(2)) for m in shares} == {max(1, cores // 2)}


# Ray binds to the machine's outside address even when told 127.0.0.1, unless it believes it runs on
# one machine only: RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (ray_constants.ENABLE_RAY_CLUSTER, on Linux too)
# makes every Ray process use 127.0.0.1. No usage statistics are sent.
RAY_LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def outside_listeners() -> set[str]:
    """Listening TCP sockets of this machine that are not on loopback (``address:port``)."""
    out = subprocess.run(["ss", "-Htln"], capture_output=True, text=True, check=True).stdout
    local = {line.split()[3] for line in out.splitlines() if len(line.split()) > 3}
    return {a for a in local if not a.startswith(("127.", "[::1]", "[::ffff:127."))}


@contextmanager
def no_new_outside_listeners() -> Iterator[None]:
    """Fail if, while the block runs, anything starts listening on an address other than loopback."""
    before, seen, stop = outside_listeners(), set(), threading.Event()

    def watch() -> None:
        while not stop.wait(0.2):
            seen.update(outside_listeners() - before)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert not seen, f"listening outside loopback: {sorted(seen)}"


@needs("hydra_plugins.hydra_ray_launcher", "ray")
def test_ray_launcher_runs_jobs_on_a_local_ray_instance(cli) -> None:
    with no_new_outside_listeners():
        done = cli(*TWO_JOBS, "hydra/launcher=ray_local", env=RAY_LOOPBACK, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = finished_jobs(cli.output_dir)
    assert len(jobs) == 2 and all(read_metrics(job)["status"] == "completed" for job in jobs)
    assert "Ray Launcher is launching 2 jobs" in done.stdout + done.stderr


@pytest.fixture
def ray_cluster(tmp_path: Path) -> Iterator[str]:
    """A one-node Ray cluster (``ray start --head``) for the test; its address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, **RAY_LOOPBACK, "RAY_AUTH_MODE": "disabled"}  # no token file needed by the test's client
    ray = Path(sys.executable).with_name("ray")
    before = outside_listeners()
    head = subprocess.Popen([str(ray), "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                             "--block"], env=env, stdout=open(tmp_path / "ray_head.log", "w"),  # noqa: SIM115 - the head's
                            stderr=subprocess.STDOUT)  # log for its whole life; closed when the test process ends
    try:
        deadline = time.time() + 120
        while "--block" not in (tmp_path / "ray_head.log").read_text() and time.time() < deadline:
            assert head.poll() is None, (tmp_path / "ray_head.log").read_text()[-2000:]
            time.sleep(0.2)
        assert outside_listeners() <= before, "the head listens outside loopback"
        plain = re.sub(r"\x1b\[[0-9;]*m", "", (tmp_path / "ray_head.log").read_text())  # without its colours
        assert "Local node IP: 127.0.0.1" in plain
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()  # ray start --block stops the processes it started
        head.wait(timeout=60)


@needs("hydra_plugins.hydra_ray_launcher", "ray")
def test_ray_launcher_runs_jobs_on_an_existing_cluster(cli, ray_cluster: str) -> None:
    with no_new_outside_listeners():
        done = cli(*TWO_JOBS, "hydra/launcher=ray_cluster", f"hydra.launcher.ray.init.address={ray_cluster}",
                   env={**RAY_LOOPBACK, "RAY_AUTH_MODE": "disabled"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Connected to Ray cluster" in done.stdout + done.stderr
    jobs = finished_jobs(cli.output_dir)
    assert len(jobs) == 2 and all(read_metrics(job)["status"] == "completed" for job in jobs)


@needs("hydra_plugins.hydra_submitit_launcher", "slurm")
def test_submitit_local_executor_runs_jobs_and_the_slurm_config_composes(cli) -> None:
    register_resolvers()  # as the CLI does: the sweep dir in submitit_folder uses them
    with initialize_config_module(config_module="glossary_exp.conf", version_base="1.3"):
        cfg = compose("config", overrides=["hydra/launcher=slurm", "hydra.launcher.partition=gpu"],
                      return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.glossary_slurm.launcher.SlurmLauncher" and launcher.partition == "gpu"
    assert launcher.cpus_per_task == 1 and launcher.jobs_per_task == 1
    assert launcher.submitit_folder.endswith("/.submitit/%j")

    done = cli(*TWO_JOBS, "hydra/launcher=submitit_local")
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = finished_jobs(cli.output_dir)
    assert len(jobs) == 2 and all(read_metrics(job)["status"] == "completed" for job in jobs)


def test_parallel_jobs_take_one_gpu_each_when_there_are_several(tmp_path: Path) -> None:
    # Two worker processes of a parallel sweep on a machine with GPUs 3 and 5 (CUDA never starts here).
    code = ("import sys, time; from omegaconf import OmegaConf; from glossary_exp.sweep.share import share_machine\n"
            "cfg = OmegaConf.create({'launcher': {'n_jobs': 2}, 'sweep': {'dir': sys.argv[1]}})\n"
            "print(share_machine(cfg), flush=True); time.sleep(3)")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "3,5"}
    workers = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    shares = sorted(worker.communicate(timeout=120)[0].strip() for worker in workers)
    threads = max(1, len(os.sched_getaffinity(0)) // 2)
    assert shares == [f"slot 0 of 2: {threads} torch thread(s), GPU 3",
                      f"slot 1 of 2: {threads} torch thread(s), GPU 5"]
