"""The objective against each swept parameter, with its spread across seeds: ``summary.png`` in the sweep
directory, and the same picture as an image in TensorBoard (an events file there, so ``tensorboard
--logdir`` shows it beside the jobs). Imports matplotlib (without pyplot) and TensorBoard's writer, not torch.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, BinaryIO

from glossary_exp.atomic import write_atomically
from glossary_exp.sweep.stats import SEED, as_dict, describe, group_rows, varying_keys

FIGURE = "summary.png"
EVENTS = "events.out.tfevents.summary"  # a fixed name: each summary replaces the picture instead of adding one


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def draw(sweep_dir: Path, rows: list[dict[str, Any]], objective: str | None) -> Path | None:
    """Write the picture and its TensorBoard image; its path, or None when nothing was swept or nothing finished."""
    params = [k for k in varying_keys(rows) if k != SEED]
    done = [r for r in rows if r["status"] == "completed" and isinstance(r.get(objective), float)
            and math.isfinite(r[objective])] if objective else []
    if not params or not done or objective is None:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(5.5, 4.2 * len(params)), 3.6), layout="constrained")
    for axes, param in zip(figure.subplots(1, len(params), squeeze=False)[0], params, strict=True):
        values = [as_dict(r["overrides"]).get(param, "") for r in done]
        numeric = all(_number(v) is not None for v in values)
        labels = sorted(set(values), key=lambda v: (_number(v) or 0.0, v)) if not numeric else []
        for group in group_rows(done).values():
            x_text = as_dict(group[0]["overrides"]).get(param, "")
            x = _number(x_text) if numeric else labels.index(x_text)
            ys = [r[objective] for r in group]
            stats = describe(ys)
            axes.plot([x] * len(ys), ys, "o", color="0.6", markersize=3)  # each seed
            mean, low, high = stats["mean"], stats["ci_low"], stats["ci_high"]
            error = [[mean - low], [high - mean]] if mean is not None and low is not None and high is not None else None
            axes.errorbar([x], [stats["mean"]], yerr=error, fmt="s", color="C0", capsize=4)
        if numeric:
            xs = [x for x in map(_number, values) if x is not None]  # all of them: numeric
            if min(xs) > 0 and max(xs) / min(xs) >= 100:
                axes.set_xscale("log")
        else:
            axes.set_xticks(range(len(labels)), labels)
        ys = [r[objective] for r in done]
        if min(ys) > 0 and max(ys) / min(ys) >= 100:
            axes.set_yscale("log")
        axes.set_xlabel(param)
        axes.set_ylabel(objective)
    figure.suptitle("each seed (grey); mean and 95% CI over seeds (blue)", fontsize=9)
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=100)
    write_atomically(sweep_dir / FIGURE, lambda handle: handle.write(png.getvalue()))
    width, height = (int(v * 100) for v in figure.get_size_inches())
    _write_image_event(sweep_dir / EVENTS, f"sweep/{objective}", png.getvalue(), width, height)
    return sweep_dir / FIGURE


def _write_image_event(path: Path, tag: str, png: bytes, width: int, height: int) -> None:
    """An events file holding one image summary, replaced as a whole."""
    import time

    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    image = summary_pb2.Summary.Image(height=height, width=width, colorspace=4, encoded_image_string=png)
    events = [event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"),
              event_pb2.Event(wall_time=time.time(), step=0,
                              summary=summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, image=image)]))]
    def write(handle: BinaryIO) -> None:
        writer = RecordWriter(handle)
        for event in events:
            writer.write(event.SerializeToString())

    write_atomically(path, write)
