"""Every run records what produced it: code (git state, the uncommitted patch), environment, invocation; no secret."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from conftest import read_events, read_metrics, run_cli, run_dirs, run_in_process
from glossary_exp.provenance import git as provenance_git
from glossary_exp.provenance.git import checkout_state
from glossary_exp.sweep.table import job_table

FAST = ("experiment=quadratic_gd", "trainer.max_epochs=1")
SECRETS = ("sekrit-token-1234", "sekrit-pw-5678", "sekrit-pass-9", "sekrit-pwd-10", "sekrit-query-11",
           "sekrit-ssh-12")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def make_repo(repo: Path) -> None:
    """A repository with one commit, then a change to a tracked file, a binary file changed and an untracked file."""
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.invalid")
    git(repo, "config", "user.name", "t")
    (repo / "model.py").write_text("SCALE = 1\n")
    (repo / "weights.bin").write_bytes(b"\0\1\2")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    (repo / "model.py").write_text("SCALE = 2  # changed after the commit\n")
    (repo / "weights.bin").write_bytes(b"\0\1\3")
    (repo / "notes.txt").write_text("not committed\n")


def every_file_text(root: Path) -> str:
    """Every file's text but glossary_exp's own patch: in a checkout with this very file changed, it quotes SECRETS."""
    return "".join(p.read_bytes().decode(errors="replace") for p in root.rglob("*")
                   if p.is_file() and p.name != "glossary-exp.patch")


def test_a_run_in_a_repository_records_its_commit_patch_machine_and_command_and_no_secret(tmp_path: Path) -> None:
    repo = tmp_path / "work"
    make_repo(repo)
    env = {"MY_API_TOKEN": SECRETS[0], "GLOSSARY_EXP_TRACKING_URI": f"https://me:{SECRETS[1]}@127.0.0.1:9/x",
           "SLURM_JOB_PASS": SECRETS[2], "GLOSSARY_EXP_PWD": SECRETS[3],
           "GLOSSARY_EXP_URL": f"https://127.0.0.1/x?token={SECRETS[4]}&a=1",
           "GLOSSARY_EXP_SSH": f"me:{SECRETS[5]}@node1",
           "SLURM_JOB_ID": "4242", "CUDA_VISIBLE_DEVICES": ""}
    result = run_cli(*FAST, "seed=3", output_dir=repo / "outputs", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = run_dirs(repo / "outputs")
    prov = json.loads((run / "provenance.json").read_text())
    code = prov["code"]["cwd"]
    assert code["path"] == str(repo) and code["commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert code["branch"] == "main" and code["dirty"] is True
    patch = (run / code["patch"]).read_text()
    assert "+SCALE = 2  # changed after the commit" in patch and "Binary files a/weights.bin" in patch
    # A real patch of this tree (a binary file is only named in it: no patch carries its bytes).
    assert git(repo, "apply", "--check", "-R", "--exclude=weights.bin", str(run / code["patch"])) == ""
    assert code["untracked"] == ["notes.txt"]  # the run's own outputs/ are not the user's code
    # glossary_exp itself, installed editable from its checkout, is recorded too.
    assert "glossary-exp" in prov["code"]
    machine = prov["machine"]
    assert machine["versions"]["torch"] and machine["versions"]["lightning"] and machine["cpus"] >= 1
    assert any(p.startswith("torch==") for p in machine["packages"])
    assert prov["devices"]["cuda_available"] is False
    assert prov["invocation"]["command"].startswith("python -m glossary_exp experiment=quadratic_gd")
    assert prov["invocation"]["cwd"] == str(repo)
    variables = prov["invocation"]["variables"]
    assert variables["SLURM_JOB_ID"] == "4242" and "CUDA_VISIBLE_DEVICES" in variables
    assert variables["GLOSSARY_EXP_TRACKING_URI"] == "https://me:***@127.0.0.1:9/x" and "MY_API_TOKEN" not in variables
    assert variables["GLOSSARY_EXP_URL"] == "https://127.0.0.1/x?token=***&a=1"
    assert variables["GLOSSARY_EXP_SSH"] == "me:***@node1" and "SLURM_JOB_PASS" not in variables
    record = read_metrics(run)
    assert record["commit"] == code["commit"] and record["dirty"] is True and record["task"] == "fit"
    assert record["name"] == "quadratic_gd" and record["started"].startswith(time.strftime("%Y-"))
    text = every_file_text(repo / "outputs") + result.stdout + result.stderr
    assert not any(secret in text for secret in SECRETS)
    # TensorBoard shows the code and versions in a text panel.
    panel = read_events(run).Tensors("provenance/text_summary")[0].tensor_proto.string_val[0].decode()
    assert code["commit"] in panel and "lightning" in panel


def test_outside_a_repository_and_without_git_the_record_says_so(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    outside = run_in_process(*FAST, output_dir=tmp_path / "a" / "outputs")
    assert outside.returncode == 0, outside.stderr
    prov = json.loads((run_dirs(tmp_path / "a" / "outputs")[0] / "provenance.json").read_text())
    assert "not a git repository" in prov["code"]["cwd"]["error"]
    no_git = run_in_process(*FAST, output_dir=tmp_path / "b" / "outputs", env={"PATH": str(tmp_path)})
    assert no_git.returncode == 0, no_git.stderr
    (run,) = run_dirs(tmp_path / "b" / "outputs")
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["code"]["cwd"]["error"] == "git is not installed (not on PATH)"
    assert read_metrics(run)["status"] == "completed" and read_metrics(run)["commit"] is None


def test_a_large_patch_and_many_untracked_files_are_cut_with_a_note(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    make_repo(repo)
    (repo / "model.py").write_text("x = 1\n" * 5000)
    for i in range(7):
        (repo / f"extra{i}.txt").write_text("")
    monkeypatch.setattr(provenance_git, "PATCH_LIMIT", 1000)
    monkeypatch.setattr(provenance_git, "UNTRACKED_LIMIT", 3)
    state = checkout_state(repo, time.monotonic() + 10)
    assert len(state["patch"]) == 1000 and state["patch_cut"] is True
    assert len(state["untracked"]) == 3 and state["untracked_more"] == 5


def test_git_never_holds_a_run_up_past_its_deadline(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo)
    assert checkout_state(repo, time.monotonic() - 1) == {"path": str(repo), "error": "git took too long; left out"}


def test_a_sweep_summary_shows_the_commit_only_when_jobs_differ_in_it() -> None:
    def row(job: int, commit: str) -> dict:
        return {"job": job, "status": "completed", "overrides": [f"seed={job}"], "commit": commit, "loss": 0.5}

    same, _ = job_table([row(0, "1a2b3c4d"), row(1, "1a2b3c4d")], ["loss"], "loss")
    assert "commit" not in same[0]
    differ, _ = job_table([row(0, "1a2b3c4d"), row(1, "1a2b3c4d+9f8e7d")], ["loss"], "loss")
    assert "commit" in differ[0] and "1a2b3c4d+9f8e7d" in differ[3]
