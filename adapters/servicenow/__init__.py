"""Import a ServiceNow incident audit export: rows (:mod:`.rows`), planning (:mod:`.planner`)
and the import itself (:mod:`.importer`)."""

from adapters.servicenow.importer import (
    IMPORT_ACTOR,
    ClampedRow,
    ImportSummary,
    RowFailure,
    import_servicenow,
    load_policy_file,
)
from adapters.servicenow.rows import (
    ServiceNowFileError,
    parse_bool,
    parse_datetime,
    parse_level,
)

__all__ = [
    "IMPORT_ACTOR",
    "ClampedRow",
    "ImportSummary",
    "RowFailure",
    "ServiceNowFileError",
    "import_servicenow",
    "load_policy_file",
    "parse_bool",
    "parse_datetime",
    "parse_level",
]
