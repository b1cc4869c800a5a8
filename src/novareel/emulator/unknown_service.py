"""An honest error for a request signed for a service the emulator does not speak.

Without this, such a request would reach moto's S3 and get S3's 200
``ListAllMyBuckets`` answer, which a client might even parse as success. The error is
shaped for the protocol the request uses, so botocore raises an ordinary
``ClientError`` with a readable code and message:

* ``X-Amz-Target`` header (JSON protocols: SQS, DynamoDB, ...) ->
  ``{"__type": "UnknownOperationException", "message"}``;
* ``Action=`` in a form body or query (query protocol: IAM, SNS, ...; EC2) ->
  ``InvalidAction`` in the XML error document of that protocol;
* rest-xml services (Route 53, CloudFront) -> ``UnknownOperationException`` as XML;
* anything else (rest-json) -> ``{"message"}`` with ``x-amzn-ErrorType:
  UnknownOperationException``.

All are HTTP 400.
"""

from __future__ import annotations

import json
import uuid
from xml.sax.saxutils import escape

from novareel.emulator.sts import action, query_error
from novareel.emulator.wsgi import Request, Response

#: Services the emulator speaks (by SigV4 signing name).
SPOKEN = ("s3", "bedrock", "sts")
_REST_XML = ("route53", "cloudfront")


def message(service: str) -> str:
    return (
        f"the novareel emulator does not emulate service {service!r} "
        f"(it speaks {', '.join(SPOKEN)})"
    )


def _xml_error(document: str) -> Response:
    """A 400 with an XML error document (the EC2 and REST-XML services' error shape)."""
    return Response(400, document.encode(), [("Content-Type", "text/xml")])


def unknown_service_response(service: str, request: Request) -> Response:
    text = message(service)
    request_id = str(uuid.uuid4())
    if "x-amz-target" in request.headers:
        body = json.dumps({"__type": "UnknownOperationException", "message": text}).encode()
        return Response(
            400,
            body,
            [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-ErrorType", "UnknownOperationException"),
                ("x-amzn-RequestId", request_id),
            ],
        )
    if service == "ec2" and action(request):
        return _xml_error(
            "<Response><Errors><Error><Code>InvalidAction</Code>"
            f"<Message>{escape(text)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
    if action(request):
        return query_error("InvalidAction", text, 400)
    if service in _REST_XML:
        return _xml_error(
            "<ErrorResponse><Error><Type>Sender</Type><Code>UnknownOperationException</Code>"
            f"<Message>{escape(text)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return Response.json(
        {"message": text},
        status=400,
        headers=[
            ("x-amzn-ErrorType", "UnknownOperationException"),
            ("x-amzn-RequestId", request_id),
        ],
    )
