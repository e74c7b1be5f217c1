"""experiments/gpu/check.py --tiny: the GPU check runs end to end on CPU, so the script is never first run on a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, data_cache


def test_the_gpu_check_runs_on_cpu_and_writes_its_results(tmp_path: Path) -> None:
    out = tmp_path / "check"
    done = subprocess.run([sys.executable, "-m", "experiments.gpu.check", "--tiny", "--out", str(out),
                           "--data-dir", str(data_cache())], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})  # run as from the repository
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["mode"] == "tiny (CPU, random data)" and results["device"] == "cpu"
    (example,) = results["examples"]
    assert example["overrides"] == ["experiment=random_images", "accelerator=cpu"] and example["status"] == "completed"
    assert 0 <= example["test/acc"] <= 1 and example["duration_s"] > 0 and example["steps_per_s"] > 0
    runs = {r["overrides"][-1]: r for r in results["precision"]["runs"]}
    assert set(runs) == {"trainer.precision=16-mixed", "trainer.precision=bf16-mixed"}
    assert all(r["status"] == "completed" and r["steps_per_s"] > 0 for r in runs.values()), runs
    fast = results["fast_path"]
    assert fast["hand_loop_steps_per_s"] > 0 and fast["framework_over_hand_loop"] > 0
    assert results["ddp_one_device"]["ddp"]["status"] == "completed"
    assert results["ddp_one_device"]["ddp"]["overrides"][1:] == ["accelerator=ddp", "trainer.devices=1",
                                                                 "trainer.accelerator=cpu"]
    table = (out / "results.md").read_text()
    for heading in ("## Vision examples", "## Mixed precision", "## Fast data path", "## DDP on one device"):
        assert heading in table
