"""The three descriptions of the environment (pyproject, constraints, environment.yml) agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _constraints() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        assert version, f"constraints.txt: {line!r} is not an exact pin (name==version)"
        pins[_normalise(name)] = Version(version)
    return pins


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _all_requirements() -> list[Requirement]:
    project = _pyproject()["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        reqs.extend(Requirement(r) for r in extra)
    return reqs


def test_torch_is_pinned_to_the_cpu_build_version():
    deps = {
        _normalise(Requirement(r).name): Requirement(r)
        for r in _pyproject()["project"]["dependencies"]
    }
    assert str(deps["torch"].specifier) == "==2.13.0"
    assert _constraints()["torch"] == Version("2.13.0")


def test_every_requirement_is_pinned_in_constraints_within_its_bounds():
    pins = _constraints()
    for req in _all_requirements():
        name = _normalise(req.name)
        assert name in pins, f"{req.name} is a dependency but has no pin in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]}, outside pyproject's '{req.specifier}'"
        )


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    python = [d for d in deps if isinstance(d, str) and d.startswith("python")]
    assert python == ["python=3.11"]
    requires_python = _pyproject()["project"]["requires-python"]
    assert ">=3.11" in requires_python and "<3.12" in requires_python
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-c constraints.txt" in pip_section, "environment.yml must install under constraints.txt"
    extras = set(_pyproject()["project"]["optional-dependencies"])
    editable = [line for line in pip_section if line.startswith("-e .[")]
    assert editable, "environment.yml must install the package itself"
    named = set(editable[0][len("-e .[") : -1].split(","))
    assert named == extras, f"environment.yml installs extras {named}, pyproject defines {extras}"


def test_readme_gives_the_two_commands_that_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
