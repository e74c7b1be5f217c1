"""Optuna search through the real CLI: trials in one SQLite study, pruning, resume after Ctrl-C; presets compose."""

from __future__ import annotations

import csv
import importlib.util
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from hydra import compose, initialize_config_module
from optuna.trial import TrialState

from conftest import QUIET, get_json, local_server, read_metrics, snapshot
from glossary_exp.errors import ConfigError
from glossary_exp.sweep.space import SPACE_ATTR, check_same_space, search_space
from glossary_exp.sweep.study import INTERRUPTED

# seed=0: every trial starts from the same cubic, so the losses (and what is pruned) are repeatable.
SEARCH = ("hparams_search=sine_cubic", "seed=0", "hydra.sweeper.sampler.seed=0")
PRESETS = sorted(p.stem for p in Path(__file__).parents[1].glob("src/glossary_exp/conf/hparams_search/*.yaml")
                 if p.stem != "grid")  # the default: a grid, not a search


def load_study(sweep_dir: Path) -> optuna.Study:
    return optuna.load_study(study_name="search", storage=f"sqlite:///{sweep_dir / 'optuna.db'}")


def job_dir(sweep_dir: Path, number: int) -> Path:
    (path,) = sweep_dir.glob(f"{number}_*")
    return path


def test_search_runs_trials_as_jobs_and_prunes_bad_ones(cli) -> None:
    done = cli("-m", *SEARCH, "data.steps=10", "trainer.max_epochs=4", "hydra.sweeper.n_trials=4")
    assert done.returncode == 0, done.stderr[-3000:]
    (sweep_dir,) = cli.output_dir.glob("sine_cubic/multirun_*")
    trials = load_study(sweep_dir).trials
    assert len(trials) == 4 and all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert trials[0].params == {"optimizer.lr": 1e-6}  # the preset's enqueued baseline goes first
    for trial in trials:
        record = read_metrics(job_dir(sweep_dir, trial.number))
        assert f"optimizer.lr={trial.params['optimizer.lr']}" in record["overrides"]
        if trial.state == TrialState.COMPLETE:
            assert record["status"] == "completed" and trial.value == pytest.approx(record["metrics"]["train/loss"])
        else:  # stopped by the pruner before its last epoch, with the curve it reported
            assert record["status"] == "pruned" and max(trial.intermediate_values) < 3
    assert any(t.state == TrialState.PRUNED for t in trials)
    with open(sweep_dir / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 and "sorted by train/loss (minimize)" in done.stdout
    values = [float(row["train/loss"]) for row in rows if row["status"] == "completed"]
    assert values == sorted(values) and rows[-1]["status"] == "pruned"
    assert "job pruned: trial" in done.stdout and "job failed: trial" not in done.stdout  # said as what it is


def test_interrupted_search_resumes_in_the_same_study(cli) -> None:
    # About 1.5 s per trial, so the Ctrl-C lands inside trial 1.
    args = ("-m", *SEARCH, "data.steps=500", "trainer.max_epochs=3", "hydra.sweeper.n_trials=3",
            "hydra.sweeper.pruner=null")
    cmd = [sys.executable, "-m", "glossary_exp", *args, f"paths.output_dir={cli.output_dir}", *QUIET]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 300
    while not list(cli.output_dir.glob("*/multirun_*/1_*/metrics.json")) and time.time() < deadline:
        assert process.poll() is None, process.communicate()[0][-3000:]
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0
    (sweep_dir,) = cli.output_dir.glob("sine_cubic/multirun_*")
    assert "the sweep was interrupted" in output and (sweep_dir / "summary.csv").is_file()
    assert read_metrics(job_dir(sweep_dir, 0))["status"] == "completed"  # finished jobs are kept
    assert read_metrics(job_dir(sweep_dir, 1))["status"] == "interrupted"
    before = load_study(sweep_dir).trials
    assert before[1].state == TrialState.FAIL and before[1].user_attrs[INTERRUPTED]

    resumed = cli(*args, f"hydra.sweep.dir={sweep_dir}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = load_study(sweep_dir).trials
    assert len(after) > len(before) and after[0].value == before[0].value  # the same study, grown
    counted = [t for t in after if not t.user_attrs.get(INTERRUPTED)]
    assert len(counted) == 3 and all(t.state == TrialState.COMPLETE for t in counted)
    rerun = next(t for t in after if t.user_attrs.get("rerun_of") == 1)
    assert rerun.params == before[1].params  # the interrupted trial ran again
    assert f"{len(after)} jobs" in resumed.stdout  # the summary lists every job dir of the sweep

    # Run again with another range: refused in one line naming it, the sweep's files as they were.
    other = (*args, "optimizer.lr=tag(log, interval(1e-7, 1e-6))", f"hydra.sweep.dir={sweep_dir}")
    files = snapshot(sweep_dir)
    refused = cli(*other)
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        "error: the study 'search' was searched over another space (optimizer.lr: 1e-08..3e-06 log -> "
        "1e-07..1e-06 log); its trials would mix with these: give a new hydra.sweeper.study_name (or leave out "
        "hydra.sweep.dir) for a new study, or hydra.sweeper.accept_space_change=true to go on in it"]
    assert snapshot(sweep_dir) == files and "Continue it with" not in refused.stdout
    accepted = cli(*other, "hydra.sweeper.accept_space_change=true")  # n_trials=3 counts the study's: none to run
    assert accepted.returncode == 0 and len(load_study(sweep_dir).trials) == len(after), accepted.stderr[-2000:]


@pytest.mark.skipif(importlib.util.find_spec("hydra_plugins.hydra_joblib_launcher") is None,
                    reason="hydra-joblib-launcher is not installed: pip install 'glossary-exp[parallel]'")
def test_a_search_on_two_workers_runs_each_trial_in_its_own_numbered_job(cli) -> None:
    done = cli("-m", *SEARCH, "data.steps=50", "trainer.max_epochs=4", "hydra.sweeper.n_trials=5",
               "hydra/launcher=parallel", "hydra.launcher.n_jobs=2")
    assert done.returncode == 0, done.stderr[-3000:]
    (sweep_dir,) = cli.output_dir.glob("sine_cubic/multirun_*")
    trials = load_study(sweep_dir).trials
    assert len(trials) == 5 and all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    slots = set()
    for trial in trials:  # trial n is job n, in <n>_<overrides>, with the trial's parameters
        job = job_dir(sweep_dir, trial.number)
        assert f"optimizer.lr={trial.params['optimizer.lr']}" in read_metrics(job)["overrides"]
        slots.add(re.search(r"slot (\d) of 2", (job / "run.log").read_text()).group(1))
    assert slots == {"0", "1"}  # both workers ran trials


@pytest.mark.parametrize("preset", PRESETS)
def test_search_presets_compose_and_parse(preset: str) -> None:
    from glossary_exp import registry

    with initialize_config_module(config_module="glossary_exp.conf", version_base="1.3"):
        try:
            cfg = compose("config", overrides=[f"hparams_search={preset}"], return_hydra_config=True)
        except Exception as err:  # reported below with the reason
            if f"experiment/{preset}" in str(err):
                pytest.skip(f"experiment {preset} is not defined yet: {err}")
            raise
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == "hydra_plugins.glossary_optuna.sweeper.GlossaryOptunaSweeper"
    space, fixed = search_space([f"{k}={v}" for k, v in sweeper.params.items()])
    assert space and not fixed
    for key in space:  # every searched key exists in the composed config
        node, _, leaf = key.rpartition(".")
        assert leaf in cfg[node], key
    model = registry.get("model", cfg.model.name)
    reported = sweeper.objective.removeprefix("best/")
    assert reported in model.hparam_metrics or reported == "train/loss", sweeper.objective
    assert sweeper.direction == ("maximize" if "acc" in reported else "minimize")


def test_search_space_follows_hydra_sweep_syntax() -> None:
    space, fixed = search_space(["optimizer.lr=tag(log, interval(1e-5, 1e-1))", "model.hidden=range(4, 17, 4)",
                                 "optimizer=choice(sgd, adam)", "data.noise=interval(0, 1)", "seed=3",
                                 "seed=5", "model.hidden=tag(int, interval(2, 8))"])
    assert space["optimizer.lr"] == optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True)
    assert space["optimizer"] == optuna.distributions.CategoricalDistribution(["sgd", "adam"])
    assert space["data.noise"] == optuna.distributions.FloatDistribution(0, 1)
    assert space["model.hidden"] == optuna.distributions.IntDistribution(2, 8)  # the later override wins
    assert search_space(["model.hidden=range(4, 17, 4)"])[0]["model.hidden"] == \
        optuna.distributions.IntDistribution(4, 16, step=4)  # range stops before 17
    assert fixed == ["seed=5"]


