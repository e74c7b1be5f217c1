"""One study, several search processes: a journal file, a real PostgreSQL server; a dead worker's trial runs again."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from conftest import QUIET, read_metrics, run_in_process
from glossary_exp.redact import redact
from glossary_exp.sweep.study import INTERRUPTED, open_storage, storage_url

# About a second per trial, so two processes that start together both get trials.
SEARCH = ("-m", "hparams_search=sine_cubic", "seed=0", "data.steps=300", "trainer.max_epochs=2", "model.plot=false")
N_TRIALS = 6


def run_two_searches(tmp_path: Path, storage: str) -> list[Path]:
    """Two search processes on one study, each with its own sweep directory; their sweep directories."""
    processes = []
    for name in ("first", "second"):
        cmd = [sys.executable, "-m", "glossary_exp", *SEARCH, f"hydra.sweeper.n_trials={N_TRIALS}",
               f"hydra.sweeper.storage='{storage}'", f"paths.output_dir={tmp_path / name}", *QUIET]
        processes.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [process.communicate(timeout=300)[0] for process in processes]
    assert [p.returncode for p in processes] == [0, 0], "\n".join(o[-2000:] for o in outputs)
    return [d for name in ("first", "second") for d in (tmp_path / name).glob("*/multirun_*")]


def check_one_study(storage: str, sweep_dirs: list[Path]) -> None:
    """Exactly n_trials trials count, each ran in a directory of its own, with its own parameters, once."""
    study = optuna.load_study(study_name="search", storage=open_storage(storage_url(storage, ".")))
    counted = [t for t in study.trials if not t.user_attrs.get(INTERRUPTED)]
    assert len(counted) == N_TRIALS
    assert all(t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for t in counted)
    jobs = [job.parent for sweep_dir in sweep_dirs for job in sweep_dir.glob("*/metrics.json")]
    numbers = [int(job.name.split("_")[0]) for job in jobs]
    assert sorted(numbers) == sorted(t.number for t in counted)  # no trial twice, no directory shared
    by_number = {t.number: t for t in counted}
    for number, job in zip(numbers, jobs, strict=True):
        assert f"optimizer.lr={by_number[number].params['optimizer.lr']}" in read_metrics(job)["overrides"]
    assert len({t.user_attrs["owner"] for t in counted}) == 2  # both processes worked on it


def test_two_search_processes_share_a_journal_file(tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'study.journal'}"
    check_one_study(storage, run_two_searches(tmp_path, storage))


@contextlib.contextmanager
def postgres_server(password: str | None = None) -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 and a free port (its socket in its own temp dir); its URL.

    With ``password``, TCP connections must give it (scram-sha-256); the URL never holds it.
    """
    bindir = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
                  if shutil.which("pg_config") else "/usr/lib/postgresql/15/bin")
    if not (bindir / "initdb").is_file() or not (bindir / "pg_ctl").is_file():
        pytest.skip(f"PostgreSQL's server is not installed (no initdb, pg_ctl in {bindir}): apt-get install postgresql")
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("psycopg is not installed: pip install 'glossary-exp[postgres]'")
    as_user: dict = {}
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, and there is no 'postgres' user to run PostgreSQL as")
        as_user = {"user": account.pw_uid, "group": account.pw_gid}
    root = Path(tempfile.mkdtemp(prefix="glossary_pg_"))
    (root / "sock").mkdir()
    auth = ["--auth=trust"]
    if password is not None:
        (root / "pwfile").write_text(password + "\n")
        auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={root / 'pwfile'}"]
    if as_user:
        for path in (root, root / "sock", *root.glob("pwfile")):
            os.chown(path, as_user["user"], as_user["group"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = root / "data"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-w"]
    try:
        subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", "glossary", *auth, "-E", "UTF8"],
                       check=True, capture_output=True, **as_user)
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root / 'sock'} -c fsync=off"
        subprocess.run([*pg_ctl, "-l", str(root / "server.log"), "-o", options, "start"], check=True,
                       capture_output=True, **as_user)
        yield f"postgresql://glossary@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, **as_user)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def test_two_search_processes_share_a_postgresql_study(tmp_path: Path, postgres: str) -> None:
    check_one_study(postgres, run_two_searches(tmp_path, postgres))


def test_a_trial_whose_worker_stopped_beating_is_failed_and_its_parameters_run_again(cli, tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'study.journal'}"
    study = optuna.create_study(study_name="search", storage=open_storage(storage_url(storage, ".")))
    dead = study.ask({"optimizer.lr": optuna.distributions.FloatDistribution(1e-8, 3e-6, log=True)})
    dead.set_user_attr("owner", "another-machine:4242")
    dead.set_user_attr("heartbeat", time.time() - 3600)  # its worker went silent an hour ago

    done = cli("-m", "hparams_search=sine_cubic", "data.steps=10", "trainer.max_epochs=2", "hydra.sweeper.n_trials=2",
               f"hydra.sweeper.storage='{storage}'")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trial 0: no heartbeat from another-machine:4242" in done.stdout + done.stderr
    trials = optuna.load_study(study_name="search", storage=open_storage(storage_url(storage, "."))).trials
    assert trials[0].state == optuna.trial.TrialState.FAIL and trials[0].user_attrs[INTERRUPTED]
    rerun = [t for t in trials if t.user_attrs.get("rerun_of") == 0]
    assert len(rerun) == 1 and rerun[0].params == dead.params and rerun[0].state.is_finished()
    assert len([t for t in trials if not t.user_attrs.get(INTERRUPTED)]) == 2


