"""The control endpoint under ``/_emulator/``: JSON over HTTP for tests and humans.

Routes (all JSON; errors are ``{"message": ...}`` with status 400 or 404):

* ``GET  /_emulator/health``  -> ``{"service": "novareel-emulator", ...}``; this reply, like
  every reply of the emulator, carries the header ``x-novareel-emulator: <version>``
* ``POST /_emulator/reset``   clear jobs, buckets, faults, counters; restore defaults
* ``GET  /_emulator/config``  / ``POST /_emulator/config`` (partial update)
* ``GET  /_emulator/faults``  / ``POST /_emulator/faults`` / ``DELETE /_emulator/faults``
* ``GET  /_emulator/jobs``    every job (all regions) as GetAsyncInvoke would describe it
* ``GET  /_emulator/jobs/{id}``  one job as Get describes it, plus ``modelId``, ``region``,
  ``taskType``, the ``modelInput`` exactly as the emulator received it and the
  ``injectedDefects`` its video was rendered with (``[{"defect", "at", "length"}]``)
* ``POST /_emulator/jobs/{id}/finish``  complete as soon as the render is done
* ``GET  /_emulator/invocations``  every InvokeModel request received (Nova 2 Lite),
  its body as sent with video bytes replaced by ``{"base64Length": n}``
* ``GET  /_emulator/stats``   request counters, accepted submissions, replays, rejections,
  the most jobs in flight per model and region
"""

from __future__ import annotations

import re
from typing import Any

from novareel.emulator.backend import EmulatorBackend
from novareel.emulator.errors import ApiError
from novareel.emulator.faults import ApiFault, DefectFault, JobFault
from novareel.emulator.wsgi import Request, Response, Route

SERVICE_NAME = "novareel-emulator"
#: At most this many bucket names in the health document (which stays small).
HEALTH_BUCKETS = 100
VERSION = "1"
#: The response header on every reply of the emulator (value: :data:`VERSION`): the
#: documented identity a client asks for (docs/emulator.md) before it prices a job
#: as free. Clients must not guess "emulator" from a loopback address.
IDENTITY_HEADER = "x-novareel-emulator"


def health(backend: EmulatorBackend, request: Request) -> Response:
    return Response.json(
        {
            "service": SERVICE_NAME,
            "version": VERSION,
            "speed": backend.config.speed,
            "jobs": len(backend.jobs),
            # the first HEALTH_BUCKETS names (sorted): a client that finds its bucket
            # here need not ask S3 for it (nor build an S3 client to ask)
            "buckets": backend.storage.bucket_names()[:HEALTH_BUCKETS],
        }
    )


def reset(backend: EmulatorBackend, request: Request) -> Response:
    backend.reset()
    return Response.json({"reset": True})


def get_config(backend: EmulatorBackend, request: Request) -> Response:
    return Response.json(backend.config.to_dict())


def set_config(backend: EmulatorBackend, request: Request) -> Response:
    changes = _body(request)
    try:
        config = backend.update_config(changes)
    except ValueError as exc:
        raise ApiError("ValidationException", str(exc)) from exc
    return Response.json(config.to_dict())


def get_faults(backend: EmulatorBackend, request: Request) -> Response:
    return Response.json(backend.faults.describe())


def clear_faults(backend: EmulatorBackend, request: Request) -> Response:
    backend.faults.reset()
    return Response.json(backend.faults.describe())


def add_fault(backend: EmulatorBackend, request: Request) -> Response:
    """Body ``{"kind": "api"|"job"|"download"|"defect", ...}``; see ``docs/emulator.md``."""
    body = _body(request)
    kind = body.get("kind", "api")
    try:
        if kind == "api":
            backend.faults.add_api_fault(
                ApiFault(
                    operation=str(body.get("operation", "*")),
                    code=str(body.get("code", "ThrottlingException")),
                    count=_opt_int(body, "count", 1),
                    probability=float(body.get("probability", 1.0)),
                    message=body.get("message"),
                    seed=int(body.get("seed", 0)),
                )
            )
        elif kind == "job":
            marker = body.get("marker")
            backend.faults.add_job_fault(
                JobFault(
                    failure_type=str(body.get("failureType", "INTERNAL_SERVER_EXCEPTION")),
                    shot=int(body.get("shot", 1)),
                    count=_opt_int(body, "count", None if marker else 1),
                    marker=marker,
                    message=body.get("message"),
                )
            )
        elif kind == "defect":
            marker = body.get("marker")
            backend.faults.add_defect_fault(
                DefectFault(
                    defect=str(body.get("defect")),
                    at=_seconds(body, "at"),
                    length=_seconds(body, "length"),
                    marker=None if marker is None else str(marker),
                    count=_opt_int(body, "count", None if marker else 1),
                )
            )
        elif kind == "download":
            backend.faults.add_download_cuts(int(body.get("count", 1)))
        else:
            raise ValueError(f"unknown fault kind {kind!r}")
    except (TypeError, ValueError) as exc:
        raise ApiError("ValidationException", str(exc)) from exc
    return Response.json(backend.faults.describe())


def list_jobs(backend: EmulatorBackend, request: Request) -> Response:
    return Response.json({"jobs": backend.jobs_summary()})


def get_job(backend: EmulatorBackend, request: Request, job_id: str) -> Response:
    return Response.json(backend.job_detail(job_id))


def finish_job(backend: EmulatorBackend, request: Request, job_id: str) -> Response:
    return Response.json(backend.finish(job_id))


def invocations(backend: EmulatorBackend, request: Request) -> Response:
    """Every InvokeModel request received, in order (video bytes replaced by their length)."""
    return Response.json({"invocations": list(backend.understanding.received)})


def stats(backend: EmulatorBackend, request: Request) -> Response:
    return Response.json(backend.stats.snapshot())


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as exc:
        raise ApiError("ValidationException", "body must be JSON") from exc
    if not isinstance(body, dict):
        raise ApiError("ValidationException", "body must be a JSON object")
    return body


def _seconds(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} {value!r} must be a number of seconds")
    return float(value)


def _opt_int(body: dict[str, Any], key: str, default: int | None) -> int | None:
    value = body.get(key, default)
    return None if value is None else int(value)


ROUTES: list[Route] = [
    ("GET", re.compile(r"/_emulator/health"), "health", health),
    ("POST", re.compile(r"/_emulator/reset"), "reset", reset),
    ("GET", re.compile(r"/_emulator/config"), "config", get_config),
    ("POST", re.compile(r"/_emulator/config"), "config", set_config),
    ("GET", re.compile(r"/_emulator/faults"), "faults", get_faults),
    ("POST", re.compile(r"/_emulator/faults"), "faults", add_fault),
    ("DELETE", re.compile(r"/_emulator/faults"), "faults", clear_faults),
    ("GET", re.compile(r"/_emulator/jobs"), "jobs", list_jobs),
    ("GET", re.compile(r"/_emulator/jobs/(?P<job_id>[a-z0-9]+)"), "job", get_job),
    ("POST", re.compile(r"/_emulator/jobs/(?P<job_id>[a-z0-9]+)/finish"), "finish", finish_job),
    ("GET", re.compile(r"/_emulator/stats"), "stats", stats),
    ("GET", re.compile(r"/_emulator/invocations"), "invocations", invocations),
]
