"""``hydra/launcher=slurm`` on a real one-node SLURM cluster that the tests start (tests/cluster/slurm.sh).

Real sweeps go through sbatch, squeue, scontrol and scancel; the daemons listen on 127.0.0.1 only.
Where the cluster cannot run (no SLURM and no root or apt to install it), the tests skip and say why.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import QUIET, REPO, install_tiny_plugin, read_metrics, run_cli
from glossary_exp.sweep.slurm import Partition, check_request, gpus_in, minutes, read_partitions
from glossary_exp.sweep.summary import job_rows

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the test cluster runs on Linux only")
SLURM_SH = REPO / "tests" / "cluster" / "slurm.sh"
SLURM = ("-m", "hydra/launcher=slurm")
# The test plugin's model, each step waiting 0.25 s with the CPU idle: a fit that lasts for a few CPU-seconds.
PACED = ("model=tiny_affine", "data=tiny_points", "model.pause_s=0.25")
# 44 epochs of 4 steps are about 48 s of training, more than an attempt under a one-minute time limit ever gets.
FIT_DATA = (*PACED, "seed=5")
FIT = (*FIT_DATA, "trainer.max_epochs=44")
# A fit that runs until it is stopped.
ENDLESS = (*PACED, "trainer.max_epochs=10000")


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A running cluster for this module's tests; the environment that points SLURM's commands at it."""
    state = tmp_path_factory.mktemp("slurm")
    started = subprocess.run(["bash", str(SLURM_SH), "start", str(state)], capture_output=True, text=True, timeout=300)
    if started.returncode == 3:
        pytest.skip(started.stderr.strip().splitlines()[-1])
    assert started.returncode == 0, started.stderr[-3000:]
    env = {"SLURM_CONF": str(state / "slurm.conf"),
           "PYTHONPATH": install_tiny_plugin(tmp_path_factory)["PYTHONPATH"]}  # SLURM jobs get the sweep's env
    saved = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = env["SLURM_CONF"]  # for the in-process checks and the test's own squeue / scontrol
    try:
        yield env
    finally:
        stopped = subprocess.run(["bash", str(SLURM_SH), "stop", str(state)], capture_output=True, text=True,
                                 timeout=300)
        if saved is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = saved
        assert stopped.returncode == 0, stopped.stderr[-3000:]


def queue() -> list[str]:
    """``<job id> <state>`` of every job SLURM still lists."""
    out = subprocess.run(["squeue", "--noheader", "--format=%i %T"], capture_output=True, text=True, check=True)
    return out.stdout.split("\n")[:-1]


def sweep_dir(output_dir: Path) -> Path:
    (found,) = output_dir.glob("*/multirun_*")
    return found


def job_records(output_dir: Path) -> list[dict]:
    return [read_metrics(p.parent) for p in sorted(sweep_dir(output_dir).glob("*/metrics.json"))]


def wait_for(condition, timeout: float, what: str, poll: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(poll)
    raise AssertionError(f"{what}: not within {timeout} s")


def start_sweep(*args: str, output_dir: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    """A sweep in the background, its output in ``log`` (a pipe could fill up while the test waits)."""
    cmd = [sys.executable, "-m", "glossary_exp", *SLURM, *args, f"paths.output_dir={output_dir}", *QUIET]
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ, **env},
                            start_new_session=True, cwd=output_dir.parent)


