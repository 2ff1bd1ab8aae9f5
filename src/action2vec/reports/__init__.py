"""Pictures, result tables, reports (md/html/json) and word2vec export (SPEC step 9)."""

from action2vec.reports.export import read_word2vec, write_word2vec
from action2vec.reports.report import build_report, collect_results
from action2vec.reports.tables import zsl_table_markdown

__all__ = ["read_word2vec", "write_word2vec", "build_report", "collect_results", "zsl_table_markdown"]