@pytest.mark.parametrize("storage", ["null", "journal"])
def test_optuna_dashboard_serves_the_study_as_the_summary_shows_it(cli, storage: str) -> None:
    done = cli("-m", *SEARCH, "data.steps=10", "trainer.max_epochs=2", "hydra.sweeper.n_trials=3",
               f"hydra.sweeper.storage={storage}")
    assert done.returncode == 0, done.stderr[-3000:]
    (sweep_dir,) = cli.output_dir.glob("sine_cubic/multirun_*")
    study = f"sqlite:///{sweep_dir / 'optuna.db'}" if storage == "null" else str(sweep_dir / "optuna.journal")
    with local_server("optuna-dashboard", [study], "/api/studies", "optuna-dashboard") as url:
        (listed,) = get_json(f"{url}/api/studies")["study_summaries"]
        served = get_json(f"{url}/api/studies/{listed['study_id']}")["trials"]
    with open(sweep_dir / "summary.csv", newline="") as handle:
        rows = {int(row["job"]): row for row in csv.DictReader(handle)}
    assert listed["study_name"] == "search" and len(served) == len(rows) == 3
    for trial in served:  # trial n is job n; a completed trial's value is the job's objective in the summary
        row = rows[trial["number"]]
        if trial["state"] == "Complete":
            assert row["status"] == "completed" and trial["values"] == [pytest.approx(float(row["train/loss"]))]
        else:
            assert row["status"] == trial["state"].lower()


