"""Benchmark 6: what ``pip install '.[emulator]'`` costs a new user, before and after.

Run: ``python bench/bench_install.py [--before REF] [--runs N] [--cache warm|cold]``

Two source trees are installed, each into fresh throwaway virtualenvs under a
temporary folder (nothing outside it is touched):

* **before**: the repository at ``--before`` (a git ref, exported with ``git archive``;
  default: the commit before the emulator extra was slimmed);
* **after**: this checkout as it is on disk (uncommitted edits included), copied the
  way ``.ci/readme-setup`` copies it (no ``.venv``, no ``.git``).

For each run and tree, ``python -m venv`` makes a new virtualenv and
``pip install '.[emulator]'`` runs in the tree's folder, exactly the README's first
command. Runs are interleaved (before, after, before, after…) so that load on the
machine hits both alike. Reported per tree: the wall time of the ``pip install``
(median, minimum and each run: on a shared machine the minimum is the least
disturbed run), the virtualenv's size (``du -sm``, the whole venv, pip and
setuptools included) and the number of installed distributions (``pip list``, pip and
setuptools not counted), and the distributions only one side has. ``--baseline`` adds a
row for ``pip install .`` of this checkout (no extra), so the extra's own share shows.

Pip's cache: with ``--cache warm`` (the default) a private cache folder is filled by one
unmeasured install of each tree first, so every measured run downloads nothing and
both sides are timed with the same, warm cache (what a second install on the same
machine sees). ``--cache cold`` uses ``--no-cache-dir``: every run downloads every
wheel from PyPI, so the times then include the network.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, header, loadavg, median, table

#: The last commit whose emulator extra was ``moto[s3,server]``.
DEFAULT_BEFORE = "d6ebe67"
NOT_COUNTED = {"pip", "setuptools"}


def export_ref(ref: str, dest: Path) -> None:
    """The tree of ``ref`` into ``dest`` (``git archive``: tracked files only)."""
    dest.mkdir(parents=True)
    archive = dest.parent / f"{dest.name}.tar"
    subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), ref], check=True
    )
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()


def copy_checkout(dest: Path) -> None:
    """This checkout as a newcomer's clone would be (as ``.ci/readme-setup`` does)."""
    ignore = shutil.ignore_patterns(".venv", ".git", "*.egg-info", "__pycache__", "build")
    shutil.copytree(ROOT, dest, ignore=ignore)


def install(
    tree: Path, venv: Path, pip_cache: list[str], target: str = ".[emulator]"
) -> tuple[float, int, list[str]]:
    """Fresh venv, timed ``pip install <target>``: (seconds, MB, distributions)."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*pip, "install", "-q", *pip_cache, target],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:  # pip's warnings are shown only when the install fails
        sys.exit(f"pip install failed in {tree}:\n{proc.stderr}")
    du = subprocess.run(["du", "-sm", str(venv)], check=True, capture_output=True, text=True)
    listed = subprocess.run(
        [*pip, "list", "--format=json"], env=env, check=True, capture_output=True, text=True
    )
    names = sorted(
        d["name"].lower() for d in json.loads(listed.stdout) if d["name"] not in NOT_COUNTED
    )
    return seconds, int(du.stdout.split()[0]), names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="git ref of the 'before' tree")
    parser.add_argument("--runs", type=int, default=2, help="measured installs per tree")
    parser.add_argument("--cache", choices=("warm", "cold"), default="warm")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also time `pip install .` (no extra): what the emulator extra itself adds",
    )
    args = parser.parse_args()
    print(header("6. Install"), flush=True)  # before the work: its load average is the start's

    with tempfile.TemporaryDirectory(prefix="novareel-bench-install-") as tmp:
        work = Path(tmp)
        trees = {"before": work / "before", "after": work / "after"}
        #: what each row installs: the README's command, and (baseline) no extra at all
        targets = {"before": ".[emulator]", "after": ".[emulator]"}
        if args.baseline:
            trees["no extra"] = trees["after"]
            targets["no extra"] = "."
        export_ref(args.before, trees["before"])
        copy_checkout(trees["after"])
        if args.cache == "warm":
            pip_cache = ["--cache-dir", str(work / "pip-cache")]
            for name, tree in trees.items():
                print(f"warming the pip cache with {name}…", file=sys.stderr)
                install(tree, work / f"warm-{name}", pip_cache, targets[name])
                shutil.rmtree(work / f"warm-{name}")
        else:
            pip_cache = ["--no-cache-dir"]

        times: dict[str, list[float]] = {name: [] for name in trees}
        sizes: dict[str, list[int]] = {name: [] for name in trees}
        dists: dict[str, list[str]] = {}
        for run in range(args.runs):
            for name, tree in trees.items():
                venv = work / f"venv-{name}-{run}"
                seconds, mb, names = install(tree, venv, pip_cache, targets[name])
                print(f"{name} run {run + 1}: {seconds:.1f} s, {mb} MB", file=sys.stderr)
                times[name].append(seconds)
                sizes[name].append(mb)
                dists[name] = names
                shutil.rmtree(venv)

    cache_text = (
        "warm private pip cache (filled by one unmeasured install of each tree)"
        if args.cache == "warm"
        else "no pip cache (every wheel downloaded from PyPI on each run)"
    )
    print(
        f"- `pip install '.[emulator]'` in a fresh venv, {args.runs} interleaved runs per "
        f"tree; {cache_text}; before = `{args.before}`, after = this checkout\n"
    )

    def row(name: str) -> tuple[object, ...]:
        return (
            name if name != "no extra" else "after, `pip install .` (no extra)",
            f"{median(times[name]):.1f} s",
            f"{min(times[name]):.1f} s",
            ", ".join(f"{t:.1f}" for t in times[name]),
            f"{median(sizes[name]):.0f} MB",
            len(dists[name]),
        )

    def less(a: float, b: float) -> str:
        return f"{(1 - b / a) * 100:.0f} % less" if a else "n/a"

    rows = [row("before"), row("after")]
    rows.append(
        (
            "change",
            less(median(times["before"]), median(times["after"])),
            less(min(times["before"]), min(times["after"])),
            "",
            less(median(sizes["before"]), median(sizes["after"])),
            less(len(dists["before"]), len(dists["after"])),
        )
    )
    if "no extra" in trees:
        rows.append(row("no extra"))
    headers = ["tree", "install: median", "min", "runs (s)", "venv size", "distributions"]
    print(table(headers, rows))
    print(f"\n- load average at the end: {loadavg()}")
    if "no extra" in trees:
        base = median(sizes["no extra"])
        before, after = median(sizes["before"]) - base, median(sizes["after"]) - base
        print(
            f"- what the emulator extra itself adds to the venv: {before:.0f} MB before, "
            f"{after:.0f} MB after ({less(before, after)})"
        )
    gone = sorted(set(dists["before"]) - set(dists["after"]))
    added = sorted(set(dists["after"]) - set(dists["before"]))
    print(f"\n- only before ({len(gone)}): {', '.join(gone) or '-'}")
    print(f"- only after ({len(added)}): {', '.join(added) or '-'}")


if __name__ == "__main__":
    main()
