"""A search space in Hydra's sweep syntax (``interval``, ``tag(log, ...)``, ``choice``, ``range``), as Optuna's
distributions."""

from __future__ import annotations

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep, Transformer
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution


def distribution(override: Override) -> BaseDistribution | None:
    """Optuna's distribution for a sweep override (interval, range, choice); None for a fixed value.

    ``tag(log, interval(a, b))`` samples on a log scale, ``tag(int, interval(a, b))`` integers.
    """
    if not override.is_sweep_override():
        return None
    sweep = override.value()
    if isinstance(sweep, IntervalSweep):  # Hydra parses interval bounds as floats; tag(int, ...) asks for ints
        assert sweep.start is not None and sweep.end is not None  # the grammar requires both bounds
        log_scale = "log" in sweep.tags
        if "int" in sweep.tags:
            return IntDistribution(int(sweep.start), int(sweep.end), log=log_scale)
        return FloatDistribution(sweep.start, sweep.end, log=log_scale)
    choices = list(override.sweep_iterator(transformer=Transformer.encode))
    if isinstance(sweep, RangeSweep) and not sweep.shuffle:
        assert sweep.start is not None and sweep.step is not None
        # range(a, b, s) stops before b; Optuna's high is inclusive, so it ends at the last element.
        last = choices[-1]
        assert isinstance(last, (int, float))  # a range's elements are numbers
        if isinstance(sweep.start, int) and isinstance(sweep.step, int):
            return IntDistribution(sweep.start, int(last), step=sweep.step)
        return FloatDistribution(sweep.start, last, step=sweep.step)
    return CategoricalDistribution(choices)  # type: ignore[arg-type]  # Hydra's choices are plain values here


def search_space(arguments: list[str]) -> tuple[dict[str, BaseDistribution], list[str]]:
    """(distributions by key, fixed overrides); a later argument for the same key wins."""
    space: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for override in OverridesParser.create().parse_overrides(arguments):
        key = override.get_key_element()
        space.pop(key, None)
        fixed.pop(key, None)
        dist = distribution(override)
        if dist is None:
            fixed[key] = override.input_line or f"{key}={override.get_value_element_as_str()}"
        else:
            space[key] = dist
    return space, list(fixed.values())