def test_a_packed_sweep_runs_on_slurm_with_the_default_request(slurm: dict[str, str], tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    done = run_cli(*SLURM, "experiment=quadratic_gd", "optimizer.lr=0.1,0.05,0.02,-1", "hydra.launcher.jobs_per_task=2",
                   output_dir=output_dir, env=slurm, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]  # a grid with a failed job says so
    assert "4 job(s) submitted as SLURM job array" in output and "2 SLURM job(s), up to 2 job(s) each" in output
    assert "4 jobs (3 completed, 1 failed)" in output and "optimizer.lr must be > 0, got -1" in output
    assert "sacct" not in output and "accounting storage" not in output  # states come from squeue
    sweep = sweep_dir(output_dir)
    assert [r["status"] for r in job_records(output_dir)] == ["completed", "completed", "completed", "failed"]
    for job in sorted(sweep.glob("[0-2]_*")):
        assert list(job.glob("events.out.tfevents.*")) and (job / "checkpoints" / "last.ckpt").is_file()
    assert (sweep / "summary.csv").is_file()
    # Two SLURM jobs ran the four sweep jobs, two each in one process.
    tasks = sorted(p.name for p in (sweep / ".submitit").iterdir() if re.fullmatch(r"\d+_\d+", p.name))
    assert len(tasks) == 2, tasks
    for task in tasks:  # each SLURM job's log holds both of its jobs
        (log,) = (sweep / ".submitit" / task).glob("*_log.out")
        assert log.read_text().count("This job's share of the machine: slot 0 of 1: 1 torch thread(s)") == 2
    # A job's result is read as soon as it is written: SLURM may still be ending the job for a moment.
    wait_for(lambda: queue() == [], 30, "the SLURM jobs leaving the queue")


@pytest.mark.parametrize("request_, says", [
    ("hydra.launcher.cpus_per_task=64", "hydra.launcher.cpus_per_task=64 can never run: partition debug offers"),
    ("hydra.launcher.partition=debgu", "hydra.launcher.partition=debgu is not a partition of this cluster "
                                       "(did you mean debug?); choose one of: debug, urgent"),
])
def test_a_request_that_can_never_run_is_refused_before_submitting(slurm: dict[str, str], tmp_path: Path,
                                                                  request_: str, says: str) -> None:
    output_dir = tmp_path / "outputs"
    done = run_cli(*SLURM, "experiment=quadratic_gd", "optimizer.lr=0.1,0.2", request_, output_dir=output_dir,
                   env=slurm, timeout=120)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {says}")
    assert not output_dir.exists() and queue() == []  # nothing written, nothing submitted


def test_each_impossible_request_names_the_setting_and_what_the_partition_offers(slurm: dict[str, str]) -> None:
    partitions = read_partitions()
    assert partitions is not None and partitions["debug"].default and partitions["debug"].gpus == 0
    cpus, memory_gb = partitions["debug"].cpus, partitions["debug"].memory_mb // 1024
    fits = {"cpus_per_task": cpus, "mem_gb": memory_gb, "timeout_min": 60, "nodes": 1, "gpus_per_node": 0}
    check_request(fits, partitions)  # the whole node is a request that can run
    for too_much, fix in [({"cpus_per_task": cpus + 1}, f"ask for at most {cpus} CPUs"),
                          ({"cpus_per_task": 1, "tasks_per_node": cpus + 1}, f"ask for at most {cpus} CPUs"),
                          ({"mem_gb": memory_gb + 2}, f"ask for at most {memory_gb} GB"),
                          ({"gpus_per_node": 1}, "ask for none"), ({"nodes": 2}, "ask for at most 1"),
                          ({"timeout_min": 2 * 1440}, "ask for at most 1440")]:
        with pytest.raises(Exception, match="can never run: partition debug offers") as refused:
            check_request({**fits, **too_much}, partitions)
        assert f"hydra.launcher.{next(iter(too_much))}=" in str(refused.value) and fix in str(refused.value)


def test_sinfo_columns_are_read_as_slurm_writes_them() -> None:
    assert [minutes(t) for t in ("1-00:00:00", "2:00:00", "30:00", "30", "infinite", "1:30")] == \
        [1440, 120, 30, 30, None, 2]
    assert [gpus_in(g) for g in ("(null)", "gpu:4", "gpu:a100:2(S:0-1)", "gpu:2,gpu:v100:1", "mps:100")] == \
        [0, 4, 2, 3, 0]
    nodeless = {"gpu": Partition("gpu", False, True, 60, 4, 64, 256000, 8)}
    with pytest.raises(Exception, match="partition is not set and the cluster has no default partition"):
        check_request({"cpus_per_task": 1}, nodeless)


def test_requeue_and_the_time_limit_continue_from_the_last_checkpoint(slurm: dict[str, str], tmp_path: Path) -> None:
    """``scontrol requeue`` mid-fit, then a one-minute time limit: the run ends with the unbroken run's metrics."""
    reference_dir, broken_dir = tmp_path / "unbroken", tmp_path / "broken"
    for path in (reference_dir, broken_dir):
        path.mkdir()
    # Packed into one SLURM job: a short job that completes, then FIT. slurmctld checks time limits every
    # 30 s and sends USR2 once the limit is less than signal_delay_s + 30 s away: 19-49 s into an attempt
    # (48 s into one requeued by a signal, as it starts about 12 s after a check); each attempt pays about
    # 7 s of start-up. So after the requeue below, the time limit interrupts FIT at least once more.
    # The short job is one epoch, so it usually completes in the first attempt; where start-up on a loaded
    # machine takes most of the 19 s before the first USR2 it is resumed in the next, which is correct too.
    broken = start_sweep(*FIT_DATA, "trainer.max_epochs=1,44", "hydra.launcher.jobs_per_task=2",
                         "hydra.launcher.timeout_min=1", "hydra.launcher.signal_delay_s=11",
                         "hydra.launcher.max_num_timeout=5", output_dir=broken_dir / "outputs", env=slurm,
                         log=broken_dir / "log")
    # The unbroken run, meanwhile, with the one torch thread a SLURM job of one CPU has.
    unbroken = subprocess.Popen([sys.executable, "-m", "glossary_exp", *FIT, f"paths.output_dir={reference_dir}",
                                 *QUIET], env={**os.environ, **slurm, "OMP_NUM_THREADS": "1"},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: list((broken_dir / "outputs").glob("*/*/1_*/checkpoints/last.ckpt")), 180,
                 "the second job's first checkpoint")
        (job_id,) = [line.split()[0] for line in queue() if line.endswith("RUNNING")]
        subprocess.run(["scontrol", "requeue", job_id], check=True, capture_output=True)
        assert broken.wait(timeout=600) == 0, (broken_dir / "log").read_text()[-3000:]
        assert unbroken.wait(timeout=300) == 0, unbroken.stderr.read()[-3000:]
    finally:
        for process in (broken, unbroken):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT) if process is broken else process.kill()
                process.wait(timeout=120)
    (expected,) = [read_metrics(p.parent) for p in reference_dir.rglob("metrics.json")]
    short, fit = job_records(broken_dir / "outputs")
    assert short["status"] == "completed"
    # Requeued with its pack after it completed (FIT had a checkpoint), it was skipped, not run again.
    logs = "".join(log.read_text() for log in sweep_dir(broken_dir / "outputs").glob(".submitit/*/*_log.err"))
    assert re.search(r"job 0, requeued \(restart \d+\): skip", logs), logs[-3000:]
    assert fit["status"] == "completed" and fit["seed"] == 5
    stopped_by = [resume["after"] for resume in fit["resumed"]]
    assert "SIGTERM" in stopped_by[0] and any("SIGUSR2" in why for why in stopped_by[1:]), stopped_by
    assert fit["metrics"] == expected["metrics"]  # exactly the unbroken run's
    wait_for(lambda: queue() == [], 30, "the SLURM jobs leaving the queue")


