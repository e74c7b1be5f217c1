"""Checkpoint files: nothing in one runs as code when it is read, and none is ever half-written.

Every checkpoint the framework or Lightning reads (``ckpt_path``, a resume's ``last.ckpt``, the best
checkpoint tested after fit) goes through :func:`load_checkpoint`: ``torch.load`` with
``weights_only=True``, whose unpickler builds only tensors, containers and plain values and
refuses any other type a file names. Our own checkpoints hold nothing else: saving every example's
checkpoints finds only :data:`CHECKPOINT_GLOBALS` in their pickles (tests/test_checkpoints.py
checks it), all of them within torch's weights-only defaults, so :data:`EXTRA_SAFE_GLOBALS`, the
types we would add to torch's list, is empty. ``trust_checkpoint=true`` loads a file the user
trusts with full pickle, which can run any code the file holds.
"""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from glossary_exp.atomic import write_atomically
from glossary_exp.errors import CheckpointError

# What the pickles of the examples' checkpoints name (module.qualname); storages are one per dtype.
CHECKPOINT_GLOBALS = frozenset({"collections.OrderedDict", "torch._utils._rebuild_tensor_v2"})
STORAGE_GLOBAL = re.compile(r"^torch\.\w+Storage$")
EXTRA_SAFE_GLOBALS: tuple[Any, ...] = ()
TRUST_HINT = "trust_checkpoint=true loads a file you trust with full pickle, which can run any code in it"
_REFUSED = re.compile(r"GLOBAL ([\w.]+)")  # "Unsupported global: GLOBAL x.y ...", "unsupported GLOBAL x.y whose ..."


def load_checkpoint(path: str | Path, label: str, trust: bool = False) -> dict[str, Any]:
    """The Lightning checkpoint at ``path`` on the CPU; ``label`` (e.g. ``ckpt_path=x.ckpt``) starts every error."""
    checkpoint = safe_load(path, label, trust)
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise CheckpointError(f"{label}: not a Lightning checkpoint (it holds no state_dict)")
    return checkpoint


def safe_load(path: str | Path, label: str, trust: bool = False) -> Any:
    """``torch.load`` of ``path`` with the weights-only unpickler (full pickle only if ``trust``)."""
    try:
        with torch.serialization.safe_globals(list(EXTRA_SAFE_GLOBALS)), warnings.catch_warnings():
            # A crafted file in another pickle protocol makes torch warn before it refuses the file.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            checkpoint = torch.load(path, map_location="cpu", weights_only=not trust)
    except FileNotFoundError:
        raise CheckpointError(f"{label}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{label}: is a directory, not a checkpoint file") from None
    except pickle.UnpicklingError as err:
        refused = _REFUSED.search(str(err))
        names = [refused[1]] if refused else foreign_globals(path)[:1]
        if names:
            raise CheckpointError(f"{label} asks to load {names[0]}, which no checkpoint needs: refused, nothing "
                                  f"from it ran ({TRUST_HINT})") from None
        raise CheckpointError(f"{label}: not a readable checkpoint ({_reason(err)}; {TRUST_HINT})") from None
    except Exception as err:  # noqa: BLE001 - truncated, not a torch file, unreadable: each a one-line refusal
        reason = f"{type(err).__name__}: {_first_line(err)}"
        raise CheckpointError(f"{label}: not a readable checkpoint ({reason})") from None
    return checkpoint


def check_fits(checkpoint: dict[str, Any], model: torch.nn.Module, label: str, origin: str = "") -> None:
    """The checkpoint's weights have the names and shapes of ``model``'s, so loading them cannot fail half-way."""
    theirs: dict[str, Any] = checkpoint["state_dict"]
    ours = model.state_dict()
    problem = ""
    if missing := [name for name in ours if name not in theirs]:
        problem = f"it has no {missing[0]}" + (f" (and {len(missing) - 1} more weights)" if len(missing) > 1 else "")
    elif unexpected := [name for name in theirs if name not in ours]:
        problem = f"it holds {unexpected[0]}, which this model has not"
    else:
        for name, tensor in ours.items():
            other = theirs[name]
            if not isinstance(other, torch.Tensor) or other.shape != tensor.shape:
                shape = "x".join(map(str, getattr(other, "shape", ()))) or type(other).__name__
                problem = f"{name} is {shape} there, {'x'.join(map(str, tensor.shape))} here"
                break
    if problem:
        raise CheckpointError(f"{label} does not fit model={type(model).__name__}: {problem}{origin}")


def saved_by(path: str | Path) -> str:
    """`` (saved by a run of model=<name>)`` when the checkpoint sits in a run directory, else ``""``."""
    from omegaconf import OmegaConf

    config = Path(path).parent.parent / "config.yaml"
    try:
        name = OmegaConf.load(config).model.name
    except Exception:  # noqa: BLE001 - only a hint
        return ""
    return f" (saved by a run of model={name})"


def checkpoint_globals(path: str | Path) -> set[str]:
    """The ``module.qualname`` of every global the pickle in ``path`` names, read without running it.

    Reads a torch zip checkpoint's ``data.pkl`` or a bare pickle; ``STACK_GLOBAL`` takes its names
    from the two strings pushed before it.
    """
    import pickletools
    import zipfile

    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            data = archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl")))
    else:
        data = path.read_bytes()
    names: set[str] = set()
    strings: list[str] = []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL":
                names.add(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.add(f"{strings[-2]}.{strings[-1]}")
            elif isinstance(arg, str):
                strings.append(arg)
    except Exception:  # noqa: BLE001 - a damaged pickle: report what was read before the damage
        pass
    return names


def foreign_globals(path: str | Path) -> list[str]:
    """Globals in the file's pickle that our checkpoints never hold."""
    return sorted(name for name in checkpoint_globals(path)
                  if name not in CHECKPOINT_GLOBALS and not STORAGE_GLOBAL.match(name))


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO with safe loading and atomic saving (a temp file in the checkpoint's directory)."""

    def __init__(self, trust: bool = False) -> None:
        self.trust = trust
        self._read: dict[str, dict[str, Any]] = {}

    def remember(self, path: str | Path, checkpoint: dict[str, Any]) -> None:
        """A checkpoint already read and checked: Lightning's next load of ``path`` takes it, not the disk."""
        self._read[str(Path(path).resolve())] = checkpoint

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("SafeCheckpointIO takes no storage_options")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda file: torch.save(checkpoint, file))

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        checkpoint = self._read.pop(str(Path(path).resolve()), None)
        # Not only Lightning checkpoints: ddp_spawn hands a worker's weights back to the main process this way.
        return checkpoint if checkpoint is not None else safe_load(path, f"checkpoint {path}", self.trust)


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]


def _reason(err: BaseException) -> str:
    """The line of torch's weights-only refusal that says what it refused (its first lines are boilerplate)."""
    lines = [line.strip() for line in str(err).splitlines() if "nsupported" in line]
    return (lines[0] if lines else _first_line(err))[:200]