def test_a_storage_that_cannot_work_is_one_line(cli) -> None:
    done = cli("-m", "hparams_search=sine_cubic", "hydra.sweeper.storage=redis://localhost/0")
    assert done.returncode == 2 and done.stderr.startswith("error: hydra.sweeper.storage=redis://localhost/0: not a")
    assert len(done.stderr.strip().splitlines()) == 1 and not list(cli.output_dir.rglob("*_*"))


def test_a_missing_postgresql_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from glossary_exp.errors import ConfigError
    from glossary_exp.sweep.study import check_storage

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r"needs psycopg.*pip install 'glossary-exp\[postgres\]'"):
        check_storage(storage_url("postgresql://me:secret@db.example:5432/studies", "."))
    with pytest.raises(ConfigError, match=r"me:\*\*\*@"):  # the password is never shown
        check_storage(storage_url("postgresql://me:secret@db.example:5432/studies", "."))


def test_a_password_in_a_storage_url_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    output_dir = tmp_path / "outputs"
    storage = "hydra.sweeper.storage=postgresql://me:Sw0rdf1sh@127.0.0.1:5432/studies"
    done = run_in_process("-m", "hparams_search=sine_cubic", storage, output_dir=output_dir)
    assert done.returncode == 2 and done.escaped is None
    assert done.stderr.startswith("error: hydra.sweeper.storage=postgresql://me:***@127.0.0.1:5432/studies holds a "
                                  "password") and "PGPASSWORD or ~/.pgpass" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Sw0rdf1sh" not in done.stdout + done.stderr
    assert not output_dir.exists()
    # From the environment, it would reach each job's overrides (a search's storage) or a run's config.yaml.
    env = {"DB_URL": "postgresql://me:Sw0rdf1sh@127.0.0.1:5432/studies", "MIRROR": "https://me:Sw0rdf1sh@mirror/x"}
    for command in (("-m", "hparams_search=sine_cubic", "hydra.sweeper.storage=${oc.env:DB_URL}"),
                    ("experiment=linear_regression", "paths.dataset_mirror=${oc.env:MIRROR}")):
        done = run_in_process(*command, output_dir=output_dir, env=env)
        assert done.returncode == 2 and done.escaped is None and len(done.stderr.strip().splitlines()) == 1
        assert "holds a password" in done.stderr and "Sw0rdf1sh" not in done.stdout + done.stderr
        assert not output_dir.exists() or not any(output_dir.rglob("*"))
    # A password with "/" or "@" typed as is: all of it hidden, never a piece.
    assert redact("postgresql+psycopg://me:pa/ss@db/x") == "postgresql+psycopg://me:***@db/x"
    assert redact("postgresql://me:p@ss@db/x, as user@db") == "postgresql://me:***@db/x, as user@db"


def test_a_password_in_a_url_from_a_yaml_file_is_refused_too(tmp_path: Path) -> None:
    presets = tmp_path / "conf" / "hparams_search"
    presets.mkdir(parents=True)
    (presets / "leaky.yaml").write_text(
        "# @package _global_\n"
        "defaults: [{override /experiment: sine_cubic}, {override /hydra/sweeper: glossary_optuna}]\n"
        "hydra: {sweeper: {storage: 'mysql://me:Sw0rdf1sh@db.example/studies', "
        "params: {optimizer.lr: 'interval(1e-7, 1e-5)'}}}\n")
    output_dir = tmp_path / "outputs"
    done = run_in_process("--config-dir", str(tmp_path / "conf"), "-m", "hparams_search=leaky", output_dir=output_dir)
    assert done.returncode == 2 and done.escaped is None
    assert done.stderr.startswith("error: hydra.sweeper.storage=mysql://me:***@db.example/studies holds a password")
    assert len(done.stderr.strip().splitlines()) == 1 and "Sw0rdf1sh" not in done.stdout + done.stderr
    assert not output_dir.exists()


def test_a_search_reaches_postgresql_with_pgpassword_and_the_password_is_in_no_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    password = "pw-" + secrets.token_hex(8)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    with postgres_server(password) as url:
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(url).close()  # the server does ask for it
        output_dir = tmp_path / "outputs"
        output_dir.mkdir()
        done = subprocess.run(
            [sys.executable, "-m", "glossary_exp", "-m", "hparams_search=sine_cubic", "data.steps=10",
             "trainer.max_epochs=2", "hydra.sweeper.n_trials=2", f"hydra.sweeper.storage={url}",
             f"paths.output_dir={output_dir}", *QUIET],
            capture_output=True, text=True, env={**os.environ, "PGPASSWORD": password}, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        trials = optuna.load_study(study_name="search", storage=url.replace("postgresql://", "postgresql+psycopg://")
                                   .replace("glossary@", f"glossary:{password}@")).trials
        assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert password not in done.stdout + done.stderr
    files = [path for path in output_dir.rglob("*") if path.is_file()]
    assert len(files) > 10 and not [path for path in files if password.encode() in path.read_bytes()]
