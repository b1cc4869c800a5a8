"""What the client hands to the rest of novareel, as plain values (no boto3): a job
as the service reports it, an object of a job's folder, the exact StartAsyncInvoke
parameters, and a job's S3 folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from novareel.foundation.s3uri import OutputLocation, S3Uri, parse_s3_uri


@dataclass(frozen=True)
class InvocationStatus:
    """One async invocation as the service reports it (GetAsyncInvoke or a list item)."""

    invocation_arn: str
    status: str
    model_arn: str | None = None
    submit_time: datetime | None = None
    last_modified_time: datetime | None = None
    end_time: datetime | None = None
    output_uri: str | None = None
    client_token: str | None = None
    failure_message: str | None = None

    @property
    def model_id(self) -> str | None:
        """``amazon.nova-reel-v1:1`` from ``arn:aws:bedrock:...:foundation-model/...``."""
        if not self.model_arn:
            return None
        return self.model_arn.split("/", 1)[-1] if "/" in self.model_arn else self.model_arn

    @classmethod
    def from_response(cls, data: dict[str, Any]) -> InvocationStatus:
        output = (data.get("outputDataConfig") or {}).get("s3OutputDataConfig") or {}
        return cls(
            invocation_arn=data["invocationArn"],
            status=data["status"],
            model_arn=data.get("modelArn"),
            submit_time=data.get("submitTime"),
            last_modified_time=data.get("lastModifiedTime"),
            end_time=data.get("endTime"),
            output_uri=output.get("s3Uri"),
            client_token=data.get("clientRequestToken"),
            failure_message=data.get("failureMessage"),
        )


@dataclass(frozen=True)
class S3Object:
    """An object of a job's output folder."""

    key: str
    size: int


def start_async_invoke_params(
    *,
    model_id: str,
    model_input: dict[str, Any],
    output: OutputLocation,
    client_token: str,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The exact parameters of StartAsyncInvoke, as sent to boto3.

    One builder for the real call and for ``generate --dry-run``, so what a dry run
    shows is what a submit sends (the dry run passes the described ``modelInput``,
    images elided, and a placeholder token when none is fixed yet).
    """
    params: dict[str, Any] = {
        "modelId": model_id,
        "modelInput": model_input,
        "outputDataConfig": output.to_output_data_config(),
        "clientRequestToken": client_token,
    }
    if tags:
        params["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
    return params


def job_folder(status: InvocationStatus) -> S3Uri | None:
    """The S3 folder that holds a job's files, from the URI the service returned."""
    if not status.output_uri:
        return None
    return parse_s3_uri(status.output_uri, field="outputDataConfig.s3Uri").as_folder()
