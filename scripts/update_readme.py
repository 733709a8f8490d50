"""Splice the latest benchmark report into README.md between its markers (cost, size, speed,
quality: generated, never typed in), followed by the newest companion reports: feature films
(`bench.films`), reading a video by codec (`bench.decode`), people and faceless leads on the
labelled set (`bench.people`) and the blind pairwise preference (`bench.pairs`: crops, and whole
posters with layers on).

    python scripts/update_readme.py [bench/results/<date>.md]    # default: the newest report
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    results = ROOT / "bench" / "results"
    reports = sorted(results.glob("20*.md"))
    src = Path(argv[0]) if argv else reports[-1]
    body = src.read_text().split("\n", 1)[1].strip()            # drop the report's own title
    body = body.replace("\n## ", "\n### ")
    for kind in ("films", "decode", "people", "pairs", "pairs-posters"):
        found = sorted(results.glob(f"{kind}-20*.md"))
        if found:
            text = found[-1].read_text().strip().replace("\n## ", "\n### ")
            if not text.startswith("#"):
                text = f"### {kind}\n\n{text}"
            body += f"\n\n{text}\n\n*From `{found[-1].relative_to(ROOT)}`.*"
    readme = (ROOT / "README.md").read_text()
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    note = f"*Generated from `{src.relative_to(ROOT)}` by `scripts/update_readme.py`.*"
    (ROOT / "README.md").write_text(f"{head}{BEGIN}\n{note}\n\n{body}\n{END}{tail}")
    print(f"README.md: spliced {src.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
