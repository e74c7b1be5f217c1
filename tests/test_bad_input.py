"""Every kind of bad input, through the CLI's own entry point: one short line on stderr that names the key,
a non-zero exit, no traceback, and nothing created or changed on disk.

The commands run in this process (``run_in_process``: the console script's ``main()``), so 100+ of
them cost seconds, not Lightning's import each; test_cli_errors.py checks the same contract on
real subprocesses for a few.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from conftest import InProcess, run_dirs, run_in_process, snapshot

MARKER = Path("/tmp/glossary_exp_test_pwned")


class Payload:
    """What an attacker's checkpoint would hold: unpickling it creates MARKER."""

    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An output directory with earlier runs, and the files the bad inputs point at."""
    root = tmp_path_factory.mktemp("bad_input")
    outputs = root / "outputs"
    outputs.mkdir()
    done = run_in_process("experiment=random_regression", "data.samples=200", "trainer.max_epochs=2",
                          output_dir=outputs)
    assert done.returncode == 0, done.stderr
    (completed,) = run_dirs(outputs)
    files = root / "files"
    files.mkdir()
    # Copies of the completed run in the states a resume can meet.
    runs = {name: files / name for name in ("interrupted", "no_checkpoint", "crafted_last", "locked")}
    for path in runs.values():
        shutil.copytree(completed, path)
        record = json.loads((path / "metrics.json").read_text())
        (path / "metrics.json").write_text(json.dumps({**record, "status": "interrupted"}))
    (runs["no_checkpoint"] / "checkpoints" / "last.ckpt").unlink()
    torch.save({"state_dict": {}, "x": Payload()}, runs["crafted_last"] / "checkpoints" / "last.ckpt")
    torch.save({"state_dict": {}, "x": Payload()}, files / "crafted.ckpt")
    with open(files / "crafted_raw.ckpt", "wb") as handle:
        pickle.dump({"state_dict": {}, "x": Payload()}, handle)
    good = completed / "checkpoints" / "best.ckpt"
    (files / "truncated.ckpt").write_bytes(good.read_bytes()[:300])
    (files / "text.ckpt").write_text("not a checkpoint\n")
    (files / "a_file").write_text("a file, not a directory\n")
    presets = files / "conf" / "experiment"  # a plugin's presets, each with a typo
    presets.mkdir(parents=True)
    for name, typo in (("typo_trainer", "trainer:\n  max_epoch: 1\n"), ("typo_data", "data:\n  sampels: 40\n"),
                       ("typo_callbacks", "callbacks:\n  progres_bar: false\n")):
        (presets / f"{name}.yaml").write_text("# @package _global_\ndefaults:\n  - override /model: random_regression\n"
                                              f"  - override /data: random_regression\n{typo}")
    other = run_in_process("experiment=linear_regression", "data.passes=2", "trainer.max_epochs=1", output_dir=outputs)
    assert other.returncode == 0, other.stderr
    (linear,) = [run for run in run_dirs(outputs) if run != completed]
    mirror = root / "mirror"
    (mirror / "MNIST" / "raw").mkdir(parents=True)
    return {"root": root, "outputs": outputs, "completed": completed, "good": good, "files": files,
            "linear_ckpt": linear / "checkpoints" / "last.ckpt", "mirror": mirror, **runs}


RR = "experiment=random_regression"
ADAM = "optimizer=adam"
# (arguments, what the message must contain). {name} is replaced by the workspace path of that name.
BAD_INPUTS: list[tuple[tuple[str, ...], str]] = [
    # Unknown options and keys, answered with the nearest
    (("experiment=linear_regresion",),
     "experiment=linear_regresion is not an option (did you mean linear_regression?)"),
    (("experiment=no_such_thing",), "experiment=no_such_thing is not an option; choose one of: cifar10_cnn"),
    (("model=nope",), "model=nope is not an option"),
    (("data=mnistt",), "data=mnistt is not an option (did you mean mnist?)"),
    (("optimizer=adamm",), "optimizer=adamm is not an option (did you mean adam?)"),
    (("scheduler=cosin",), "scheduler=cosin is not an option (did you mean cosine?)"),
    (("accelerator=gpuu",), "accelerator=gpuu is not an option (did you mean gpu?)"),
    (("logger=tensorbord",), "logger=tensorbord is not an option (did you mean tensorboard?)"),
    (("debug=fast",), "debug=fast is not an option"),
    (("hparams_search=mnist",), "hparams_search=mnist is not an option (did you mean mnist_mlp?)"),
    (("callbacks=none",), "callbacks=none is not an option"),
    (("experiment=mnist_mlp", "model.hiden=64"), "model.hiden is not a setting (did you mean model.hidden?)"),
    (("trainer.max_epoch=3",),
     "trainer.max_epoch is not a setting of Lightning's Trainer (did you mean trainer.max_epochs?)"),
    (("optimizer.lrr=0.1",), "optimizer.lrr is not a setting (did you mean optimizer.lr?)"),
    ((RR, "data.batchsize=3"), "data.batchsize is not a setting (did you mean data.batch_size?)"),
    (("callbacks.progressbar=false",), "callbacks.progressbar is not a setting (did you mean callbacks.progress_bar?)"),
    (("paths.outputdir=x",), "paths.outputdir is not a setting (did you mean paths.output_dir?)"),
    (("accelerator.device=2",), "accelerator.device is not a setting (did you mean trainer.devices?)"),
    (("accelerator.devices=2",),
     "accelerator.devices is now trainer.devices, Lightning's own name: use trainer.devices=2"),
    (("+accelerator.strategy=ddp",), "accelerator.strategy is now trainer.strategy"),
    (("seeed=1",), "seeed is not a setting (did you mean seed?)"),
    (("+seeed=1",), "seeed is not a setting (did you mean seed?)"),
    (("+callbacks.progressbar=false",),
     "callbacks.progressbar is not a setting (did you mean callbacks.progress_bar?)"),
    (("+paths.cache=x",), "paths.cache is not a setting"),
    (("+accelerator.nodes=2",), "accelerator.nodes is not a setting (did you mean trainer.num_nodes?)"),
    (("+logger.level=1",), "logger.level is not a setting"),
    ((RR, "+model.hiden=3"), "model.hiden is not a setting of model random_regression (did you mean model.hidden?)"),
    ((RR, "+data.sampels=10"), "data.sampels is not a setting of data random_regression (did you mean data.samples?)"),
    ((ADAM, "+optimizer.betaz=[0.9,0.9]"),
     "optimizer.betaz is not a setting of torch.optim.Adam (did you mean optimizer.betas?)"),
    (("+trainer.max_epoch=3",),
     "trainer.max_epoch is not a setting of Lightning's Trainer (did you mean trainer.max_epochs?)"),
    (("scheduler=step", "+scheduler.gama=0.5"),
     "scheduler.gama is not a setting of torch's StepLR (did you mean scheduler.gamma?)"),
    (("model.name=nope",), "model.name='nope' is not a registered model"),
    (("data.name=sine_cubicc",), "data.name='sine_cubicc' is not a registered data (did you mean sine_cubic?)"),
    # A typo in a preset's YAML names the file
    (("experiment=typo_trainer", "hydra.searchpath=[file://{files}/conf]"),
     "trainer.max_epoch is not a setting of Lightning's Trainer (did you mean trainer.max_epochs?); `python -m "
     "glossary_exp list trainer` shows all of them (set in {files}/conf/experiment/typo_trainer.yaml)"),
    (("experiment=typo_data", "hydra.searchpath=[file://{files}/conf]"),
     "(did you mean data.samples?); allowed: samples, features, noise, val_fraction, test_fraction, batch_size, "
     "data_seed (set in {files}/conf/experiment/typo_data.yaml)"),
    (("experiment=typo_callbacks", "hydra.searchpath=[file://{files}/conf]"),
     "early_stopping_patience (in experiment/typo_callbacks.yaml)"),
    # Other tools' spellings: LightningCLI's, lightning-hydra-template's
    (("fit", "--trainer.max_epochs=3", "--model.hidden", "8"), "that is LightningCLI's spelling; glossary_exp takes "
     "Hydra overrides: python -m glossary_exp trainer.max_epochs=3 model.hidden=8"),
    (("--print_config",), "glossary_exp takes Hydra overrides: python -m glossary_exp --cfg job"),
    (("test", "--ckpt_path", "best.ckpt", "--seed_everything=3"),
     "python -m glossary_exp task=test ckpt_path=best.ckpt seed=3"),
    (("trainer=gpu",), "the device presets (lightning-hydra-template's trainer=gpu) are accelerator=<auto|cpu|gpu|mps"),
    # Overrides Hydra cannot parse
    (("x=[",), "cannot parse 'x=['"),
    (("optimizer.lr=[1,2",), "cannot parse 'optimizer.lr=[1,2'"),
    # Our own settings: strict types
    (("deterministic=maybe",), "deterministic must be true or false, got 'maybe'"),
    (("deterministic=1",), "deterministic must be true or false, got 1"),
    (("callbacks.progress_bar=maybe",), "callbacks.progress_bar must be true or false, got 'maybe'"),
    (("callbacks.progress_bar=yes",), "callbacks.progress_bar must be true or false, got yes"),
    (("callbacks.lr_monitor=2",), "callbacks.lr_monitor must be true or false, got 2"),
    (("print_config=on",), "print_config must be true or false, got on"),
    (("trust_checkpoint=yes",), "trust_checkpoint must be true or false, got yes"),
    (("seed=abc",), "seed must be a whole number or null, got 'abc'"),
    (("seed=1.5",), "seed must be a whole number or null, got 1.5"),
    (("seed=-1",), "seed must be a whole number >= 0 or null, got -1"),
    (("steps_per_execution=0",), "steps_per_execution must be a whole number >= 1, got 0"),
    (("steps_per_execution=2.5",), "steps_per_execution must be a whole number, got 2.5"),
    (("steps_per_execution=abc",), "steps_per_execution must be a whole number, got 'abc'"),
    (("callbacks.progress_refresh_rate=0",), "callbacks.progress_refresh_rate must be >= 1, got 0"),
    (("callbacks.progress_refresh_rate=fast",), "callbacks.progress_refresh_rate must be a whole number"),
    (("callbacks.early_stopping_patience=-1",), "callbacks.early_stopping_patience must be >= 0, got -1"),
    (("callbacks.early_stopping_patience=2.5",), "callbacks.early_stopping_patience must be a whole number or null"),
    (("callbacks.checkpoint.mode=maximum",), "callbacks.checkpoint.mode='maximum' is not allowed (did you mean max?)"),
    ((RR, "callbacks.checkpoint.monitor=val/acc"),
     "callbacks.checkpoint.monitor='val/acc' is not a metric this run logs"),
    ((RR, "callbacks.checkpoint.monitor=test/loss"), "callbacks.checkpoint.monitor='test/loss' is not a metric"),
    (("task=evaluate",), "task='evaluate' is not allowed; choose one of: fit, test, predict"),
    (("task=tst",), "task='tst' is not allowed (did you mean test?)"),
    (("task=test",), "task=test needs ckpt_path=<file.ckpt>"),
    (("task=predict",), "task=predict needs ckpt_path=<file.ckpt>"),
    (("experiment=linear_regression", "task=test", "ckpt_path={good}"),
     "task=test needs a test split, and data=linear_regression has none"),
    (("experiment=sine_cubic", "task=predict", "ckpt_path={good}"), "task=predict needs a predict split"),
    (("logger.name=wandb",), "logger='wandb' is not allowed; choose one of: tensorboard, csv"),
    # Trainer settings, against Lightning's Trainer signature
    (("trainer.max_epochs=0",), "trainer.max_epochs must be >= 1, got 0"),
    (("trainer.max_epochs=-2",), "trainer.max_epochs must be >= 1, got -2"),
    (("trainer.max_epochs=2.5",), "trainer.max_epochs must be a whole number or null, got 2.5"),
    (("trainer.max_epochs=abc",), "trainer.max_epochs must be a whole number or null, got 'abc'"),
    (("trainer.max_epochs=null",), "trainer.max_epochs must be >= 1 (or null with trainer.max_steps >= 1)"),
    (("trainer.limit_train_batches=0",), "trainer.limit_train_batches must be > 0, got 0"),
    (("trainer.limit_train_batches=1.5",), "trainer.limit_train_batches is a count of batches or a fraction"),
    (("trainer.limit_val_batches=-1",), "trainer.limit_val_batches must be >= 0, got -1"),
    (("trainer.gradient_clip_val=-1",), "trainer.gradient_clip_val must be >= 0, got -1"),
    (("trainer.log_every_n_steps=-1",), "trainer.log_every_n_steps must be >= 0, got -1"),
    (("trainer.precision=33",), "trainer.precision must be one of 64, 32, 16"),
    (("trainer.fast_dev_run=maybe",), "trainer.fast_dev_run must be a whole number or true or false, got 'maybe'"),
    (("trainer.overfit_batches=-1",), "trainer.overfit_batches must be >= 0, got -1"),
    (("trainer.num_sanity_val_steps=-2",), "trainer.num_sanity_val_steps must be >= -1, got -2"),
    (("+trainer.accumulate_grad_batches=0",), "trainer.accumulate_grad_batches must be >= 1, got 0"),
    (("+trainer.max_steps=-5",), "trainer.max_steps must be >= -1, got -5"),
    (("+trainer.logger=false",), "trainer.logger is set by glossary_exp; use logger=tensorboard|csv"),
    (("+trainer.callbacks=[]",), "trainer.callbacks is set by glossary_exp"),
    (("trainer.logger=false",), "trainer.logger is set by glossary_exp; use logger=tensorboard|csv"),
    (("trainer.enable_checkpointing=false",),
     "trainer.enable_checkpointing is set by glossary_exp; use callbacks.checkpoint"),
    (("trainer.default_root_dir=/tmp",), "trainer.default_root_dir is set by glossary_exp; use paths.output_dir"),
    (("trainer.num_nodes=0",), "trainer.num_nodes must be >= 1, got 0"),
    (("trainer.detect_anomaly=maybe",), "trainer.detect_anomaly must be true or false, got 'maybe'"),
    (("trainer.profiler=5",), "trainer.profiler must be a string or null, got 5"),
    # Accelerators: what Lightning refuses, with what this machine has
    (("trainer.devices=abc",), "Lightning refused trainer.accelerator=auto trainer.devices=abc"),
    (("trainer.strategy=nope",),
     "trainer.strategy=nope or another trainer.* setting: You selected an invalid strategy"),
    (("trainer.accelerator=tpu",), "Lightning refused trainer.accelerator=tpu"),
    (("+trainer.accelerator=cpu",), "trainer.accelerator is already set; give it without + (trainer.accelerator=...)"),
    (("accelerator=cpu", "trainer.devices=0"), "Lightning refused trainer.accelerator=cpu trainer.devices=0"),
    # Optimizers: torch's signature, ranges by name, then torch's own checks on a stand-in parameter
    (("optimizer.lr=abc",), "optimizer.lr must be a finite number, got 'abc'"),
    (("optimizer.lr=-1",), "optimizer.lr must be > 0, got -1"),
    (("optimizer.lr=0",), "optimizer.lr must be > 0, got 0"),
    (("optimizer.lr=nan",), "optimizer.lr must be a finite number, got nan"),
    (("optimizer.lr=inf",), "optimizer.lr must be a finite number, got inf"),
    (("optimizer.momentum=-1",), "optimizer.momentum must be >= 0, got -1"),
    (("optimizer.momentum=fast",), "optimizer.momentum must be a finite number, got 'fast'"),
    (("optimizer.weight_decay=-1",), "optimizer.weight_decay must be >= 0, got -1"),
    (("optimizer.nesterov=maybe",), "optimizer.nesterov must be true or false, got 'maybe'"),
    (("optimizer.nesterov=true",), "optimizer.nesterov=True refused by torch: Nesterov momentum requires a momentum"),
    ((ADAM, "optimizer.betas=0.9"), "optimizer.betas must be a list of 2 numbers, got 0.9"),
    ((ADAM, "optimizer.betas=[1.5,0.9]"),
     "optimizer.betas=[1.5, 0.9] refused by torch: Invalid beta parameter at index 0"),
    ((ADAM, "optimizer.betas=[0.9]"), "optimizer.betas must be a list of 2 numbers, got [0.9]"),
    ((ADAM, "+optimizer.eps=-1"), "optimizer.eps must be > 0, got -1"),
    (("optimizer.fused=yes",), "optimizer.fused must be true or false or null, got 'yes'"),
    (("optimizer.fused=true", "optimizer.foreach=true"),
     "optimizer.fused=true and optimizer.foreach=true exclude each other"),
    (("optimizer.name=rmsprop",), "optimizer.name='rmsprop' is not allowed; choose one of: sgd, adam, adamw"),
    # Schedulers
    (("scheduler=step", "scheduler.interval=hour"),
     "scheduler.interval='hour' is not allowed; choose one of: epoch, step"),
    (("scheduler=step", "scheduler.step_size=0"), "scheduler.step_size must be >= 1, got 0"),
    (("scheduler=step", "scheduler.gamma=-1"), "scheduler.gamma must be > 0, got -1"),
    (("scheduler=cosine", "scheduler.T_max=0"), "scheduler.T_max must be >= 1, got 0"),
    (("scheduler=cosine", "scheduler.eta_min=-1"), "scheduler.eta_min must be >= 0, got -1"),
    (("scheduler.name=plateau",), "scheduler.name='plateau' is not allowed; choose one of: none, step, cosine"),
    # Plugin settings, against the plugin's own signature
    ((RR, "model.hidden=-5"), "model.hidden must be >= 0, got -5"),
    ((RR, "model.hidden=2.5"), "model.hidden must be a whole number, got 2.5"),
    ((RR, "model.in_features=0"), "model.in_features must be >= 1, got 0"),
    ((RR, "data.features=5"), "model.in_features=10 but data.features=5"),
    ((RR, "data.samples=0"), "data.samples must be >= 1, got 0"),
    ((RR, "data.samples=abc"), "data.samples must be a whole number, got 'abc'"),
    ((RR, "data.batch_size=0"), "data.batch_size must be >= 1, got 0"),
    ((RR, "data.batch_size=2.5"), "data.batch_size must be a whole number, got 2.5"),
    ((RR, "data.val_fraction=1.5"), "data.val_fraction must be > 0 and < 1, got 1.5"),
    ((RR, "data.test_fraction=1.5"), "data.test_fraction must be > 0 and < 1, got 1.5"),
    ((RR, "data.val_fraction=0.6", "data.test_fraction=0.6"), "data.val_fraction + data.test_fraction must be below 1"),
    ((RR, "data.noise=-1"), "data.noise must be >= 0, got -1"),
    (("experiment=sine_cubic", "model.gradients=numeric"),
     "model.gradients must be one of autograd, manual, got 'numeric'"),
    (("experiment=sine_cubic", "data.points=0"), "data.points must be >= 1, got 0"),
    (("experiment=sine_cubic", "data.steps=0"), "data.steps must be >= 1, got 0"),
    (("experiment=sine_cubic", "model.plot=sometimes"), "model.plot must be true or false, got 'sometimes'"),
    (("experiment=linear_regression", "data.passes=0"), "data.passes must be >= 1, got 0"),
    (("experiment=quadratic_gd", "model.start=abc"), "model.start must be a finite number, got 'abc'"),
    (("experiment=quadratic_gd", "model.print_every=0"), "model.print_every must be >= 1, got 0"),
    (("experiment=random_images", "data.num_classes=0"), "data.num_classes must be >= 1, got 0"),
    (("experiment=random_images", "+data.transforms.hflip=2"),
     "data.transforms.hflip is a probability in [0, 1], got 2"),
    (("experiment=random_images", "data.transforms.hflip=2"), "data.transforms.hflip is not a setting"),
    (("experiment=random_images", "+data.transforms.blur=1"), "data.transforms.blur is not a transform"),
    (("experiment=random_images", "data.size=0"), "data.size must be >= 1, got 0"),
    (("experiment=random_images", "model.num_classes=5"), "model.num_classes=5 but the data has 10 classes"),
    (("experiment=mnist_mlp", "data.transforms.normalize=imagnet"), "data.transforms.normalize must be 'imagenet'"),
    (("experiment=image_folder", "data.path=null"), "data.path is not set"),
    (("experiment=image_folder", "data.path={files}/nowhere"), "has no train/ folder"),
    (("experiment=mnist_mlp", "paths.dataset_mirror=null", "data.download=false", "paths.data_dir={files}/empty"),
     "MNIST not found"),
    # Paths: nothing is ever written into the dataset mirror; an output directory that cannot be one
    (("paths.dataset_mirror={mirror}", "paths.data_dir={mirror}"),
     "paths.data_dir={mirror} lies inside the read-only dataset mirror"),
    (("paths.dataset_mirror={mirror}", "paths.data_dir={mirror}/cache"), "lies inside the read-only dataset mirror"),
    (("experiment=mnist_mlp", "paths.dataset_mirror={mirror}", "data.root={mirror}/MNIST"),
     "data.root={mirror}/MNIST lies inside"),
    # Checkpoints: missing, unreadable, of another model, or asking to run code
    ((RR, "task=test", "ckpt_path=/no/such.ckpt"), "ckpt_path=/no/such.ckpt: no such file"),
    ((RR, "task=test", "ckpt_path={files}"), "is a directory, not a checkpoint file"),
    ((RR, "task=test", "ckpt_path={files}/truncated.ckpt"), "truncated.ckpt: not a readable checkpoint"),
    ((RR, "task=test", "ckpt_path={files}/text.ckpt"), "text.ckpt: not a readable checkpoint"),
    ((RR, "task=test", "ckpt_path={files}/crafted.ckpt"),
     "asks to load posix.system, which no checkpoint needs: refused"),
    ((RR, "task=predict", "ckpt_path={files}/crafted_raw.ckpt"), "asks to load posix.system"),
    ((RR, "task=test", "ckpt_path={linear_ckpt}"), "does not fit model=RandomRegression: it has no net.weight"),
    ((RR, "ckpt_path={files}/crafted.ckpt"), "asks to load posix.system"),
    ((RR, "ckpt_path=/no/such.ckpt"), "ckpt_path=/no/such.ckpt: no such file"),
    ((RR, "model.hidden=4", "ckpt_path={good}"), "does not fit model=RandomRegression"),
    # Resume: only an interrupted fit, with its own config, by one process at a time
    (("resume=/no/such/run",), "resume=/no/such/run: not a run directory or the id of one run"),
    (("resume=1999",), "resume=1999: not a run directory or the id of one run"),
    (("resume={completed}",), "the run completed; to train it further, run its command again with ckpt_path="),
    (("resume={completed}", "trainer.max_epochs=40"), "so trainer.max_epochs=40 cannot apply"),
    (("resume={interrupted}", "experiment=mnist_mlp"), "so experiment=mnist_mlp cannot apply"),
    (("resume={interrupted}", "ckpt_path={good}"), "cannot apply"),
    (("resume={no_checkpoint}",), "the run saved no checkpoint yet"),
    (("resume={crafted_last}",), "its last.ckpt asks to load posix.system"),
    (("resume={locked}",), "the run is in use by process"),
    # A search's sampler and pruner: the arguments of the class their _target_ names
    (("-m", "hparams_search=sine_cubic", "hydra.sweeper.sampler.n_startup_trial=5"),
     "hydra.sweeper.sampler.n_startup_trial is not a setting of optuna.samplers.TPESampler (did you mean "
     "hydra.sweeper.sampler.n_startup_trials?)"),
    (("-m", "hparams_search=sine_cubic", "hydra.sweeper.pruner._target_=optuna.pruners.MedianPrunr"),
     "optuna.pruners has no MedianPrunr (did you mean optuna.pruners.MedianPruner?)"),
    # Modes
    (("-m", "optimizer.lr=0.1,0.01", "--cfg", "job"), "--multirun and --cfg exclude each other"),
]


def fill(argument: str, workspace: dict[str, Path]) -> str:
    return argument.format(**{name: str(path) for name, path in workspace.items()})


@pytest.mark.parametrize("arguments,message", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_gets_one_line_naming_the_key_and_changes_nothing(workspace: dict[str, Path],
                                                                    arguments: tuple[str, ...], message: str) -> None:
    arguments = tuple(fill(a, workspace) for a in arguments)
    message = fill(message, workspace)
    if any("locked" in a for a in arguments):
        # Another process resuming it: the lock is held until the finally below.
        lock = open(workspace["locked"] / ".lock", "a+")  # noqa: SIM115 - closed in the finally
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    before = snapshot(workspace["root"])
    MARKER.unlink(missing_ok=True)
    try:
        result: InProcess = run_in_process(*arguments, output_dir=workspace["outputs"])
    finally:
        if any("locked" in a for a in arguments):
            lock.close()
    assert result.escaped is None, f"{type(result.escaped).__name__}: {result.escaped}"
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0], lines[0]
    assert len(lines[0]) <= 400 + sum(len(str(p)) for p in workspace.values() if str(p) in lines[0])
    assert "Traceback" not in result.stdout + result.stderr
    assert snapshot(workspace["root"]) == before  # nothing created, nothing changed
    assert not MARKER.exists()  # nothing in a crafted checkpoint ran


def test_the_bad_input_list_is_long_and_the_readme_gives_its_count() -> None:
    from conftest import REPO

    assert len(BAD_INPUTS) >= 100
    assert f"runs {len(BAD_INPUTS)} bad inputs through the CLI" in (REPO / "docs" / "reliability.md").read_text()
