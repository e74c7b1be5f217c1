"""Optimizers from the config groups take torch's fused update unless the config chooses another."""

from __future__ import annotations

import pytest
import torch
from test_config_checks import compose_config

from glossary_exp.optim import build_optimizer


def optimizer_from(*overrides: str, params: list[torch.Tensor] | None = None) -> torch.optim.Optimizer:
    cfg = compose_config(*overrides)
    params = params if params is not None else list(torch.nn.Linear(3, 2).parameters())
    return build_optimizer(params, dict(cfg.optimizer))


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_every_optimizer_config_is_fused_on_cpu_by_default(name: str) -> None:
    optimizer = optimizer_from(f"optimizer={name}")
    assert optimizer.defaults["fused"] is True
    assert not optimizer.defaults["foreach"]


@pytest.mark.parametrize("overrides,fused,foreach", [
    (["optimizer.fused=false"], False, None),
    (["optimizer.foreach=true"], None, True),
    (["optimizer.foreach=false"], None, False),
])
def test_a_chosen_implementation_is_kept(overrides: list[str], fused: bool | None, foreach: bool | None) -> None:
    optimizer = optimizer_from("optimizer=adam", *overrides)
    assert (optimizer.defaults["fused"], optimizer.defaults["foreach"]) == (fused, foreach)


def test_parameters_torch_cannot_fuse_get_its_default() -> None:
    on_meta = [torch.nn.Parameter(torch.zeros(3, device="meta"))]
    assert not optimizer_from("optimizer=adam", params=on_meta).defaults["fused"]


def test_fused_and_default_updates_train_alike() -> None:
    """Same model, data and steps: the fused update lands where torch's per-tensor loop does."""
    results = []
    for overrides in (["optimizer.foreach=false"], []):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
        optimizer = optimizer_from("optimizer=adam", "optimizer.lr=0.01", *overrides, params=list(model.parameters()))
        data = torch.Generator().manual_seed(1)
        for _ in range(50):
            x, y = torch.randn(32, 8, generator=data), torch.randint(0, 3, (32,), generator=data)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        results.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    torch.testing.assert_close(results[0], results[1], rtol=1e-5, atol=1e-6)
