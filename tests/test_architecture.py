"""The import direction is a contract, not a habit: ``.importlinter`` says which way imports go
(README, "Map"), and these tests fail when code breaks it."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("app", "jobs", "scheduler", "deploy", "bench")
MAX_FUNCTION_LEVEL_IMPORTS = 10


def test_import_contracts_hold():
    """`lint-imports`: core <- web, jobs, scheduler; scheduler -> jobs; nothing -> bench; no cycles in app."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _function_level_project_imports() -> list[tuple[Path, int, str]]:
    found = []
    for package in PROJECT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            lines = path.read_text().splitlines()
            tree = ast.parse("\n".join(lines))
            for function in ast.walk(tree):
                if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for node in ast.walk(function):
                    names = ([node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                             else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
                    if any(name.split(".")[0] in PROJECT_PACKAGES for name in names) or \
                            (isinstance(node, ast.ImportFrom) and node.level):
                        found.append((path.relative_to(ROOT), node.lineno, lines[node.lineno - 1]))
    return sorted(set(found))


def _has_reason(path: Path, lineno: int, line: str) -> bool:
    """A comment on the import's line, or on the line just above it."""
    above = (ROOT / path).read_text().splitlines()[lineno - 2].strip()
    return "#" in line or above.startswith("#")


def test_function_level_imports_are_few_and_say_why():
    """An import inside a function hides a dependency from the contract's reader: at most ten,
    each with its reason. (deploy/ is the launcher's, reworked with the process table; its imports
    count here but are not required to carry a comment yet.)"""
    imports = _function_level_project_imports()
    listing = "\n".join(f"{path}:{lineno}: {line.strip()}" for path, lineno, line in imports)
    assert len(imports) <= MAX_FUNCTION_LEVEL_IMPORTS, listing
    unexplained = [(p, n, l) for p, n, l in imports if p.parts[0] != "deploy" and not _has_reason(p, n, l)]
    assert not unexplained, unexplained
