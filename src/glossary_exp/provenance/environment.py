"""What ran the code: Python, OS, host, devices, the versions that matter, every installed distribution,
and the command line and environment variables that change what runs. Never a secret (:mod:`glossary_exp.redact`).
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import socket
import sys
from importlib.metadata import Distribution, distributions, entry_points
from pathlib import Path
from typing import Any

from glossary_exp.redact import is_secret_name, redact
from glossary_exp.registry import CONFIG_ENTRY_POINT_GROUP, ENTRY_POINT_GROUP

# The distributions whose versions decide what a run computes, shown first (and in TensorBoard).
MAIN_DISTRIBUTIONS = ("glossary-exp", "torch", "torchvision", "lightning", "torchmetrics", "hydra-core", "omegaconf",
                      "numpy", "optuna")
# Environment variables that change what runs or where: recorded (never one whose name says it is a secret).
VARIABLE_PREFIXES = ("GLOSSARY_EXP_", "CUDA_", "SLURM_", "TORCH_", "CUBLAS_", "NCCL_", "OMP_", "MKL_")
# How errors are shown, not what runs (the CLI sets both itself).
NOT_RECORDED = ("GLOSSARY_EXP_FULL_ERROR", "HYDRA_FULL_ERROR")
VARIABLES = ("PYTHONHASHSEED", "MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK", "NODE_RANK",
             "PYTHONPATH", "VIRTUAL_ENV", "CONDA_DEFAULT_ENV")


def normalized(name: str) -> str:
    """A distribution name as pip compares them (``Hydra_Core`` is ``hydra-core``)."""
    return name.lower().replace("_", "-").replace(".", "-")


def installed() -> dict[str, Distribution]:
    """Every installed distribution by normalized name (the first on sys.path wins, as for imports)."""
    found: dict[str, Distribution] = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalized(name), dist)
    return found


def plugin_distributions(dists: dict[str, Distribution]) -> list[str]:
    """Normalized names of the distributions that provide glossary_exp plugins or configs."""
    names = set()
    for group in (ENTRY_POINT_GROUP, CONFIG_ENTRY_POINT_GROUP):
        for ep in entry_points(group=group):
            if ep.dist is not None and ep.dist.metadata["Name"]:
                names.add(normalized(ep.dist.metadata["Name"]))
    return sorted(names & set(dists))


def editable_checkout(dist: Distribution) -> Path | None:
    """The local directory an editable install (``pip install -e``) runs from, if it is one."""
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        return None
    url = direct.get("url", "")
    if direct.get("dir_info", {}).get("editable") and url.startswith("file://"):
        return Path(url[len("file://"):])
    return None


def machine(dists: dict[str, Distribution]) -> dict[str, Any]:
    """Python, OS, host, CPUs, the main versions, the plugins' versions and ``pip freeze``'s list."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "os": platform.platform(),
        "host": socket.gethostname(),
        "cpus": os.cpu_count(),
        "versions": {name: dists[name].version for name in MAIN_DISTRIBUTIONS if name in dists},
        "plugins": {name: dists[name].version for name in plugin_distributions(dists)},
        "packages": sorted(f"{dist.metadata['Name']}=={dist.version}" for dist in dists.values()),
    }


def devices() -> dict[str, Any]:
    """CUDA, cuDNN and the GPUs torch sees (torch is imported by then: a run has built its model)."""
    import torch

    found: dict[str, Any] = {"cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available()}
    if found["cuda_available"]:
        found["cudnn"] = torch.backends.cudnn.version()
        found["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found["mps"] = True
    return found


def invocation() -> dict[str, Any]:
    """The command line as typed, the working directory and the variables that change what runs."""
    argv = [redact(arg) for arg in sys.argv]
    program = "python -m glossary_exp" if argv[0].endswith("__main__.py") else Path(argv[0]).name
    variables = {name: redact(value) for name, value in sorted(os.environ.items())
                 if (name in VARIABLES or name.startswith(VARIABLE_PREFIXES)) and name not in NOT_RECORDED
                 and not is_secret_name(name)}
    return {"command": " ".join([program, *map(shlex.quote, argv[1:])]), "argv": argv, "cwd": os.getcwd(),
            "variables": variables}
