"""Run and job directory names: short keys, whole overrides, test runs named after their checkpoint's run."""

from __future__ import annotations

from glossary_exp.names import MAX_CHARS, run_name


def test_keys_are_cut_to_their_shortest_unambiguous_suffix() -> None:
    assert run_name(["optimizer=adam", "optimizer.lr=0.01", "trainer.max_epochs=5"]) == \
        "lr-0.01_max_epochs-5_optimizer-adam"
    assert run_name(["optimizer.lr=0.01", "scheduler.lr=3"]) == "optimizer.lr-0.01_scheduler.lr-3"  # both kept long


def test_a_long_name_keeps_whole_overrides_and_counts_the_rest() -> None:
    overrides = ["experiment=image_folder", "data.path=/work/shared/datasets/cifar10-jpg", "model.num_classes=10",
                 "data.transforms.resize=[32,32]", "data.transforms.hflip=0.5", "trainer.max_epochs=5",
                 "optimizer.lr=0.001", "data.batch_size=64", "model.image_size=32", "seed=0"]
    name = run_name(overrides)
    # Sorted, whole key-value pairs while they fit; path, resize and seed did not, and are counted.
    assert name == "batch_size-64_hflip-0.5_image_size-32_lr-0.001_max_epochs-5_num_classes-10_+3"
    assert len(name) <= MAX_CHARS


def test_where_files_go_is_not_part_of_the_name() -> None:
    assert run_name(["paths.output_dir=/tmp/x", "callbacks.progress_bar=false", "experiment=mnist_mlp", "seed=1"]) == \
        "seed-1"


def test_a_test_run_is_named_after_the_run_whose_checkpoint_it_read() -> None:
    checkpoint = "outputs/mnist_mlp/2026-12-01_22-23-20_730297_lr-0.01/checkpoints/best.ckpt"
    assert run_name(["task=test", f"ckpt_path={checkpoint}"]) == "test_of_2026-12-01_22-23-20_730297"
    assert run_name(["task=predict", "ckpt_path=/weights/model.ckpt"]) == "predict_of_model"


def test_a_preset_without_a_name_runs_under_its_own_name(tmp_path) -> None:
    """A preset that sets no ``name:`` runs under outputs/<preset>/ (as the README says), not the model's name."""
    from conftest import run_dirs, run_in_process

    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    (tmp_path / "conf" / "experiment" / "unnamed.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /model: random_regression\n"
        "  - override /data: random_regression\ndata:\n  samples: 40\ntrainer:\n  max_epochs: 1\n")
    outputs = tmp_path / "outputs"
    result = run_in_process("experiment=unnamed", f"hydra.searchpath=[file://{tmp_path / 'conf'}]", output_dir=outputs)
    assert result.returncode == 0, result.stderr
    (run,) = run_dirs(outputs)
    assert run.parent == outputs / "unnamed"
    assert "name: unnamed" in (run / "config.yaml").read_text()
    plain = run_in_process("model=random_regression", "data=random_regression", "data.samples=40",
                           "trainer.max_epochs=1", output_dir=outputs)  # no preset: the model's name, as before
    assert plain.returncode == 0, plain.stderr
    assert {r.parent.name for r in run_dirs(outputs)} == {"unnamed", "random_regression"}


def test_long_floats_are_named_to_four_significant_digits_as_the_summary_shows_them() -> None:
    assert run_name(["optimizer.lr=2.684639050311086e-06", "seed=3"]) == "lr-2.685e-06_seed-3"
    assert run_name(["optimizer.lr=0.001", "data.noise=0.12345"]) == "lr-0.001_noise-0.12345"  # short ones as typed
