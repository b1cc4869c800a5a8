"""Shared helpers of the benchmark scripts: header line, Markdown tables, emulator wiring.

Every script prints a header (machine, load, date, exact command) and Markdown tables,
so its output can be pasted into ``docs/benchmarks.md`` as it is.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def header(title: str) -> str:
    """The line that says what ran where and when."""
    command = " ".join(shlex.quote(a) for a in [os.path.relpath(PYTHON, ROOT), *sys.argv])
    return (
        f"## {title}\n\n"
        f"- command: `{command}`\n"
        f"- machine: {platform.platform()}, {cpu_model()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}\n"
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"load average at start: {loadavg()}\n"
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (cells are str()-ed)."""
    cells = [[str(c) for c in row] for row in rows]
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(out)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def boto_kwargs(url: str) -> dict[str, Any]:
    return {
        "endpoint_url": url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


class EmulatorProcess:
    """An emulator in a subprocess (so its memory and CPU are its own), ready when built.

    ``launcher`` is how it is started: ``python -m novareel.emulator`` by default, or
    ``("-m", "novareel", "emulator")`` for the CLI; ``--port`` and ``--speed`` follow,
    then ``extra``. One class for every bench script: starting, the control endpoint,
    the process's own counters and stopping are written once.
    """

    def __init__(
        self,
        speed: float = 25.0,
        extra: Sequence[str] = (),
        *,
        launcher: Sequence[str] = ("-m", "novareel.emulator", "--host", "127.0.0.1"),
        start_timeout: float = 30.0,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [PYTHON, *launcher, "--port", str(self.port), "--speed", str(speed), *extra]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
        )
        self.pid = self.proc.pid
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            try:
                self.control("health")
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("the emulator subprocess exited") from None
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the emulator did not start within {start_timeout:.0f} s")

    def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """GET (or POST ``body`` to) ``/_emulator/<path>``; the JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/_emulator/{path}", data=data)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def proc_status(self) -> dict[str, str]:
        """The emulator's ``/proc/<pid>/status`` fields (VmHWM, VmRSS, ...)."""
        fields = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        return fields

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
