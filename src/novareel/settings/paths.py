"""Where novareel keeps its state: one environment variable moves all of it.

``NOVAREEL_HOME`` wins; otherwise the platform's user data folder (platformdirs).
Tests point ``NOVAREEL_HOME`` at a temporary folder so they never touch a user's
ledger.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "NOVAREEL_HOME"


def novareel_home(*, create: bool = True) -> Path:
    """The folder that holds the ledger and other state (created on first use;
    ``create=False`` only names it, for a reader that must leave no trace: reading
    the default model while composing a request)."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        home = Path(explicit).expanduser()
    else:
        from platformdirs import user_data_dir

        home = Path(user_data_dir("novareel", appauthor=False))
    if create:
        home.mkdir(parents=True, exist_ok=True)
    return home
