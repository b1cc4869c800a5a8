"""AWS-shaped errors raised by the emulator's backend and turned into HTTP by the handlers.

The backend never builds HTTP responses itself; it raises :class:`ApiError` with an AWS
error code and the handlers serialise it as ``{"message": ...}`` plus the
``x-amzn-ErrorType`` header, which is exactly what botocore needs to raise an ordinary
``ClientError`` with the right ``Error.Code``.
"""

from __future__ import annotations

#: HTTP status for each error code of the contract (section 1).
ERROR_STATUS: dict[str, int] = {
    "ValidationException": 400,
    "ServiceQuotaExceededException": 400,
    "ConflictException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ThrottlingException": 429,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}

#: Default messages used when a fault is injected without its own message.
DEFAULT_MESSAGES: dict[str, str] = {
    "ValidationException": "Injected validation error.",
    "ServiceQuotaExceededException": "You have exceeded the number of concurrent jobs.",
    "ConflictException": "Injected conflict.",
    "AccessDeniedException": "You don't have access to the model with the specified model ID.",
    "ResourceNotFoundException": "The requested resource was not found.",
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "InternalServerException": "An internal server error occurred. Retry your request.",
    "ServiceUnavailableException": "The service is temporarily unavailable.",
}


class ApiError(Exception):
    """An error the emulator returns to the caller, shaped like an AWS error."""

    def __init__(
        self, code: str, message: str, status: int | None = None, *, default_message: bool = False
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status if status is not None else ERROR_STATUS.get(code, 400)
        #: True when ``message`` is a stock Bedrock text (an injected fault without its
        #: own message): other protocols (S3, STS) then use their own stock text.
        self.default_message = default_message


def validation(message: str) -> ApiError:
    """Shortcut for the most common error."""
    return ApiError("ValidationException", message)
