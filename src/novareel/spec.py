"""Nova Reel request models: every rule of the contract, checked locally, no I/O.

(Work in progress: StartingFrame is final; the task models follow.)
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal

ImageFormat = Literal["png", "jpeg"]


@dataclass(frozen=True)
class StartingFrame:
    """An image that becomes the first frame of a shot.

    Either ``data`` (the file's bytes, already checked by :mod:`novareel.images`) or
    ``s3_uri`` (an image already in S3, passed by reference, never downloaded) is set.
    ``source`` is what the user named (a path or URI) and ``sha256`` the digest of the
    bytes, so the ledger can record the image without storing it.
    """

    format: ImageFormat
    data: bytes | None = None
    s3_uri: str | None = None
    bucket_owner: str | None = None
    source: str = ""
    sha256: str | None = None

    def to_model_input(self) -> dict[str, Any]:
        """The ``{"format", "source"}`` object of the Nova Reel request body."""
        if self.data is not None:
            source: dict[str, Any] = {"bytes": base64.b64encode(self.data).decode("ascii")}
        else:
            location: dict[str, Any] = {"uri": self.s3_uri}
            if self.bucket_owner:
                location["bucketOwner"] = self.bucket_owner
            source = {"s3Location": location}
        return {"format": self.format, "source": source}
