"""Property: whatever order poll answers arrive in, a job's status never un-finishes."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from novareel.ledger import TERMINAL_STATUSES, Ledger

SERVICE_STATUSES = ["InProgress", "Completed", "Failed"]


@settings(max_examples=40, deadline=None)
@given(answers=st.lists(st.sampled_from(SERVICE_STATUSES), max_size=8))
def test_history_moves_forward_only(answers: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp, Ledger(Path(tmp) / "ledger.db") as ledger:
        job = ledger.add_intent(
            client_token="tok",
            model_id="amazon.nova-reel-v1:1",
            task_type="TEXT_VIDEO",
            request={},
            output_uri="s3://b/",
            duration_seconds=6,
            seed=1,
            estimated_cost_usd=0.48,
        )
        for status in answers:
            ledger.record_status(job.id, status)
        history = [e.status for e in ledger.history(job.id)]
        final = ledger.get(job.id).status

    first_terminal = next((s for s in answers if s in TERMINAL_STATUSES), None)
    assert history[0] == "Submitting"
    assert history[-1] == final
    # No repeated events, and nothing after a finish.
    assert all(a != b for a, b in itertools.pairwise(history))
    assert sum(s in TERMINAL_STATUSES for s in history) <= 1
    if first_terminal is not None:
        assert final == first_terminal
    elif answers:
        assert final == "InProgress"
    else:
        assert final == "Submitting"
