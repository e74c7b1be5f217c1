"""Docs that run: every command in the README's and docs/' shell blocks (and every whole one quoted in their
prose) runs here, with tiny settings, in a temporary directory, or is marked in its comment as needing what
CI lacks (``# needs: a SLURM cluster``).

A renamed setting, group, flag or extra then fails this test instead of a reader. Placeholders
(``<run id>``, ``<run dir>``, ``multirun_<time>``, ``/my/images``) are filled with runs made here.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import tomllib

from conftest import DATASET_MIRROR, REPO, data_cache, invoke, needs_dataset_files, run_dirs

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
NEEDS = re.compile(r"#.*\bneeds: (?P<what>[^#]+)")
EXIT = re.compile(r"#.*\bexit (?P<code>\d)")
RUN_ID = re.compile(r"\b\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_[0-9a-f]{6}(?:/\d+)?\b")
# A command quoted in prose as a syntax (``diff RUN_A RUN_B``, ``runs [DIR ...]``, ``resume=<run>``) or about a
# plugin the reader writes (``experiment=my_experiment``): its concrete forms are in the shell blocks.
SYNTAX = re.compile(r"\b[A-Z][A-Z_]+\b|<|\[|my_experiment")
SUBCOMMANDS = ("runs", "diff", "list", "summary", "--help", "-h", "reproduce")
# What every training command gets, so that the docs' commands take seconds: one short epoch.
TINY = {"debug": "limit", "trainer.max_epochs": "1", "print_config": "false", "callbacks.progress_bar": "false"}


@dataclass(frozen=True)
class Command:
    page: str
    line: str  # as written, continuation lines joined

    @property
    def words(self) -> list[str]:
        """The words as a shell splits them, a placeholder one word (``<run id>`` as ``<run_id>``)."""
        return shlex.split(re.sub(r"<([a-z ]+)>", lambda m: "<" + m[1].replace(" ", "_") + ">", self.line),
                           comments=True)

    def __str__(self) -> str:
        return f"{self.page}: {self.line}"


def commands() -> list[Command]:
    """Every command of every ```bash block of the README and docs/ (``a && b`` is two), and every whole command
    quoted in their prose (`` `python -m glossary_exp list trainer` ``), each once."""
    found: dict[tuple[str, ...], Command] = {}
    for page in PAGES:
        text, name = page.read_text(), str(page.relative_to(REPO))
        lines = [line for block in re.findall(r"```bash\n(.*?)```", text, re.S)
                 for line in block.replace("\\\n", " ").splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        lines += [quoted for quoted in re.findall(r"`(python -m glossary_exp[^`]*)`", prose)
                  if not SYNTAX.search(quoted)]
        for line in lines:
            for part in line.split(" && "):
                command = Command(name, " ".join(part.split()))
                found.setdefault(tuple(command.words), command)  # the same command on two pages runs once
    return list(found.values())


def marked(command: Command) -> str | None:
    match = NEEDS.search(command.line)
    return match["what"].strip() if match else None


def glossary_commands() -> list[Command]:
    return [c for c in commands() if c.words[:3] == ["python", "-m", "glossary_exp"] or c.words[:1] == ["glossary-exp"]]


@dataclass
class Workspace:
    """Runs the placeholders name, made on demand with tiny settings."""

    root: Path
    env: dict[str, str]
    fits: dict[str, Path] = field(default_factory=dict)
    sweep: Path | None = None
    resumes: int = 0

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    def fit(self, experiment: str) -> Path:
        """A completed short run of ``experiment``, with its checkpoints."""
        if experiment not in self.fits:
            before = set(run_dirs(self.outputs)) if self.outputs.is_dir() else set()
            done = invoke([f"experiment={experiment}", *(f"{k}={v}" for k, v in TINY.items())], self.root, self.env)
            assert done.returncode == 0, done.stderr[-2000:]
            (self.fits[experiment],) = set(run_dirs(self.outputs)) - before
        return self.fits[experiment]

    def interrupted(self) -> Path:
        """A new copy of a short run whose record says it was interrupted (its last.ckpt is whole), for resume=."""
        run = self.fit("random_regression")
        self.resumes += 1
        copy = run.with_name(f"{run.name[:20]}{self.resumes:06x}")  # the same time, another id
        shutil.copytree(run, copy)
        record = (copy / "metrics.json").read_text().replace('"status": "completed"', '"status": "interrupted"')
        (copy / "metrics.json").write_text(record)
        return copy

    def sweep_dir(self) -> Path:
        if self.sweep is None:
            done = invoke(["-m", "experiment=random_regression", "seed=1,2", *(f"{k}={v}" for k, v in TINY.items())],
                          self.root, self.env)
            assert done.returncode == 0, done.stderr[-2000:]
            (self.sweep,) = self.outputs.glob("*/multirun_*")
        return self.sweep

    def images(self) -> Path:
        """A tiny image folder as the docs' command expects it: five classes of four 8x8 PNGs."""
        from PIL import Image

        folder = self.root / "images"
        if not folder.is_dir():
            for label in range(5):
                (folder / "train" / f"class{label}").mkdir(parents=True)
                for i in range(4):
                    image = Image.new("RGB", (8, 8), (40 * label + i, 0, 0))
                    image.save(folder / "train" / f"class{label}" / f"{i}.png")
        return folder


def fill(command: Command, ws: Workspace) -> list[str]:
    """The command's arguments with every placeholder filled."""
    words = command.words[3:] if command.words[0] == "python" else command.words[1:]
    experiment = next((w.split("=", 1)[1] for w in words if w.startswith("experiment=")), "random_regression")
    completed = [ws.fit(experiment), ws.fit("sine_cubic" if experiment == "random_regression" else "random_regression")]
    job = f"{ws.sweep_dir().name.removeprefix('multirun_')}/0"
    ids = iter(job if "/" in found else completed[i % 2].name[:26]
               for i, found in enumerate(RUN_ID.findall(command.line)))
    filled: list[str] = []
    for word in words:
        word = RUN_ID.sub(lambda _: next(ids), word)
        if re.search(r"<run_id[^>]*>", word):
            given = sum(w.startswith("20") and "_" in w for w in filled)  # the run ids already filled in
            named = ws.interrupted() if word.startswith("resume=") else completed[given]
            word = re.sub(r"<run_id[^>]*>", named.name[:26], word)
        word = word.replace("<run_dir>", str(ws.fit(experiment)))
        word = word.replace("/my/images", str(ws.images())).replace("/shared/", f"{ws.root}/shared-")
        if "multirun_<time>" in word:
            word = f"hydra.sweep.dir={ws.outputs}/docs_sweep" if word.startswith("hydra.sweep.dir=") \
                else str(ws.sweep_dir())
        assert not re.search(r"<[a-z_]+>", word), f"{command}: no test fills {word}"
        filled.append(word)
    return filled


def tiny(words: list[str]) -> list[str]:
    """A training command with :data:`TINY` settings (the docs' own debug preset kept); others as they are."""
    quiet = ["print_config=false", "callbacks.progress_bar=false"]
    if words[:1] and words[0] in SUBCOMMANDS:
        return words + (quiet if words[0] == "reproduce" else [])
    if any(w.startswith("resume=") for w in words):
        return words + quiet  # a resume takes its run's own settings
    settings = dict(TINY, **({"hydra.sweeper.n_trials": "2"} if any("hparams_search=" in w for w in words) else {}))
    if any(w.startswith("debug=") for w in words):
        del settings["debug"]
    given = {w.split("=", 1)[0]: w.split("=", 1)[1] for w in words if "=" in w}
    if given.get("trainer.max_epochs", "").isdigit():  # the docs' own epochs, at most 2 (one may validate every 2)
        settings["trainer.max_epochs"] = str(min(int(given["trainer.max_epochs"]), 2))
    keys = [w.split("=", 1)[0] for w in words]
    return [f"{k}={settings.pop(k)}" if k in settings else w for k, w in zip(keys, words, strict=True)] + \
        [f"{k}={v}" for k, v in settings.items()]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    env = {"GLOSSARY_EXP_DATA_DIR": str(data_cache())}
    if DATASET_MIRROR.is_dir():
        env["GLOSSARY_EXP_DATASET_MIRROR"] = str(DATASET_MIRROR)
    return Workspace(tmp_path_factory.mktemp("docs"), env)


@pytest.mark.parametrize("command", glossary_commands(), ids=str)
def test_every_documented_command_runs(command: Command, workspace: Workspace) -> None:
    if marked(command):
        pytest.skip(f"needs {marked(command)}")
    experiment = next((w.split("=", 1)[1] for w in command.words if w.startswith("experiment=")), None)
    if experiment and needs_dataset_files(experiment) and not DATASET_MIRROR.is_dir():
        pytest.skip(f"no dataset mirror at {DATASET_MIRROR} for {experiment}")
    args = tiny(fill(command, workspace))
    done = invoke(args, workspace.root, workspace.env)
    expected = int(EXIT.search(command.line)["code"]) if EXIT.search(command.line) else 0
    assert done.escaped is None and done.returncode == expected, \
        f"{' '.join(args)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def test_every_other_documented_command_is_checked() -> None:
    """pip's extras exist, scripts take the flags the docs give them, TensorBoard is installed; the rest is marked."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    others = [c for c in commands() if c not in glossary_commands() and not marked(c)]
    ci = (REPO / ".ci" / "run").read_text()
    assert others, "the docs show more than glossary_exp's commands"
    for command in others:
        words = command.words
        if words[:2] == ["pip", "install"]:
            for extra in re.findall(r"\[([\w,]+)\]", command.line):
                assert set(extra.split(",")) <= set(extras), f"{command}: no such extra"
        elif words[1:3] == ["-m", "venv"] or words[:2] == [".", ".venv/bin/activate"]:
            assert "-m venv .venv" in (REPO / ".ci" / "run").read_text(), command  # CI makes its venv the same way
        elif " ".join(words) in ci:
            pass  # CI runs it as written (the linter, the type checker, this suite)
        elif words[:2] == ["pre-commit", "install"]:
            assert (REPO / ".pre-commit-config.yaml").is_file(), command
        elif words[0] in ("tensorboard", "optuna-dashboard"):  # their servers are started by test_tensorboard.py and
            assert Path(sys.executable).with_name(words[0]).is_file(), command  # test_sweep_search.py
        elif words[0] == "python" and (words[1].endswith(".py") or words[2].startswith("experiments.")):
            # A benchmark (minutes): the script exists and takes the flags the docs give it.
            module = words[1] == "-m"
            script = REPO / (words[2].replace(".", "/") + ".py" if module else words[1])
            assert script.is_file(), f"{command}: no such script"
            flags = [w.split("=")[0] for w in words[2 + module:] if w.startswith("--")]
            text = script.read_text()
            assert all(f'"{flag}"' in text for flag in flags), f"{command}: the script takes no {flags}"
        else:
            pytest.fail(f"{command}: neither run by a test nor marked '# needs: ...'")
