"""Shared test helpers: run the real CLI in a subprocess and find what it wrote."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "src" / "glossary_exp" / "conf"
PLUGIN_PACKAGE = REPO / "tests" / "plugin_package"
# CI clones the repo with shared/ beside it; GLOSSARY_EXP_DATASET_MIRROR overrides.
DATASET_MIRROR = Path(os.environ.get("GLOSSARY_EXP_DATASET_MIRROR", REPO.parent / "shared" / "datasets"))
QUIET = ("callbacks.progress_bar=false", "print_config=false")
# The files that take longest, longest first (measured on 2 cores, 2026-12-02: SLURM's about 200 s, most of it
# waiting on the cluster), go to the two workers first, so that no long file is left to run alone at the
# end; the rest follow by number of tests (pytest-xdist's own order; pyproject: --no-loadscope-reorder).
FIRST = ("test_sweep_slurm.py", "test_sweep_launchers.py", "test_runs.py", "test_sweep_search.py",
         "test_examples_cli.py", "test_resume_and_checkpoints.py", "test_kills.py", "test_sweep_shared.py",
         "test_steps.py", "test_sweep_grid.py", "test_cli_errors.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files in :data:`FIRST`'s order, then by number of tests; each file's tests as written."""
    counts = collections.Counter(item.path.name for item in items)
    rank = {name: i for i, name in enumerate(FIRST)}
    items.sort(key=lambda item: (rank.get(item.path.name, len(FIRST)), -counts[item.path.name], item.path.name))


