"""``novareel qa``: a technical check of what a video shows, offline, after every download.

Signal checks on the decoded luma (PyAV + numpy): near-black segments, frozen segments
(no motion for >= 0.5 s), flashes and flicker, a loop's seam (first vs last frame),
adherence to the start/end images (SSIM), and size, frame rate and length against the
request. Each :class:`Finding` has its kind, time span, measure and threshold; the
thresholds and why are in ``checks.py`` and docs/qa.md.

A library layer beside ``video``: it imports only ``errors``; what a job asked for
(:class:`QaExpectations`) is built by ``jobs`` from the ledger's recorded request.
"""

from novareel.media.qa.checks import (
    Finding,
    QaExpectations,
    QaReport,
    check_file,
    check_signals,
    checks_for,
)

__all__ = [
    "Finding",
    "QaExpectations",
    "QaReport",
    "check_file",
    "check_signals",
    "checks_for",
]
