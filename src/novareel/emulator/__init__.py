"""A local stand-in for Bedrock (async invoke, model catalogue), STS and S3 with real MP4 previews.

Imports nothing from ``novareel`` outside this package (it checks the client instead of
sharing its bugs) and defers heavy imports (moto, av, werkzeug) until a server starts,
so ``import novareel.emulator`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from novareel.emulator.config import DEFAULT_PORT, DEFAULT_SPEED, EmulatorConfig
from novareel.emulator.control_client import EmulatorControl

if TYPE_CHECKING:
    from novareel.emulator.server import EmulatorServer, serve

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_SPEED",
    "EmulatorConfig",
    "EmulatorControl",
    "EmulatorServer",
    "serve",
]


def __getattr__(name: str) -> Any:
    if name in ("EmulatorServer", "serve"):
        from novareel.emulator import server

        return getattr(server, name)
    raise AttributeError(f"module 'novareel.emulator' has no attribute {name!r}")
