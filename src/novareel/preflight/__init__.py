"""Before a paid run: what the account says about each model, and what would fail."""

from novareel.preflight.doctor import *  # noqa: F403
from novareel.preflight.doctor import __all__  # noqa: F401