def test_a_study_goes_on_only_in_its_own_space_unless_the_change_is_accepted() -> None:
    lr = {"optimizer.lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True)}
    wider = {"optimizer.lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True),
             "data.batch_size": optuna.distributions.CategoricalDistribution([32, 64])}
    study = optuna.create_study()
    check_same_space(study, lr, accept=False)  # a new study takes the space it is given
    check_same_space(study, dict(lr), accept=False)  # the same space again
    with pytest.raises(ConfigError, match=r"\(data.batch_size: none -> choice\(32, 64\); "
                                          r"optimizer.lr: 0.0001..0.1 log -> 1e-05..0.1 log\)"):
        check_same_space(study, wider, accept=False)
    check_same_space(study, wider, accept=True)
    check_same_space(study, wider, accept=False)  # the accepted space is the study's from now on
    older = optuna.create_study()  # saved before the space was recorded: its trials' distributions say
    older.add_trial(optuna.trial.create_trial(params={"optimizer.lr": 0.01}, distributions=lr, value=1.0))
    assert SPACE_ATTR not in older.user_attrs
    with pytest.raises(ConfigError, match=r"optimizer\.lr: 0\.0001\.\.0\.1 log -> 1e-05\.\.0\.1 log"):
        check_same_space(older, wider, accept=False)
