"""Pictures, result tables, reports (md/html/json) and word2vec export (SPEC step 9).

Tables and word2vec export need only the core install; figures and the report pages need the 'report' extra
(matplotlib, jinja2, scikit-learn), so the names below load their modules on first use.
"""

from importlib import import_module
from typing import Any

_HOMES = {
    "read_word2vec": "action2vec.reports.export",
    "write_word2vec": "action2vec.reports.export",
    "build_report": "action2vec.reports.report",
    "collect_results": "action2vec.reports.report",
    "zsl_table_markdown": "action2vec.reports.tables",
}

__all__ = list(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'action2vec.reports' has no attribute {name!r}")
