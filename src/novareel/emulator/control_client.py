"""``EmulatorControl``: a tiny urllib client for the ``/_emulator/`` control endpoint.

No boto3, no third-party HTTP library: tests and the CLI can steer an emulator running
in another process with nothing but the standard library.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any


class EmulatorControlError(RuntimeError):
    """The control endpoint answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class EmulatorControl:
    """Client for a running emulator's control endpoint (``url`` is the server root)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}/_emulator/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("message", str(exc))
            except ValueError:
                message = str(exc)
            finally:
                exc.close()
            raise EmulatorControlError(exc.code, message) from None

    def health(self) -> dict[str, Any]:
        """``{"service": "novareel-emulator", ...}``; raises if nothing is listening."""
        result: dict[str, Any] = self._call("GET", "health")
        return result

    def is_running(self) -> bool:
        """True if an emulator answers at ``url`` (used to detect a running emulator)."""
        try:
            return self.health().get("service") == "novareel-emulator"
        except (OSError, ValueError, EmulatorControlError):
            return False

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def config(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "config")
        return result

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Partial config update, e.g. ``configure(speed=100, submit_rate=0)``."""
        result: dict[str, Any] = self._call("POST", "config", changes)
        return result

    def set_model_state(self, model_id: str, state: str) -> dict[str, Any]:
        """Put one model in a lifecycle/access state (``active``, ``legacy``,
        ``legacy-unused``, ``eol``, ``no-access``, ``no-agreement``); returns the config.
        """
        return self.configure(model_states={model_id: state})

    def set_read_only_buckets(self, buckets: Iterable[str]) -> dict[str, Any]:
        """Make exactly these buckets refuse client writes/deletes (``[]`` to clear)."""
        return self.configure(read_only_buckets=list(buckets))

    def _add_fault(self, body: dict[str, Any], **optional: object) -> dict[str, Any]:
        """POST one fault: ``body``, plus each optional field that was given."""
        body.update({key: value for key, value in optional.items() if value is not None})
        result: dict[str, Any] = self._call("POST", "faults", body)
        return result

    def fail_calls(
        self,
        operation: str = "*",
        code: str = "ThrottlingException",
        count: int | None = 1,
        probability: float = 1.0,
        seed: int = 0,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Make the next ``count`` calls of ``operation`` fail with ``code``."""
        return self._add_fault(
            {
                "kind": "api",
                "operation": operation,
                "code": code,
                "count": count,
                "probability": probability,
                "seed": seed,
            },
            message=message,
        )

    def fail_jobs(
        self,
        failure_type: str = "INTERNAL_SERVER_EXCEPTION",
        shot: int = 1,
        count: int | None = 1,
        marker: str | None = None,
    ) -> dict[str, Any]:
        """Make the next ``count`` jobs (or those whose prompt has ``marker``) fail."""
        return self._add_fault(
            {"kind": "job", "failureType": failure_type, "shot": shot, "count": count},
            marker=marker,
        )

    def cut_downloads(self, count: int = 1) -> dict[str, Any]:
        """Cut the next ``count`` S3 GetObject responses halfway through the body."""
        return self._add_fault({"kind": "download", "count": count})

    def spoil_videos(
        self,
        defect: str,
        at: float,
        length: float,
        marker: str | None = None,
        count: int | None = None,
    ) -> dict[str, Any]:
        """Render the videos of jobs whose prompt has ``marker`` (or the next ``count``
        jobs) with a ``black``, ``frozen`` or ``flash`` defect over [at, at + length) s."""
        body: dict[str, Any] = {"kind": "defect", "defect": defect, "at": at, "length": length}
        if marker is not None:
            body["marker"] = marker
        body["count"] = count if marker is not None or count is not None else 1
        result: dict[str, Any] = self._call("POST", "faults", body)
        return result

    def faults(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "faults")
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def jobs(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "jobs")["jobs"]
        return result

    def job(self, invocation: str) -> dict[str, Any]:
        """One job (by id or ARN) as Get describes it, plus ``modelId``, ``region``,
        ``taskType`` and the ``modelInput`` the emulator received."""
        job_id = invocation.rsplit("/", 1)[-1]
        result: dict[str, Any] = self._call("GET", f"jobs/{job_id}")
        return result

    def finish(self, invocation: str) -> dict[str, Any]:
        """Finish a job (by id or ARN) as soon as its render is done."""
        job_id = invocation.rsplit("/", 1)[-1]
        result: dict[str, Any] = self._call("POST", f"jobs/{job_id}/finish", {})
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "stats")
        return result

    def invocations(self) -> list[dict[str, Any]]:
        """Every InvokeModel request the emulator received, oldest first: ``modelId``,
        ``region``, ``body`` (video bytes replaced by ``{"base64Length": n}``) and
        ``error`` (the error code it answered, or None)."""
        result: list[dict[str, Any]] = self._call("GET", "invocations")["invocations"]
        return result
