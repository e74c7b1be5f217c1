"""A broken plugin breaks only itself: installed packages that fail to import, clash with a built-in name,
ship no YAML or a YAML syntax error, and what every command then says."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import QUIET, install_into

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.0.1"

[project.entry-points."glossary_exp.plugins"]
{short} = "{package}.plugin"

[project.entry-points."glossary_exp.configs"]
{short} = "{package}.conf"

[tool.setuptools.packages.find]
where = ["src"]
{package_data}"""
PLUGINS = {
    # Its module imports a package that is not installed; its YAML still names the model it would add.
    "broken_import": ("import nonexistent_dependency_xyz  # noqa: F401\n",
                      {"model/gone_model.yaml": "name: gone_model\n"}),
    # Registers a model of its own, then one whose name a built-in has: neither is kept.
    "clashing": (textwrap.dedent("""\
        from glossary_exp.module import GlossaryModule
        from glossary_exp.registry import register

        @register("model", "clash_extra")
        class Extra(GlossaryModule):
            pass

        @register("model", "simple_nn")
        class Impostor(GlossaryModule):
            pass
        """), {}),
    # A NameError in a class body (a misspelt annotation), line 6; its YAML names the model it would add.
    "name_error": (textwrap.dedent("""\
        from glossary_exp.module import GlossaryModule
        from glossary_exp.registry import register

        @register("model", "typo_model")
        class TypoModel(GlossaryModule):
            weight: Tensr = None
        """), {"model/typo_model.yaml": "name: typo_model\n"}),
    # Installed without package-data: a regular install leaves its YAML out.
    "yamlless": ("", {"model/lost_model.yaml": "name: lost_model\n"}),
    # Its experiment preset has a YAML syntax error on line 3.
    "bad_yaml": ("", {"experiment/bad_yaml.yaml": "# @package _global_\nname: bad_yaml\ntrainer: {max_epochs: 2\n"}),
}


def distribution(short: str) -> str:
    return f"{short.replace('_', '-')}-glossary-plugin"


def build(root: Path, short: str, module: str, configs: dict[str, str]) -> Path:
    package = f"{short}_glossary_plugin"
    source = root / short / "src" / package
    (source / "conf").mkdir(parents=True)
    (source / "__init__.py").write_text("")
    (source / "plugin.py").write_text(module)
    (source / "conf" / "__init__.py").write_text("")
    for path, text in configs.items():
        (source / "conf" / path).parent.mkdir(parents=True, exist_ok=True)
        (source / "conf" / path).write_text(text)
    data = "" if short == "yamlless" else f'\n[tool.setuptools.package-data]\n{package} = ["conf/**/*.yaml"]\n'
    (root / short / "pyproject.toml").write_text(PYPROJECT.format(name=distribution(short), short=short,
                                                                   package=package, package_data=data))
    return root / short


@pytest.fixture(scope="module")
def broken_plugins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """All five installed (regular installs, offline) into a directory of their own; the environment that sees them."""
    root = tmp_path_factory.mktemp("broken_plugins")
    paths = [build(root, short, module, configs) for short, (module, configs) in PLUGINS.items()]
    return install_into(root / "site", *paths)


def glossary(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "glossary_exp", *args], capture_output=True, text=True, cwd=cwd,
                          env=env)


def test_runs_that_do_not_use_a_broken_plugin_work(broken_plugins: dict[str, str], tmp_path: Path) -> None:
    result = glossary("experiment=quadratic_gd", f"paths.output_dir={tmp_path}", *QUIET, cwd=tmp_path,
                      env=broken_plugins)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_list_names_the_broken_plugins_and_why(broken_plugins: dict[str, str], tmp_path: Path) -> None:
    result = glossary("list", cwd=tmp_path, env=broken_plugins)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    broken = lines["broken plugins"]
    assert ("broken_import = broken_import_glossary_plugin.plugin (broken-import-glossary-plugin 0.0.1): "
            "ModuleNotFoundError: No module named 'nonexistent_dependency_xyz'") in broken
    assert "clashing = clashing_glossary_plugin.plugin (clashing-glossary-plugin 0.0.1): ValueError: " \
           "clashing_glossary_plugin.plugin.Impostor registers model 'simple_nn', which " \
           "glossary_exp.vision.mlp.SimpleNNClassifier already has" in broken
    models = lines["models"].split(", ")
    assert "simple_nn" in models and "clash_extra" not in models  # what the clashing plugin registered is withdrawn
    assert "gone_model" not in models and "typo_model" not in models  # a broken plugin's YAML offers nothing
    assert re.search(r"name_error = name_error_glossary_plugin.plugin \(name-error-glossary-plugin 0.0.1\): "
                     r"NameError: name 'Tensr' is not defined \(at \S+/name_error_glossary_plugin/plugin.py:6\)",
                     broken)


def test_asking_for_what_a_broken_plugin_provides_names_it(broken_plugins: dict[str, str], tmp_path: Path) -> None:
    result = glossary("model=gone_model", f"paths.output_dir={tmp_path / 'outputs'}", *QUIET, cwd=tmp_path,
                      env=broken_plugins)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: model 'gone_model' comes from plugin broken_import = "
                           "broken_import_glossary_plugin.plugin (broken-import-glossary-plugin 0.0.1), "
                           "which failed to load: ModuleNotFoundError: No module named "
                           "'nonexistent_dependency_xyz' (at "), line
    assert line.endswith("/broken_import_glossary_plugin/plugin.py:1)"), line  # the plugin's file and line
    assert not (tmp_path / "outputs").exists()


def test_a_built_in_name_stays_the_built_in(broken_plugins: dict[str, str], tmp_path: Path) -> None:
    code = "from glossary_exp import registry; print(registry.get('model', 'simple_nn').__module__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True,
                            env=broken_plugins)
    assert result.stdout.strip() == "glossary_exp.vision.mlp"


def test_list_warns_of_a_plugin_installed_without_its_yaml(broken_plugins: dict[str, str], tmp_path: Path) -> None:
    result = glossary("list", cwd=tmp_path, env=broken_plugins)
    assert ("warning: plugin yamlless's config package yamlless_glossary_plugin.conf holds no YAML files; add to its "
            "pyproject.toml: [tool.setuptools.package-data] yamlless_glossary_plugin = [\"conf/**/*.yaml\"]"
            in result.stderr)


def test_a_yaml_syntax_error_is_one_line_with_file_line_and_column(broken_plugins: dict[str, str],
                                                                    tmp_path: Path) -> None:
    result = glossary("experiment=bad_yaml", f"paths.output_dir={tmp_path / 'outputs'}", *QUIET, cwd=tmp_path,
                      env=broken_plugins)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: YAML syntax error in ") and "/conf/experiment/bad_yaml.yaml:4:1: " in line, line
    assert line.endswith("(while parsing a flow mapping at line 3, column 10)"), line  # where the brace opened