def test_ctrl_c_of_the_sweep_cancels_its_slurm_jobs(slurm: dict[str, str], tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    output_dir.mkdir()
    sweep = start_sweep(*ENDLESS, "seed=1,2", output_dir=output_dir, env=slurm, log=tmp_path / "log")
    try:
        wait_for(lambda: len(list(output_dir.rglob("last.ckpt"))) == 2, 180, "both jobs training")
        os.killpg(sweep.pid, signal.SIGINT)
        assert sweep.wait(timeout=120) == 130
    finally:
        if sweep.poll() is None:
            sweep.kill()
    output = (tmp_path / "log").read_text()
    assert "Cancelling 2 SLURM job(s) of the sweep: scancel" in output, output[-3000:]
    assert queue() == []  # the sweep waited until they had left the queue
    assert [r["status"] for r in job_records(output_dir)] == ["interrupted", "interrupted"]
    assert "Continue it with:" in output and "Traceback" not in output


def test_a_job_killed_outright_is_recorded_as_failed_and_the_sweep_ends(slurm: dict[str, str], tmp_path: Path) -> None:
    """As the kernel's OOM killer would: SIGKILL, no record written, no result for submitit."""
    output_dir = tmp_path / "outputs"
    output_dir.mkdir()
    sweep = start_sweep(*ENDLESS, "seed=1", output_dir=output_dir, env=slurm, log=tmp_path / "log")
    try:
        (last,) = wait_for(lambda: list(output_dir.rglob("last.ckpt")), 180, "the job training")
        run_dir = last.parents[1]
        os.kill(int((run_dir / ".lock").read_text()), signal.SIGKILL)  # the job's process holds its run's lock
        assert sweep.wait(timeout=180) == 1
    finally:
        if sweep.poll() is None:
            sweep.kill()
    output = (tmp_path / "log").read_text()
    record = read_metrics(run_dir)
    assert record["status"] == "failed" and "before this job finished (its log: " in record["error"], record
    assert "1 jobs (1 failed)" in output and "Traceback" not in output, output[-3000:]
    wait_for(lambda: queue() == [], 30, "the SLURM job leaving the queue")


def test_a_dry_run_checks_the_request_against_the_cluster_and_submits_nothing(slurm: dict[str, str],
                                                                             tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    refused = run_cli(*SLURM, "experiment=quadratic_gd", "optimizer.lr=0.1,0.2", "hydra.launcher.cpus_per_task=64",
                      "--dry-run", output_dir=output_dir, env=slurm, timeout=120)
    assert refused.returncode == 2 and refused.stderr.startswith(
        "error: hydra.launcher.cpus_per_task=64 can never run: partition debug offers"), refused.stderr
    plan = run_cli(*SLURM, "experiment=quadratic_gd", "optimizer.lr=0.1,0.2", "--dry-run", output_dir=output_dir,
                   env=slurm, timeout=120)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "SLURM: 2 job(s) as one job array of 2 SLURM job(s)" in plan.stdout and "sbatch --time=60" in plan.stdout
    assert not output_dir.exists() and queue() == []


def test_stop_on_failure_cancels_the_other_slurm_jobs_and_stops_a_pack(slurm: dict[str, str], tmp_path: Path) -> None:
    """Two packs of three: job 0 (one epoch) completes, job 1 fails, job 2 after it never runs; job 3, a fit
    without end in the other SLURM job, is cancelled. Were the failure not to stop the sweep, it would wait on
    job 3 and time out; job 0 first gives job 3 time to reach its fit, where a cancel stops it at once.
    """
    output_dir = tmp_path / "outputs"
    output_dir.mkdir()
    sweep = start_sweep(*PACED, "trainer.max_epochs=1,10000", "optimizer.lr=0.01,-1,0.02",
                        "hydra.launcher.jobs_per_task=3", "hydra.sweeper.stop_on_failure=true", output_dir=output_dir,
                        env=slurm, log=tmp_path / "log")
    try:
        assert sweep.wait(timeout=240) == 1, (tmp_path / "log").read_text()[-3000:]
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGINT)
            sweep.wait(timeout=120)
    output = (tmp_path / "log").read_text()
    assert "Cancelling 1 SLURM job(s) of the sweep: scancel" in output, output[-3000:]
    assert "Stopped at the first failure (hydra.sweeper.stop_on_failure=true): job 1 failed" in output
    assert "stopped at its first failure (hydra.sweeper.stop_on_failure)" in output and "Traceback" not in output
    rows = {row["job"]: row["status"] for row in job_rows(sweep_dir(output_dir))}
    # Job 3 was cancelled while it trained, or (on a slow machine) while it started; 2, 4 and 5 never ran.
    assert {k: v for k, v in rows.items() if k != 3} == {0: "completed", 1: "failed"}, rows
    assert rows.get(3) in (None, "no record", "interrupted"), rows
    logs = "".join(log.read_text() for log in sweep_dir(output_dir).glob(".submitit/*/*_log.err"))
    assert "job 1 failed: the rest of this pack is not run" in logs
    assert queue() == []  # the sweep waited until the cancelled job had left the queue


def test_a_sweep_that_does_not_wait_returns_after_submitting_and_summary_follows_it(slurm: dict[str, str],
                                                                                    tmp_path: Path) -> None:
    """``hydra.launcher.wait=false``: the command returns with the jobs queued; a requeue still continues the fit."""
    output_dir = tmp_path / "outputs"
    submit = run_cli(*SLURM, *PACED, "seed=1", "trainer.max_epochs=2,8", "hydra.launcher.wait=false",
                     output_dir=output_dir, env=slurm, timeout=120)
    assert submit.returncode == 0, (submit.stdout + submit.stderr)[-3000:]
    assert queue() != []  # returned with its jobs still queued or running: 8 paced epochs take 8 s
    sweep = sweep_dir(output_dir)
    assert f"Follow them with:\n  python -m glossary_exp summary {sweep} --watch" in submit.stdout
    wait_for(lambda: list(sweep.glob("1_*/checkpoints/last.ckpt")), 180, "the second job's first checkpoint")
    (job_id,) = [line.split()[0] for line in queue() if re.fullmatch(r"\d+_1 RUNNING", line)]
    subprocess.run(["scontrol", "requeue", job_id], check=True, capture_output=True)
    watch = subprocess.run([sys.executable, "-m", "glossary_exp", "summary", str(sweep), "--watch", "2"],
                           capture_output=True, text=True, env={**os.environ, **slurm}, timeout=300)
    assert watch.returncode == 0, watch.stderr[-3000:]
    lines = watch.stdout.splitlines()
    assert any("in SLURM's queue: " in line for line in lines[:-1]), watch.stdout[-3000:]  # progress while it ran
    assert "2 jobs (2 completed)" in watch.stdout and "none left in SLURM's queue" in watch.stdout
    short, fit = job_records(output_dir)
    assert short["status"] == "completed" and fit["status"] == "completed"
    assert len(fit["resumed"]) >= 1 and "SIGTERM" in fit["resumed"][0]["after"]  # continued from its last.ckpt
    assert queue() == []
