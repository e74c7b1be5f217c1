"""A search space in Hydra's sweep syntax (``interval``, ``tag(log, ...)``, ``choice``, ``range``) as Optuna
distributions, and the check that a resumed study goes on in the space it was started in."""

from __future__ import annotations

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep, Transformer
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
)

from glossary_exp.errors import ConfigError


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


# The study's user attribute that holds the space its trials were asked in, by key (Optuna's JSON of each).
SPACE_ATTR = "search_space"


def check_same_space(study: optuna.Study, space: dict[str, BaseDistribution], accept: bool) -> None:
    """A study resumed with another space is refused, naming what changed, unless ``accept``; then it holds ``space``.

    Its trials would otherwise mix two spaces silently: the sampler models them as one, and the
    summary ranks trials that could never have met. A study saved before the space was recorded is
    compared with the distributions of its last trial.
    """
    now = {key: distribution_to_json(dist) for key, dist in space.items()}
    before = study.user_attrs.get(SPACE_ATTR)
    if before is None and study.trials:
        before = {key: distribution_to_json(dist) for key, dist in study.trials[-1].distributions.items()}
    if before is not None and before != now and not accept:
        changes = [f"{key}: {_shown(before.get(key))} -> {_shown(now.get(key))}"
                   for key in sorted(set(before) | set(now)) if before.get(key) != now.get(key)]
        raise ConfigError(f"the study '{study.study_name}' was searched over another space ({'; '.join(changes)}); "
                          "its trials would mix with these: give a new hydra.sweeper.study_name (or leave out "
                          "hydra.sweep.dir) for a new study, or hydra.sweeper.accept_space_change=true to go on in it")
    if before != now:
        study.set_user_attr(SPACE_ATTR, now)


def _shown(dist_json: str | None) -> str:
    """A distribution in a few characters: ``1e-08..3e-06 log``, ``choice(32, 64)``, ``none``."""
    if dist_json is None:
        return "none"
    dist = json_to_distribution(dist_json)
    if not isinstance(dist, (FloatDistribution, IntDistribution)):
        return f"choice({', '.join(map(str, getattr(dist, 'choices', ())))})"
    step = dist.step
    return f"{dist.low:g}..{dist.high:g}" + (" log" if dist.log else "") + (f" step {step:g}" if step else "")
