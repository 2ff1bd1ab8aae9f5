"""Modules stand where their readers look: read from the source's imports (``ast``; nothing is imported).

- the model folder format is ``action2vec.model_folder``: no module outside ``training/`` reaches into
  ``training.export`` or ``training.fit`` (the package's public ``fit``, ``RunConfig``, ... are fine);
- ``reports/`` reads training runs through ``action2vec.run_folder`` and imports nothing of ``training/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import action2vec

SRC = Path(action2vec.__file__).resolve().parent
TRAINING_INTERNALS = ("action2vec.training.export", "action2vec.training.fit")


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> list[tuple[int, str, bool]]:
    """(line, dotted name, named in a from-import) of every import in ``path``, function-local ones included;
    ``from A import b`` gives ``A`` and ``A.b`` (b may be a submodule, or a name A hands on); relative imports are
    resolved."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, False) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.append((node.lineno, base, False))
            found += [(node.lineno, f"{base}.{alias.name}", True) for alias in node.names]
    return found


def offenders(rule) -> list[str]:
    """``file:line name``, once per import statement, of those for which ``rule(importer module, imported name,
    from-import name)`` holds."""
    hits: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        importer = module_name(path)
        for line, name, named in imported(path):
            if rule(importer, name, named):
                hits.setdefault(f"{path.relative_to(SRC.parent)}:{line}", name)
    return [f"{where} {name}" for where, name in hits.items()]


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _reaches_training_internals(importer: str, name: str, named: bool) -> bool:
    if _within(importer, "action2vec.training"):
        return False
    if named and name == "action2vec.training.fit":  # `from action2vec.training import fit`: the public function
        return False
    return any(_within(name, m) for m in TRAINING_INTERNALS)


def test_the_import_reader_sees_what_the_rules_look_for():
    found = {name for _, name, _ in imported(SRC / "training" / "fit.py")}
    assert {"action2vec.training.export", "action2vec.training.export.export_model"} <= found
    assert "action2vec.run_folder.metric_series" in {name for _, name, _ in imported(SRC / "reports" / "plots.py")}
    assert _reaches_training_internals("action2vec.inference", "action2vec.training.fit", False)  # import ...fit
    assert _reaches_training_internals("action2vec.inference", "action2vec.training.fit.TrainResult", True)
    assert not _reaches_training_internals("action2vec.testing", "action2vec.training.fit", True)  # the function


def test_no_module_outside_training_reaches_into_its_export_or_fit_modules():
    hits = offenders(_reaches_training_internals)
    assert not hits, "import action2vec.model_folder / action2vec.run_folder instead:\n" + "\n".join(hits)


def test_reports_import_nothing_of_training():
    hits = offenders(
        lambda importer, name, named: _within(importer, "action2vec.reports") and _within(name, "action2vec.training")
    )
    assert not hits, "reports read a run through action2vec.run_folder:\n" + "\n".join(hits)
