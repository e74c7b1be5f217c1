"""`runs`, `diff` and `reproduce` from the command line, as users type them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from test_provenance import git

from conftest import PLUGIN_PACKAGE, read_metrics, run_cli, run_dirs
from glossary_exp.rundir import lock_run, unlock_run


def glossary(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI, as typed (``runs`` and ``diff`` import no torch: each takes about a second)."""
    return subprocess.run([sys.executable, "-m", "glossary_exp", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=300)


def write_run(path: Path, record: dict | str) -> Path:
    path.mkdir(parents=True)
    (path / "metrics.json").write_text(record if isinstance(record, str) else json.dumps(record))
    return path


def made_tree(outputs: Path) -> Path:
    """Runs of two experiments and a sweep: completed, failed, one running, one whose process died, two damaged."""
    mnist, sine = outputs / "mnist_mlp", outputs / "sine_cubic"
    write_run(mnist / "2026-12-01_09-00-00_aaaaaa", {
        "status": "completed", "name": "mnist_mlp", "task": "fit", "started": "2026-12-01T09:00:00+0000",
        "monitor": ["val/acc", "max"], "metrics": {"best/val/acc": 0.981, "val/acc": 0.979}, "duration_s": 95.0,
        "commit": "1a2b3c4d5e6f", "dirty": False, "overrides": ["experiment=mnist_mlp"]})
    write_run(mnist / "2026-12-02_10-00-00_bbbbbb", {
        "status": "failed", "name": "mnist_mlp", "task": "fit", "started": "2026-12-02T10:00:00+0000",
        "error": "NonFiniteLossError: the loss became nan", "commit": "1a2b3c4d5e6f", "dirty": True,
        "patch_sha256": "9f8e7d6c5b4a"})
    sweep = sine / "multirun_2026-12-03_11-00-00_cccccc"
    for job, acc in ((0, 0.5), (1, 0.99)):
        write_run(sweep / f"{job}_lr-0.{job + 1}", {
            "status": "completed", "name": "sine_cubic", "started": f"2026-12-03T11:00:0{job}+0000",
            "monitor": ["val/acc", "max"], "metrics": {"best/val/acc": acc}, "task": "fit"})
    write_run(sine / "2026-12-04_08-00-00_dddddd", {"status": "running", "name": "sine_cubic", "task": "fit"})
    held = write_run(sine / "2026-12-04_08-30-00_eeeeee", {"status": "running", "name": "sine_cubic", "task": "fit"})
    write_run(sine / "2026-12-04_09-00-00_ffffff", '{"status": "comple')  # half-written by a crafted hand
    write_run(sine / "2026-12-04_09-30-00_000000", "[1, 2]")
    (outputs / "not_a_run" / "deeper").mkdir(parents=True)
    return held


def test_runs_lists_every_run_newest_first_with_filters_and_script_formats(tmp_path: Path) -> None:
    held = made_tree(tmp_path / "outputs")
    lock_run(held, "test")  # a live process holds this one: it is running, the other one's process died
    try:
        result = glossary("runs", cwd=tmp_path)
    finally:
        unlock_run(held)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    ids = [line.split("|")[1].strip() for line in lines[2:-1]]
    assert ids == ["2026-12-04_08-30-00_eeeeee", "2026-12-04_08-00-00_dddddd", "2026-12-03_11-00-00_cccccc/1",
                   "2026-12-03_11-00-00_cccccc/0", "2026-12-02_10-00-00_bbbbbb", "2026-12-01_09-00-00_aaaaaa"]
    assert "| running " in lines[2] and "| interrupted " in lines[3]
    assert "| val/acc | 0.981 " in lines[7] and "1a2b3c4d " in lines[7] and "1a2b3c4d+9f8e7d" in lines[6]
    skipped = result.stderr.splitlines()
    assert len(skipped) == 2 and all(s.startswith("skipped ") for s in skipped), result.stderr
    assert "2026-12-04_09-00-00_ffffff: metrics.json is not valid JSON" in result.stderr
    assert "2026-12-04_09-30-00_000000: metrics.json is not a JSON object" in result.stderr

    def listed(*args: str) -> list[str]:
        out = glossary("runs", "outputs", "--format", "json", *args, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        return [run["run"] for run in json.loads(out.stdout)]

    assert listed("--status", "failed") == ["2026-12-02_10-00-00_bbbbbb"]
    assert listed("-e", "mnist_*", "--status", "completed,failed") == ["2026-12-02_10-00-00_bbbbbb",
                                                                       "2026-12-01_09-00-00_aaaaaa"]
    assert listed("--where", "best/val/acc>=0.98") == ["2026-12-03_11-00-00_cccccc/1", "2026-12-01_09-00-00_aaaaaa"]
    assert listed("--since", "2026-12-03", "--until", "2026-12-03 23:59", "--sort=-best/val/acc") == [
        "2026-12-03_11-00-00_cccccc/1", "2026-12-03_11-00-00_cccccc/0"]
    assert listed("--sort", "started", "--limit", "1") == ["2026-12-01_09-00-00_aaaaaa"]
    csv = glossary("runs", "--format", "csv", "-e", "mnist_mlp", "-s", "completed", cwd=tmp_path).stdout.splitlines()
    assert csv[0].startswith("run,run_dir,experiment,task,status,metric,value,started") and "best/val/acc" in csv[0]
    assert csv[1].startswith("2026-12-01_09-00-00_aaaaaa,") and len(csv) == 2


def test_runs_refuses_bad_filters_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "outputs").mkdir()
    for args, expected in ((["--where", "val/acc~1"], "--where val/acc~1: expected METRIC OP NUMBER"),
                           (["--where", "val/acc>>1"], "--where val/acc>>1: >1 is not a number"),
                           (["--since", "last tuesday"], "--since last tuesday: expected a time such as 7d"),
                           (["nowhere"], "nowhere: no such directory")):
        result = glossary("runs", *args, cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.startswith(f"error: {expected}"), result.stderr
        assert len(result.stderr.splitlines()) == 1 and not result.stdout
    assert glossary("runs", cwd=tmp_path).stdout == "No runs found.\n"


def test_diff_shows_config_seed_overrides_and_metrics_of_two_runs(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    for lr in ("0.1", "0.2"):
        result = run_cli("experiment=quadratic_gd", "trainer.max_epochs=1", f"optimizer.lr={lr}", f"seed={lr[-1]}",
                         output_dir=outputs)
        assert result.returncode == 0, result.stderr[-2000:]
    first, second = run_dirs(outputs)
    diff = glossary("diff", str(first), second.name[:26], cwd=tmp_path)
    assert diff.returncode == 0, diff.stderr
    text = diff.stdout
    assert "seed: 1 -> 2" in text and "optimizer.lr: 0.1 -> 0.2" in text
    assert "only in A: optimizer.lr=0.1" in text and "only in B: optimizer.lr=0.2" in text
    assert "versions and device:\n  the same" in text and "code:\n  the same" in text
    assert [line.split()[0] for line in text.splitlines() if line.endswith("differs")] == [
        "best/train/loss", "f(x)", "lr", "train/loss", "x"]
    # A run against itself: its start against its last resume, which recorded its own provenance.
    resumed = first / ".hydra" / "resumed_2026-12-05_00-00-00_abcdef"
    resumed.mkdir()
    provenance = json.loads((first / "provenance.json").read_text())
    host, provenance["machine"]["host"] = provenance["machine"]["host"], "another-node"
    (resumed / "provenance.json").write_text(json.dumps(provenance))
    itself = glossary("diff", str(first), str(first), cwd=tmp_path)
    assert "B: its last resume, resumed_2026-12-05_00-00-00_abcdef" in itself.stdout
    assert f"host: {host} -> another-node" in itself.stdout
    missing = glossary("diff", str(first), "2020-01-01", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.startswith("error: 2020-01-01: not a run directory, nor the id")


def plugin_checkout(repo: Path) -> dict[str, str]:
    """The tiny test plugin as the user's own code: a git checkout on PYTHONPATH, with its entry points declared."""
    shutil.copytree(PLUGIN_PACKAGE / "src", repo)
    info = repo / "tiny_glossary_plugin-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-glossary-plugin\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text("[glossary_exp.plugins]\ntiny = tiny_glossary_plugin.plugin\n\n"
                                           "[glossary_exp.configs]\ntiny = tiny_glossary_plugin.conf\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-q", "-m", "plugin")
    return {"PYTHONPATH": str(repo)}


def test_reproduce_says_what_changed_in_the_model_code_and_which_metrics_differ(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    env = plugin_checkout(repo)
    outputs = repo / "outputs"
    original = run_cli("experiment=tiny", "trainer.max_epochs=2", "seed=7", output_dir=outputs, env=env)
    assert original.returncode == 0, original.stderr[-2000:]
    (run,) = run_dirs(outputs)
    plugin = repo / "tiny_glossary_plugin" / "plugin.py"
    plugin.write_text(plugin.read_text().replace("self.scale * self.linear(x)", "2 * self.scale * self.linear(x)"))
    again = glossary("reproduce", run.name[:26], "print_config=false", "callbacks.progress_bar=false", cwd=repo,
                     env=env)
    assert again.returncode == 1, again.stderr[-2000:]
    notice = again.stdout[again.stdout.index("Reproducing"):]
    assert "code cwd: uncommitted change none -> " in notice
    assert "+-        return F.mse_loss(self.scale * self.linear(x), y)" in notice
    assert "++        return F.mse_loss(2 * self.scale * self.linear(x), y)" in notice
    assert "Not reproduced: " in again.stdout and "val/loss" in again.stdout.split("Not reproduced: ")[1]
    (copy,) = [d for d in run_dirs(outputs) if d != run]
    assert copy.parent == run.parent and copy.name.endswith(f"_reproduce_of_{run.name[:26]}")
    record = read_metrics(copy)
    assert record["reproduces"] == str(run) and record["reproduced_exactly"] is False
    assert record["seed"] == 7 and record["status"] == "completed"
    refused = glossary("reproduce", str(run), "optimizer.lr=0.5", cwd=repo, env=env)
    assert refused.returncode == 2 and "optimizer.lr=0.5 cannot apply" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1 and len(run_dirs(outputs)) == 2


def test_crafted_run_directories_are_read_but_never_trusted(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    base = {"status": "completed", "name": "evil\x1b[2J", "task": "fit", "metrics": {"loss": 1.0}}
    leaky = write_run(outputs / "x" / "2026-12-01_09-00-00_aaaaaa", base)
    (leaky / "config.yaml").write_text("name: ${oc.env:PLANTED_SECRET}\ntask: fit\n")
    other = write_run(outputs / "x" / "2026-12-01_10-00-00_bbbbbb", base)
    (tmp_path / "outside.txt").write_text("TOPSECRET\n")
    (other / "provenance.json").write_text(json.dumps(
        {"code": {"cwd": {"commit": "1", "dirty": True, "patch": "../../../../outside.txt"}}}))
    env = {"PLANTED_SECRET": "sekrit-env-9999"}
    before = sorted(p for p in outputs.rglob("*"))
    refused = glossary("reproduce", str(leaky), cwd=tmp_path, env=env)
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "config.yaml is not a config glossary_exp saved" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert "sekrit-env-9999" not in refused.stdout + refused.stderr and sorted(outputs.rglob("*")) == before
    diff = glossary("diff", str(leaky), str(other), cwd=tmp_path)
    assert diff.returncode == 0 and "TOPSECRET" not in diff.stdout
    listed = glossary("runs", cwd=tmp_path)
    assert "\x1b" not in listed.stdout and "evil?[2J" in listed.stdout


def test_runs_survives_links_loops_fifos_and_files_made_to_hang_or_crash_it(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    made_tree(outputs)
    (outputs / "loop").mkdir()
    (outputs / "loop" / "self").symlink_to("..")  # a loop: each real directory is walked once
    (outputs / "sine_cubic" / "again").symlink_to(outputs / "mnist_mlp")
    fifo = write_run(outputs / "x" / "2026-12-05_00-00-00_aaaaaa", {"status": "completed"}) / "metrics.json"
    fifo.unlink()
    os.mkfifo(fifo)  # a reader that opened it would wait forever
    endless = outputs / "x" / "2026-12-05_00-00-01_bbbbbb"
    endless.mkdir()
    (endless / "metrics.json").symlink_to("/dev/zero")  # read whole, it would fill the memory
    write_run(outputs / "x" / "2026-12-05_00-00-02_cccccc", "[" * 100_000 + "]" * 100_000)  # too deep to parse
    starting = outputs / "x" / "2026-12-05_00-00-03_dddddd"
    (starting / ".hydra").mkdir(parents=True)  # killed while starting, before it wrote its record
    result = glossary("runs", "outputs", "outputs", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ids = [run["run"] for run in json.loads(result.stdout)]
    assert len(ids) == len(set(ids)) == 7  # made_tree's 6 and the one that never wrote a record, each once
    assert {"2026-12-05_00-00-03_dddddd": "interrupted"}.items() <= {r["run"]: r["status"] for r in
                                                                     json.loads(result.stdout)}.items()
    for name, why in (("aaaaaa", "is not a regular file"), ("bbbbbb", "is a link"), ("cccccc", "is not valid JSON")):
        assert f"_{name}: metrics.json {why}" in result.stderr, result.stderr


def test_bad_filters_and_sorts_name_what_is_allowed(tmp_path: Path) -> None:
    made_tree(tmp_path / "outputs")
    for args, expected in ((["-s", "complete"], "--status complete: not one of completed, failed, interrupted, "
                                                "running, pruned (did you mean completed?)"),
                           (["--sort=-valu"], "--sort -valu: no run has 'valu'; sort by a column"),
                           (["--where", "best/val/acc>=nan"], "is not a finite number"),
                           (["--limit", "abc"], "runs: argument -n/--limit: invalid int value: 'abc'")):
        result = glossary("runs", *args, cwd=tmp_path)
        assert result.returncode == 2 and expected in result.stderr and len(result.stderr.splitlines()) == 1, \
            result.stderr
    by_value = glossary("runs", "--sort=-value", "--format", "json", cwd=tmp_path)
    values = [run["value"] for run in json.loads(by_value.stdout)]
    assert values[:3] == [0.99, 0.981, 0.5] and values[3:] == [None] * 3


def test_diff_of_a_damaged_provenance_says_so_in_one_line(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    good = write_run(outputs / "x" / "2026-12-01_09-00-00_aaaaaa", {"status": "completed", "metrics": {"a": 1.0}})
    (good / "provenance.json").write_text(json.dumps({"code": {}, "machine": {"packages": ["torch==1"]}}))
    for i, damage in enumerate(({"code": {"cwd": "str"}}, {"code": {"cwd": {"commit": 5}}}, {"devices": [1]},
                                {"machine": 5}, {"machine": {"packages": [1, None]}}, "[" * 100_000)):
        bad = write_run(outputs / "x" / f"2026-12-02_09-00-0{i}_bbbbbb", {"status": "completed"})
        (bad / "provenance.json").write_text(damage if isinstance(damage, str) else json.dumps(damage))
        result = glossary("diff", str(good), str(bad), cwd=tmp_path)
        assert result.returncode == 0 and not result.stderr, result.stderr
        assert "unknown: no readable provenance.json for B" in result.stdout and "package" not in result.stdout


def test_reproduce_takes_sweep_job_ids_and_odd_paths_and_refuses_an_unfinished_run(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    done = run_cli("experiment=quadratic_gd", "trainer.max_epochs=1", "seed=4", output_dir=outputs)
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = run_dirs(outputs)
    job = outputs / "quadratic_gd" / "multirun_2026-01-01_00-00-00_abcdef" / "0_seed-4"
    shutil.copytree(run, job)
    by_id = glossary("reproduce=2026-01-01_00-00-00_abcdef/0", "print_config=false", cwd=tmp_path)
    assert by_id.returncode == 0 and "Reproduced exactly" in by_id.stdout, by_id.stderr[-2000:]
    odd = tmp_path / "it's, (odd)" / "2026-01-01_00-00-00_0dd0dd"
    shutil.copytree(run, odd)
    by_path = glossary("reproduce", str(odd), "print_config=false", cwd=tmp_path)
    assert by_path.returncode == 0 and "Reproduced exactly" in by_path.stdout, by_path.stderr[-2000:]
    (run / "metrics.json").write_text((run / "metrics.json").read_text().replace('"completed"', '"interrupted"'))
    before = sorted(tmp_path.rglob("*"))
    refused = glossary("reproduce", run.name[:26], cwd=tmp_path)
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1, refused.stderr
    assert "did not complete (interrupted)" in refused.stderr and f"resume={run.name[:26]}" in refused.stderr
    assert sorted(tmp_path.rglob("*")) == before