def run_cli(*args: str, output_dir: Path, env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python -m glossary_exp *args`` writing under ``output_dir``; never raises on failure."""
    cmd = [sys.executable, "-m", "glossary_exp", *args, f"paths.output_dir={output_dir}", *QUIET]
    full_env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    full_env.update(PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=output_dir.parent)


@dataclass
class InProcess:
    """What :func:`run_in_process` saw: the exit code, the output, and any exception that escaped the CLI."""

    returncode: int
    stdout: str
    stderr: str
    escaped: BaseException | None  # an exception Python would have printed as a traceback


def run_in_process(*args: str, output_dir: Path, env: dict[str, str] | None = None) -> InProcess:
    """``glossary_exp.cli.main()`` as the console script calls it, in this process (Lightning is imported once).

    For the many quick refusals of bad input; environment and working directory are restored after.
    """
    return invoke([*args, f"paths.output_dir={output_dir}", *QUIET], cwd=output_dir.parent, env=env)


def invoke(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> InProcess:
    """``glossary-exp *args`` exactly as given, in this process, run from ``cwd``."""
    from glossary_exp.cli import main

    saved_env, saved_argv, saved_cwd = dict(os.environ), list(sys.argv), os.getcwd()
    os.environ.pop("HYDRA_FULL_ERROR", None)
    os.environ.pop("GLOSSARY_EXP_FULL_ERROR", None)
    os.environ.update(env or {})
    sys.argv = ["glossary-exp", *args]
    out, err = io.StringIO(), io.StringIO()
    code, escaped = 0, None
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                code, escaped = 1, exc
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.argv = saved_argv
    return InProcess(code, out.getvalue(), err.getvalue(), escaped)


def snapshot(root: Path) -> dict[str, str]:
    """Every file (with its md5) and directory under ``root``, hidden ones too: what a command must leave as it was.

    A run's ``.lock`` counts by its presence only: a process that takes the lock writes its PID there.
    """
    def state(path: Path) -> str:
        if path.is_dir():
            return "dir"
        return "lock" if path.name == ".lock" else hashlib.md5(path.read_bytes()).hexdigest()

    return {str(p.relative_to(root)): state(p) for p in sorted(root.rglob("*"))}


def data_cache() -> Path:
    """One data directory for the whole test session: datasets are decoded and cached once."""
    path = Path(os.environ.get("PYTEST_DATA_CACHE", "/tmp/glossary_exp_test_data"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_dirs(output_dir: Path) -> list[Path]:
    """Every run directory (one with a metrics.json) under ``output_dir``, oldest first."""
    return sorted((p.parent for p in output_dir.rglob("metrics.json")), key=lambda p: p.stat().st_mtime)


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``cli("experiment=x", ...)`` runs the CLI with outputs in ``tmp_path/outputs``."""
    output_dir = tmp_path / "outputs"
    output_dir.mkdir()

    def call(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, output_dir=output_dir, **kwargs)

    call.output_dir = output_dir  # type: ignore[attr-defined]
    return call


def read_events(run_dir: Path):
    """TensorBoard's own reader over a run directory (every events file in it)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def read_hparams(run_dir: Path) -> dict[str, object]:
    """The hyperparameters the run gave TensorBoard's HParams dashboard (its session start), by TensorBoard's reader.

    No run writes an experiment summary: TensorBoard builds the dashboard's columns from all runs in view.
    """
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = read_events(run_dir).PluginTagToContent("hparams")
    assert "_hparams_/experiment" not in content, "a run's own experiment summary would fix the columns for all"
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = {}
    for key, value in start.session_start_info.hparams.items():
        kind = value.WhichOneof("kind")
        hparams[key] = getattr(value, kind) if kind else None
    return hparams


def config_names(group: str) -> set[str]:
    """The options of one of our config groups."""
    return {path.stem for path in (CONF / group).glob("*.yaml")}


def needs_dataset_files(experiment: str) -> bool:
    """Whether the preset's data reads dataset files (its data config has a ``root``)."""
    import yaml

    preset = yaml.safe_load((CONF / "experiment" / f"{experiment}.yaml").read_text())
    data = next(d["override /data"] for d in preset["defaults"] if "override /data" in d)
    return "root" in yaml.safe_load((CONF / "data" / f"{data}.yaml").read_text())


@pytest.fixture(scope="session")
def short_fits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every experiment preset that can run here, fitted briefly (debug=limit, one epoch) in one real multirun.

    Returns each preset's run directory, with its checkpoints; presets that need the dataset mirror
    run only when it is there.
    """
    runnable = sorted(e for e in config_names("experiment") if DATASET_MIRROR.is_dir() or not needs_dataset_files(e))
    output_dir = tmp_path_factory.mktemp("presets") / "outputs"
    output_dir.mkdir()
    env = {"GLOSSARY_EXP_DATASET_MIRROR": str(DATASET_MIRROR), "GLOSSARY_EXP_DATA_DIR": str(data_cache())}
    result = run_cli("-m", f"experiment={','.join(runnable)}", "debug=limit", "trainer.max_epochs=1",
                     output_dir=output_dir, env=env if DATASET_MIRROR.is_dir() else None)
    assert result.returncode == 0, result.stderr[-3000:]
    return {read_metrics(run)["overrides"][0].split("=", 1)[1]: run for run in run_dirs(output_dir)}


def install_into(site: Path, *packages: Path) -> dict[str, str]:
    """``pip install --target site packages`` (offline, no dependencies): the environment whose Python finds them.

    Not into the test's virtual environment, which other tests share (and may run at the same time).
    """
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "install", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site), *map(str, packages)], check=True)
    return {**os.environ, "PYTHONPATH": str(site)}


def install_tiny_plugin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """tests/plugin_package (tiny_affine, tiny_points, experiment tiny), a regular install; its environment."""
    build = tmp_path_factory.mktemp("plugin_build")
    # A copy, so building leaves no egg-info in the repo.
    subprocess.run(["cp", "-r", str(PLUGIN_PACKAGE), str(build / "pkg")], check=True)
    return install_into(build / "site", build / "pkg")


@contextlib.contextmanager
def tensorboard_server(logdir: Path) -> Iterator[str]:
    """TensorBoard's own server over ``logdir`` on 127.0.0.1 and a free port; its base URL. Stopped by its PID after."""
    with local_server("tensorboard", ["--logdir", str(logdir)], "/data/runs", "TensorBoard's server") as url:
        yield url


@contextlib.contextmanager
def local_server(program: str, args: list[str], ready: str, what: str) -> Iterator[str]:
    """``program args --host 127.0.0.1 --port <free>`` from the venv, once ``ready`` answers; its base URL.

    Skips, saying why, where the program is not installed or does not start within 60 s; stopped by its PID after.
    """
    import shutil
    import socket
    import time
    import urllib.request

    executable = shutil.which(program, path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.skip(f"{what} (the {program} command) is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([executable, *args, "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}{ready}", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    reason = server.stderr.read()[-500:] if server.stderr and server.poll() is not None else ""
                    pytest.skip(f"{what} did not start: {reason}")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def get_json(url: str, body: dict | None = None) -> object:
    """GET (or POST ``body``) a local server's JSON API URL (TensorBoard's, optuna-dashboard's); the decoded JSON."""
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def fit_once(tmp_path_factory: pytest.TempPathFactory, *args: str) -> Path:
    """One completed run of the CLI with ``args`` in a directory of its own (for module fixtures); its run dir."""
    output_dir = tmp_path_factory.mktemp("run") / "outputs"
    output_dir.mkdir()
    result = run_cli(*args, output_dir=output_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    return run_dirs(output_dir)[0]


def start_cli(*args: str, output_dir: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m glossary_exp *args`` as a background process in a session of its own, output captured."""
    cmd = [sys.executable, "-m", "glossary_exp", *args, f"paths.output_dir={output_dir}", *QUIET]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)


def signal_after_first_checkpoint(process: subprocess.Popen[str], output_dir: Path, signum: int,
                                  delay: float = 0.0, timeout: float = 300) -> str:
    """Send ``signum`` once the run has written its first ``last.ckpt`` (and ``delay`` s more); its output."""
    import time

    deadline = time.time() + timeout
    while not list(output_dir.rglob("last.ckpt")) and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(delay)
    process.send_signal(signum)
    return process.communicate(timeout=120)[0]


def assert_no_noise(result: subprocess.CompletedProcess[str]) -> None:
    """None of the Lightning messages glossary_exp silences (noise.py) reached the user."""
    import re

    from glossary_exp.noise import SILENCED

    output = result.stdout + result.stderr
    for message, _ in SILENCED:
        assert not re.search(message, output), f"printed: {message}"
