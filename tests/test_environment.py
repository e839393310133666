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


# --- The stated lower bounds are true of the APIs the package uses ------------------------------
#
# No test here installs an old version. Instead, a table names the APIs the package uses that are
# recent in their library, with the first release that has them, and an AST scan of
# anomaly_tutorial/ checks every use against the lower bound pyproject.toml states.

#: Dotted name of a recent API -> (distribution, first version that has it). Sources: the
#: libraries' release notes (scikit-learn 1.6 made ``validate_data`` public, 1.3 added
#: ``HDBSCAN``; numpy 1.20 added ``sliding_window_view``; pydantic 2.0 introduced ``TypeAdapter``
#: and ``AfterValidator``); ``pydantic.with_config`` is in the 2.7.0 wheel and not in 2.6.4.
RECENT_APIS: dict[str, tuple[str, str]] = {
    "sklearn.utils.validation.validate_data": ("scikit-learn", "1.6"),
    "sklearn.cluster.HDBSCAN": ("scikit-learn", "1.3"),
    "pydantic.with_config": ("pydantic", "2.7"),
    "pydantic.TypeAdapter": ("pydantic", "2.0"),
    "pydantic.AfterValidator": ("pydantic", "2.0"),
    "numpy.lib.stride_tricks.sliding_window_view": ("numpy", "1.20"),
}

#: Modules imported directly that come with a declared dependency pinned to them exactly.
PROVIDED_BY = {"pydantic_core": "pydantic"}

PACKAGE = ROOT / "anomaly_tutorial"


def _used_names(source: str) -> set[str]:
    """Fully qualified names a module imports or reaches through an imported module."""
    import ast

    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                used.add(alias.name)
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                used.add(f"{node.module}.{alias.name}")
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts = []
            inner: ast.expr = node
            while isinstance(inner, ast.Attribute):
                parts.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id in aliases:
                used.add(".".join([aliases[inner.id], *reversed(parts)]))
    return used


def _lower_bound(req: Requirement) -> Version | None:
    bounds = [Version(s.version) for s in req.specifier if s.operator in {">=", "==", "~=", ">"}]
    return max(bounds) if bounds else None


def _stated_requirements() -> dict[str, Requirement]:
    return {_normalise(r.name): r for r in _all_requirements()}


def _bound_violations(used: dict[str, list[str]], requirements: dict[str, Requirement]) -> list:
    """(where, api, distribution, needed, stated) for each use the stated bound does not cover."""
    problems = []
    for api, (dist, needed) in RECENT_APIS.items():
        for where in used.get(api, []):
            req = requirements.get(_normalise(dist))
            stated = None if req is None else _lower_bound(req)
            if stated is None or stated < Version(needed):
                problems.append((where, api, dist, needed, None if req is None else str(req)))
    return problems


def _package_uses() -> dict[str, list[str]]:
    uses: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in _used_names(path.read_text()):
            uses.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return uses


def test_the_scan_finds_imports_and_attribute_uses_and_flags_a_loose_bound():
    source = (
        "import numpy as np\n"
        "from sklearn.utils.validation import check_is_fitted, validate_data\n"
        "view = np.lib.stride_tricks.sliding_window_view(x, 3)\n"
    )
    used = _used_names(source)
    assert "sklearn.utils.validation.validate_data" in used
    assert "numpy.lib.stride_tricks.sliding_window_view" in used
    uses = {name: ["snippet.py"] for name in used}
    loose = {"scikit-learn": Requirement("scikit-learn>=1.4"), "numpy": Requirement("numpy>=1.26")}
    problems = _bound_violations(uses, loose)
    assert [(p[1], p[3]) for p in problems] == [("sklearn.utils.validation.validate_data", "1.6")]
    tight = {**loose, "scikit-learn": Requirement("scikit-learn>=1.6")}
    assert _bound_violations(uses, tight) == []
    assert _bound_violations(uses, {"numpy": loose["numpy"]})[0][4] is None  # undeclared


def test_every_recent_api_the_package_uses_is_within_the_stated_lower_bound():
    uses = _package_uses()
    assert "sklearn.utils.validation.validate_data" in uses, "the scan found nothing: broken?"
    problems = _bound_violations(uses, _stated_requirements())
    assert not problems, "\n".join(
        f"{where} uses {api}, new in {dist} {needed}, but pyproject.toml states {stated}"
        for where, api, dist, needed, stated in problems
    )


def test_the_recent_api_table_names_real_apis_of_the_pinned_versions():
    import importlib

    pins = _constraints()
    for api, (dist, needed) in RECENT_APIS.items():
        module_name, _, attr = api.rpartition(".")
        module = importlib.import_module(module_name)
        assert hasattr(module, attr), f"{api} does not exist in the installed {dist}"
        assert pins[_normalise(dist)] >= Version(needed), f"{dist} pinned below {needed}"


def test_every_third_party_module_the_package_imports_is_a_declared_dependency():
    import sys
    from importlib.metadata import packages_distributions

    providers = packages_distributions()
    declared = set(_stated_requirements())
    missing = []
    for name, where in sorted(_package_uses().items()):
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top in {"anomaly_tutorial", "__future__"}:
            continue
        dists = {_normalise(d) for d in providers.get(top, [])}
        dists |= {_normalise(PROVIDED_BY[top])} if top in PROVIDED_BY else set()
        if not dists & declared:
            missing.append(f"{top} (from {where[0]}; distributions {sorted(dists) or '?'})")
    assert not missing, "imported but not declared in pyproject.toml: " + ", ".join(
        sorted(set(missing))
    )


def _make_recipe(target: str) -> str:
    """The recipe lines of a Makefile target (up to the next blank line)."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)*)", text, re.MULTILINE)
    assert match, f"Makefile has no target {target!r}"
    return match.group(1)


def test_make_test_checks_the_built_pages_offline():
    assert re.search(r"^test: .*\bbook-strict\b", (ROOT / "Makefile").read_text(), re.MULTILINE)
    strict = _make_recipe("book-strict")
    assert "-W" in strict
    for check in ("figures-check", "math-check", "browser-check"):
        assert check in strict, f"make book-strict does not run {check}"
    assert "math-check" in _make_recipe("book")
    assert "tools/check_offline_math.py _build/html" in _make_recipe("math-check")
    assert "tools/check_math_in_browser.py _build/html" in _make_recipe("browser-check")
