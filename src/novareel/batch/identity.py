"""Who a batch and its items are: the batch's identity, item hashes, client tokens.

All three are *derived* (from the file's path, from what an item sends, and from
both with the attempt number), never drawn at random, so a run killed at any moment
and started again finds the same batch, sees which items changed, and sends the same
client token for an attempt that may already have reached the service: no item is
paid for twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["batch_identity", "client_token_for", "content_hash"]


def batch_identity(path: str | Path) -> str:
    """sha256 of the batch file's absolute path: the same file resumes the same batch."""
    absolute = str(Path(path).expanduser().resolve())
    return hashlib.sha256(absolute.encode("utf-8")).hexdigest()


def _strip_paths(value: Any) -> Any:
    """The described request without local image paths (their sha256 identifies them),
    so moving a frame file does not make an item look changed."""
    if isinstance(value, dict):
        return {k: _strip_paths(v) for k, v in value.items() if k != "path"}
    if isinstance(value, list):
        return [_strip_paths(v) for v in value]
    return value


def content_hash(
    described_request: Mapping[str, Any], output_uri: str, tags: Mapping[str, str] | None
) -> str:
    """A hash of everything an item sends: request (images by sha256), output, tags.

    Computed from :meth:`VideoRequest.describe` output, which is also what the ledger
    stores, so the hash of a recorded job can be recomputed and compared with the file.
    """
    canonical = json.dumps(
        {
            "request": _strip_paths(dict(described_request)),
            "output_uri": output_uri,
            "tags": dict(sorted((tags or {}).items())),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def client_token_for(identity: str, item_key: str, attempt: int, item_hash: str) -> str:
    """The deterministic clientRequestToken of one attempt of one item.

    Deterministic so that a run killed after recording the token but before storing
    the answer sends the very same token when restarted (the service then returns the
    job it already started). 43 printable ASCII characters, far under the 256 limit.
    """
    material = f"{identity}\n{item_key}\n{attempt}\n{item_hash}".encode()
    return "nr-" + hashlib.sha256(material).hexdigest()[:40]
