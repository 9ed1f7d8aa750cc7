"""Scenarios (docs/scenarios.md): scripted ticket histories on a simulated clock, with expectations.

A scenario file is YAML: ``name``, ``policy`` (a path relative to the file, or an inline
mapping), ``start``, ``steps`` and ``expect``. Each step runs one command (``do``, fields in
``with``, actor in ``as``, optional ``command_id`` and ``expected_version``) at ``at`` — an
offset from ``start`` (``+4m``, ``+1h30m``) or an absolute ISO instant — or ``advance`` to
move the clock, or ``load_policy`` (``with: {policy: FILE-or-mapping}``) to install a new
policy version mid-history.

Expectations (each may add ``as_of: T``, else it is checked at the end of the scenario):

* ``ticket: REF`` with ticket fields (``state``, ``priority``, ``affected_users``...) and
  ``sla: {NAME: {stage, due_at, elapsed_seconds, breached_at}}``;
* ``step: N`` with ``error: ClassName`` (the step must be rejected);
* ``queue:`` the queue as ``deskledger queue`` orders it: a list of refs (the whole queue, in
  order), or a mapping with optional ``group``, ``assignee``, ``tier`` (the queue's filters)
  and ``refs`` (the whole queue, in order) and/or ``entries`` (the whole queue, each entry a
  mapping of the fields to check, e.g. ``{ref: INC1, next_due_at: ...}``);
* ``report:`` figures of ``deskledger report`` by their JSON names, nested as in the report
  (``volume: {opened: 3}``, ``sla: {P1 resolution: {adherence: 0.5}}``, ``fcr_rate: 0.5``);
  a mapping checks only the keys it gives. ``from``, ``to`` (instants or offsets from
  ``start``) and ``group`` choose the report's period and group;
* ``timeline: REF`` with keys of ``deskledger timeline REF --json`` (``children``,
  ``affected_users``, ``intervals``, ``communications``, ``review``...): a mapping checks
  only the keys it gives, a list of mappings checks its length and, in each item, the keys
  given (``communications: [{audience: staff, occurred_at: ...}, ...]``), anything else
  is compared whole.

A failed expectation is listed with its expected and actual values; a key an expectation
does not know is a :class:`ScenarioError` naming it and the valid ones.
"""

from adapters.scenario.checks import REPORT_FIGURES, TIMELINE_KEYS
from adapters.scenario.files import Scenario, load_scenario, read_scenario, scenario_policy
from adapters.scenario.results import Failure, ScenarioError, ScenarioResult
from adapters.scenario.runner import run_scenario

__all__ = [
    "REPORT_FIGURES",
    "TIMELINE_KEYS",
    "Failure",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "load_scenario",
    "read_scenario",
    "run_scenario",
    "scenario_policy",
]
