"""Import a ServiceNow incident audit export: rows (:mod:`.rows`), planning (:mod:`.planner`),
the import itself (:mod:`.importer`); imported tickets next to their source: the source's
updates (:mod:`.updates`), one ticket compared (:mod:`.compare`) and a whole export reconciled
with a store (:mod:`.reconcile`)."""

from adapters.servicenow.compare import FIGURES, Cause, Comparison, Difference, compare_ticket
from adapters.servicenow.importer import (
    IMPORT_ACTOR,
    ClampedRow,
    ImportSummary,
    RowFailure,
    import_servicenow,
    load_policy_file,
)
from adapters.servicenow.reconcile import MissingTicketsError, Reconciliation, reconcile_servicenow
from adapters.servicenow.rows import (
    ServiceNowFileError,
    parse_bool,
    parse_datetime,
    parse_level,
)

__all__ = [
    "FIGURES",
    "IMPORT_ACTOR",
    "Cause",
    "ClampedRow",
    "Comparison",
    "Difference",
    "ImportSummary",
    "MissingTicketsError",
    "Reconciliation",
    "RowFailure",
    "ServiceNowFileError",
    "compare_ticket",
    "import_servicenow",
    "load_policy_file",
    "parse_bool",
    "parse_datetime",
    "parse_level",
    "reconcile_servicenow",
]
