"""A stand-in for AwsClient's control-plane and S3 methods (no network)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from novareel.foundation.errors import (
    AccessDeniedError,
    AwsError,
    NotFoundError,
    ServiceValidationError,
)

EOL_TEXT = "This model version has reached the end of its life."


def lifecycle(status: str = "ACTIVE", **dates: str) -> dict[str, Any]:
    block: dict[str, Any] = {"status": status}
    for key, value in dates.items():
        block[key] = datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return block


def availability(
    *,
    auth: str = "AUTHORIZED",
    agreement: str = "AVAILABLE",
    entitlement: str = "AVAILABLE",
    region: str = "AVAILABLE",
) -> dict[str, Any]:
    return {
        "agreementAvailability": {"status": agreement},
        "authorizationStatus": auth,
        "entitlementAvailability": entitlement,
        "regionAvailability": region,
    }


class FakeClient:
    """Answers like the service; ``errors[operation]`` raises instead."""

    def __init__(self, region: str = "us-east-1", region_source: str = "argument") -> None:
        self.region = region
        self.region_source = region_source
        self.calls: list[str] = []
        self.errors: dict[str, AwsError] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.availability: dict[str, dict[str, Any]] = {}
        self.buckets: dict[str, str] = {}
        self.read_only: set[str] = set()
        self.identity = {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/dev"}

    def _enter(self, operation: str) -> None:
        self.calls.append(operation)
        if operation in self.errors:
            raise self.errors[operation]

    def get_caller_identity(self) -> dict[str, Any]:
        self._enter("GetCallerIdentity")
        return dict(self.identity)

    def list_foundation_models(self, provider: str | None = None) -> list[dict[str, Any]]:
        self._enter("ListFoundationModels")
        return [dict(d, modelId=m) for m, d in self.models.items() if d.get("listed", True)]

    def get_foundation_model(self, model_id: str) -> dict[str, Any]:
        self._enter("GetFoundationModel")
        if model_id not in self.models:
            raise NotFoundError(
                f"GetFoundationModel failed: ResourceNotFoundException: {EOL_TEXT}",
                code="ResourceNotFoundException",
                operation="GetFoundationModel",
            )
        return dict(self.models[model_id], modelId=model_id)

    def get_foundation_model_availability(self, model_id: str) -> dict[str, Any]:
        self._enter("GetFoundationModelAvailability")
        return self.availability.get(model_id, availability())

    def bucket_region(self, bucket: str) -> str | None:
        self._enter("HeadBucket")
        if bucket not in self.buckets:
            raise NotFoundError("HeadBucket failed: 404: Not Found", code="404")
        return self.buckets[bucket]

    def probe_write(self, bucket: str, key: str, kms_key_id: str | None = None) -> None:
        self._enter("PutObject")
        if bucket in self.read_only:
            raise AccessDeniedError(
                "PutObject failed: AccessDenied: Access Denied",
                code="AccessDenied",
                operation="PutObject",
                status_code=403,
            )


def validation(message: str) -> ServiceValidationError:
    return ServiceValidationError(
        f"GetFoundationModel failed: ValidationException: {message}", code="ValidationException"
    )
