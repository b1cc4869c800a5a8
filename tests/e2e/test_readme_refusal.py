"""The README's Python section shows a refused request and its problems, and says
them as Python says them.

``tests/e2e/test_first_hour_local.py`` runs every README Python block verbatim on the
emulator, but nothing read what the refused request prints: the README said
``duration_seconds: ...`` while a Python caller typed ``duration=12``. Here the block's
``try``/``except InvalidRequestError`` part runs as written (it sends nothing) and what
it prints is compared with the comments beside it.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _refusal_example() -> tuple[str, list[str]]:
    """The README's ``try: ... except InvalidRequestError`` lines, and the output its
    comments promise (``# field: message``, a trailing ``…`` meaning "and more")."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    block = next(b for b in blocks if "except InvalidRequestError" in b)
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("try:"))
    end = next(
        i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace()
        and not lines[i].startswith("except")
    )  # fmt: skip
    imports = [line for line in lines[:start] if line.startswith(("from ", "import "))]
    part = lines[start:end]
    promised = [m.group(1).strip() for line in part if (m := re.search(r"#\s*(\w+: .*)$", line))]
    return "\n".join([*imports, *part]), promised


def test_the_readme_shows_a_refused_request_with_its_problems_by_keyword() -> None:
    code, promised = _refusal_example()
    assert "TextVideo(" in code and "problem.field" in code
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md refused request", "exec"), {"__name__": "__readme__"})
    printed = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in printed] == ["duration", "seed"]
    assert len(promised) == len(printed), (promised, printed)
    for said, shown in zip(promised, printed, strict=True):
        assert shown.startswith(said.rstrip("…").rstrip().rstrip(";")), (said, shown)
