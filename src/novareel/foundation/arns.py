"""What an async invocation's ARN says
(``arn:aws:bedrock:<region>:<account>:async-invoke/<id>``), read in one place: the
client asks the job's own region, the ledger and every result show its short id, and
the gallery presigns its video in that region.
"""

from __future__ import annotations


def arn_region(arn: str | None) -> str | None:
    """The region an ARN names, or None: a job lives in the region it was submitted to."""
    parts = (arn or "").split(":")
    return parts[3] if len(parts) > 5 and parts[3] else None


def invocation_id_from_arn(arn: str | None) -> str | None:
    """The short id at the end of the ARN (``.../async-invoke/<id>``), or None."""
    if not arn or "/" not in arn:
        return None
    return arn.rsplit("/", 1)[1] or None


__all__ = ["arn_region", "invocation_id_from_arn"]
