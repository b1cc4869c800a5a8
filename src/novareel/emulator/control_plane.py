"""Thin HTTP handlers for the Bedrock control plane (service ``bedrock``, rest-json).

botocore's ``bedrock`` and ``bedrock-runtime`` clients both sign with service name
``bedrock``, so the server tells them apart by path. The answers depend on the
request's signing region and on each model's state (``catalog.py``).
"""

from __future__ import annotations

import re

from novareel.emulator import catalog
from novareel.emulator.backend import EmulatorBackend
from novareel.emulator.bedrock import DEFAULT_REGION, ok, signing_scope
from novareel.emulator.wsgi import Request, Response, Route


def _region(request: Request) -> str:
    return signing_scope(request)[0] or DEFAULT_REGION


def list_foundation_models(backend: EmulatorBackend, request: Request) -> Response:
    states = backend.config.model_states
    return ok(catalog.list_models(request.params(), _region(request), states))


def get_foundation_model(backend: EmulatorBackend, request: Request, model: str) -> Response:
    states = backend.config.model_states
    return ok(catalog.get_model(model, _region(request), states))


def get_foundation_model_availability(
    backend: EmulatorBackend, request: Request, model: str
) -> Response:
    states = backend.config.model_states
    return ok(catalog.availability(model, _region(request), states))


ROUTES: list[Route] = [
    ("GET", re.compile(r"/foundation-models/?"), "ListFoundationModels", list_foundation_models),
    (
        "GET",
        re.compile(r"/foundation-models/(?P<model>[^/]+)"),
        "GetFoundationModel",
        get_foundation_model,
    ),
    (
        "GET",
        re.compile(r"/foundation-model-availability/(?P<model>[^/]+)"),
        "GetFoundationModelAvailability",
        get_foundation_model_availability,
    ),
]

#: Unsigned requests with these path prefixes also go to Bedrock (not S3).
PATH_PREFIXES = ("/foundation-models", "/foundation-model-availability/")
