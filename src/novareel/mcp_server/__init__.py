"""``novareel mcp``: the Model Context Protocol server that lets an AI agent make videos.

It sits beside the command line, above :mod:`novareel.jobs`, and keeps the CLI's
promises for a caller that is a program rather than a person:

* every tool checks its input with the same library builders as ``novareel generate``
  (one set of rules, reported as ``problems`` with field names);
* jobs are written to the ledger by :class:`~novareel.jobs.VideoGenerator`, so a restarted
  server (or the CLI) finds them by ledger id or invocation id;
* file paths an agent passes are confined to one folder, the root (:mod:`.confine`);
* spending is capped per call and per server session (:mod:`.caps`), judged on the
  estimated AWS price whatever the endpoint, so a test on the emulator refuses what a
  real run would refuse.

The parts that need no MCP SDK (:mod:`.confine`, :mod:`.caps`, :mod:`.tools`) import
without it; only :mod:`.server` imports the optional ``mcp`` package
(``pip install 'novareel[mcp]'``).
"""

from __future__ import annotations

from novareel.mcp_server.caps import SpendGuard
from novareel.mcp_server.confine import Root

__all__ = ["Root", "SpendGuard"]
