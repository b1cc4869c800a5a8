"""Before a paid run: what the account says about each model, and what would fail.

Three things live here, all returning data (the CLI prints, the Python API reads):

* :func:`survey_models` — the registry (:mod:`novareel.models`) joined with the
  account's control plane: lifecycle (GetFoundationModel / ListFoundationModels win
  over the registry when they answer) and access (GetFoundationModelAvailability).
  ``novareel models`` prints it.
* :func:`run_checks` — every check that makes a first real run fail, each with its
  fix: credentials, region, lifecycle, access, Marketplace agreement, output bucket
  (exists, region, writable with the KMS key). ``novareel doctor`` prints it.
* :func:`explain_refusal` — a pure hint for a StartAsyncInvoke refused for lifecycle
  or access reasons, naming the model's state and dates, the active alternatives with
  their price, and ``novareel doctor``.

Nothing here ever picks another model: an alternative is named with its price, and the
user chooses it with ``--model-id``.

The package holds one module per responsibility: :mod:`.lifecycle` (the facts the
three share: lifecycle, access, alternatives, credential errors), :mod:`.survey`,
:mod:`.doctor` and :mod:`.refusals`. Every name is re-exported here.
"""

from novareel.preflight.doctor import Check, CheckStatus, DoctorReport, run_checks
from novareel.preflight.lifecycle import (
    ACCESS_VALUES,
    CREDENTIAL_CODES,
    ENDPOINT_LABELS,
    EndpointKind,
    LifecycleFacts,
    access_from_availability,
    alternatives_text,
    control_plane_lifecycle,
    endpoint_kind_of,
    is_credential_error,
    registry_lifecycle,
    side_by_side,
)
from novareel.preflight.lifecycle import (
    eol_lifecycle as eol_lifecycle,  # public before the split, not in __all__
)
from novareel.preflight.refusals import explain_refusal
from novareel.preflight.survey import survey_models

__all__ = [
    "ACCESS_VALUES",
    "CREDENTIAL_CODES",
    "ENDPOINT_LABELS",
    "Check",
    "CheckStatus",
    "DoctorReport",
    "EndpointKind",
    "LifecycleFacts",
    "access_from_availability",
    "alternatives_text",
    "control_plane_lifecycle",
    "endpoint_kind_of",
    "explain_refusal",
    "is_credential_error",
    "registry_lifecycle",
    "run_checks",
    "side_by_side",
    "survey_models",
]
