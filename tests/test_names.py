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
