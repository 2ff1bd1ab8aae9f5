"""The extraction rows of issue 11's table from the JSON files of ``bench_extract.py`` (for gpu_check.sh).

    python benchmarks/gpu_check_table.py extract.json [compile.json ...]

Missing files are skipped (a part that failed or ran out of time): the rows that can be printed are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def merged(paths: list[str]) -> dict[str, Any]:
    """The first file's results, with the ``model_only`` settings of every file."""
    result: dict[str, Any] = {}
    for path in paths:
        if not Path(path).is_file():
            continue
        r = json.loads(Path(path).read_text())
        models = {**result.get("model_only", {}), **r.get("model_only", {})}
        result = {**r, **result, "model_only": models}
    return result


def table(r: dict[str, Any]) -> list[str]:
    lines = ["-- issue 11 table (extraction rows)"]
    if "decode_over_raw_pyav" in r:
        lines.append(
            f"decode-only / raw PyAV         : {r['decode_over_raw_pyav']:.3f}  (target >= 0.9; "
            f"{r['decode_only']['videos_per_s']:.2f} vs {r['raw_pyav']['videos_per_s']:.2f} videos/s, "
            f"raw {r['raw_pyav']['frames_per_s']:.0f} frames/s; CPU time {r['decode_over_raw_pyav_cpu']:.3f})"
        )
    if "extract_over_raw_pyav" in r:
        ext = r["extract"]
        lines.append(
            f"extraction / raw PyAV decode   : {r['extract_over_raw_pyav']:.3f}  (target >= 0.9; "
            f"{ext['videos_per_s']:.2f} videos/s, {ext['clips_per_s']:.0f} clips/s)"
        )
        total = max(ext["seconds"], 1e-9)
        lines.append(
            "main process during extraction : "
            + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in ext["timings_s"].items())
        )
    ok = {k: v for k, v in r.get("model_only", {}).items() if "clips_per_s" in v}
    for knobs, v in r.get("model_only", {}).items():
        value = f"{v['clips_per_s']:8.0f} clips/s" if knobs in ok else f"failed: {v['error']}"
        lines.append(f"model only [{knobs}]".ljust(31) + f": {value}")
    if ok:
        knobs, best = max(ok.items(), key=lambda kv: kv[1]["clips_per_s"])
        lines.append(
            f"model only, best ({knobs})".ljust(31)
            + f": {best['clips_per_s']:.0f} clips/s  (target >= 2,300, aim >= 4,000)"
        )
    return lines


def main(argv: list[str]) -> int:
    print("\n".join(table(merged(argv))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
