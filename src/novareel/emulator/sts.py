"""STS ``GetCallerIdentity`` (query protocol, XML) for pre-flight credential checks.

botocore's ``sts`` client sends ``POST /`` with the form body
``Action=GetCallerIdentity&Version=2011-06-15``, signed for service ``sts``. The
emulator answers for one fixed IAM user of its account; any other action is an
``InvalidAction`` error in the query protocol's XML.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from novareel.emulator.config import ACCOUNT_ID
from novareel.emulator.errors import ApiError
from novareel.emulator.wsgi import Request, Response

USER_NAME = "novareel-local"
USER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:user/{USER_NAME}"
USER_ID = "AIDANOVAREELLOCAL0001"  # "AIDA" + 17 characters, like a real IAM user id
_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"

#: Bedrock-style codes of injected faults -> (STS's own code, HTTP status).
_STS_CODES = {
    "ThrottlingException": ("Throttling", 400),
    "AccessDeniedException": ("AccessDenied", 403),
    "InternalServerException": ("InternalFailure", 500),
    "ServiceUnavailableException": ("ServiceUnavailable", 503),
}


def query_params(request: Request) -> dict[str, str]:
    """Query-protocol parameters: the URL's query plus a form-encoded body."""
    params = request.params()
    if "x-www-form-urlencoded" in request.headers.get("content-type", ""):
        params.update(parse_qsl(request.read_body().decode("utf-8", "replace")))
    return params


def action(request: Request) -> str:
    """The query-protocol operation name (``""`` when absent)."""
    return query_params(request).get("Action", "")


def query_error(code: str, message: str, status: int, sender: bool = True) -> Response:
    """An ``<ErrorResponse>`` document, as query-protocol services (STS, IAM) send."""
    body = (
        f'<ErrorResponse xmlns="{_NAMESPACE}">'
        f"<Error><Type>{'Sender' if sender else 'Receiver'}</Type>"
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return Response(status, body, [("Content-Type", "text/xml")])


def sts_error(error: ApiError) -> Response:
    """An injected fault (or any ApiError) as STS would say it."""
    code, status = _STS_CODES.get(error.code, (error.code, error.status))
    return query_error(code, error.message, status, sender=status < 500)


def get_caller_identity() -> Response:
    body = (
        f'<GetCallerIdentityResponse xmlns="{_NAMESPACE}">'
        "<GetCallerIdentityResult>"
        f"<Arn>{USER_ARN}</Arn><UserId>{USER_ID}</UserId><Account>{ACCOUNT_ID}</Account>"
        "</GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    ).encode()
    return Response(200, body, [("Content-Type", "text/xml")])


def unknown_action(name: str) -> Response:
    return query_error(
        "InvalidAction",
        f"The action {name or '(none)'} is not valid for this web service: "
        "the novareel emulator only emulates STS GetCallerIdentity.",
        400,
    )
