"""The package's layering as its docstring states it: each module imports only modules
on its own line of the map or above it, and every module is on the map."""

import ast
import re
from pathlib import Path

import mobilecourse

PACKAGE = Path(mobilecourse.__file__).parent


def module_map() -> dict[str, int]:
    """Module name -> its line's rank in the docstring's "Modules, bottom up" map."""
    text = mobilecourse.__doc__.split("Modules, bottom up", 1)[1].split("\n\n", 1)[0]
    ranks = {}
    for rank, line in enumerate(re.findall(r"^    (\S[^:]*):", text, flags=re.M)):
        for name in line.split(","):
            ranks[name.strip()] = rank
    return ranks


def package_imports(path: Path) -> set[str]:
    """Modules of the package that the file imports (at any depth of the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] != "mobilecourse":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found.update(a.name for a in node.names if (PACKAGE / f"{a.name}.py").exists())
                found.update(a.name for a in node.names if (PACKAGE / a.name).is_dir())
        elif isinstance(node, ast.Import):
            found.update(
                a.name.split(".")[1] for a in node.names if a.name.startswith("mobilecourse.")
            )
    return found


def test_every_module_is_on_the_map():
    ranks = module_map()
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    modules |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    modules.discard("datafiles")  # the data folder, mapped as package data
    assert modules - set(ranks) == set(), "modules missing from the package docstring's map"
    assert set(ranks) - modules == set(), "the map names modules that do not exist"


def test_no_module_imports_one_below_it():
    ranks = module_map()
    upward = []
    for path in [*PACKAGE.glob("*.py"), *PACKAGE.glob("checks/*.py")]:
        if path.stem == "__init__" and path.parent == PACKAGE:
            continue
        importer = path.parent.name if path.parent != PACKAGE else path.stem
        for imported in package_imports(path) - {importer}:
            if ranks[imported] > ranks[importer]:
                upward.append(f"{path.relative_to(PACKAGE)} imports {imported}")
    assert upward == []


def test_the_map_reader_finds_an_upward_import(tmp_path):
    # the check above can fail: a module that imports one listed below it is reported
    bad = tmp_path / "costs.py"
    bad.write_text("from mobilecourse import deploy\n")
    ranks = module_map()
    assert "deploy" in package_imports(bad) and ranks["deploy"] > ranks["costs"]
