"""Issue 22, item 7: the joined Ray 2 storyboard video has a gallery card.

A storyboard on Luma Ray 2 runs one job per shot and joins them into ``output.mp4``;
``novareel gallery`` showed the shots' cards but not the joined video. It now has a
card of its own: a player whose file is hard-linked into ``media/`` (the folder can
be copied or zipped), the jobs it joins, and their total cost.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from novareel.cli import _register, app

_register()  # every command group, as the novareel entry point does


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_the_joined_storyboard_video_has_its_card(cli_env: dict[str, Any], tmp_path: Path) -> None:
    made = _run("generate", *cli_env["args"], "--model-id", "luma-ray2",
                "--shot", "A door opens slowly", "--shot", "A cat walks in",
                "--shot", "The cat sits down", "--out", "v", "--json")  # fmt: skip
    assert made.exit_code == 0, made.output
    joined = Path(json.loads(made.stdout)["video_path"])
    assert joined.name == "output.mp4" and joined.is_file()
    jobs = json.loads(_run("jobs", "--json").stdout)
    assert len(jobs) == 3
    shot_cost = sum(job["estimated_cost_usd"] for job in jobs)

    built = _run("gallery", "-o", "g", "--no-presign", "--json")
    assert built.exit_code == 0, built.output
    result = json.loads(built.stdout)
    assert result["storyboards"] == 1 and result["cards"] == 4  # 3 shots + the joined video
    page = (tmp_path / "g" / "index.html").read_text(encoding="utf-8")
    card = re.search(r'<article class="card status-completed storyboard".*?</article>', page, re.S)
    assert card is not None, page
    html = card.group(0)
    src = re.search(r'<video [^>]*src="(media/storyboard-[0-9a-f]{12}\.mp4)"', html)
    assert src is not None, html
    media = tmp_path / "g" / src.group(1)
    # a real file of the folder (a hard link to the joined video), not a symlink
    assert not media.is_symlink() and os.path.samefile(media, joined)
    for job in jobs:
        assert f'href="#job-{job["id"]}"' in html  # each shot it joins, linked to its card
    assert f"$0 here (≈ ${shot_cost:.2f} on AWS) for its 3 shots" in html
    assert "Storyboard, 3 shots" in html and "Luma Ray 2" in html
    assert str(tmp_path) not in html  # no absolute local path on a page that is shared
    # the card comes before its shots' cards, and the page still plays once moved
    assert page.index("storyboard-") < min(page.index(f'id="job-{j["id"]}"') for j in jobs)
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "g", moved)
    assert (moved / src.group(1)).stat().st_size == joined.stat().st_size
