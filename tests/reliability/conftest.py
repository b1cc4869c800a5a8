"""Fixtures of the reliability and security suite: the e2e ``reel`` on the session emulator."""

from __future__ import annotations

from tests.e2e.conftest import BUCKET, OUTPUT, frame_png, make_client, reel

__all__ = ["BUCKET", "OUTPUT", "frame_png", "make_client", "reel"]
