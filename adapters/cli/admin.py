"""Administration: policies, scenarios, the demo and the relay."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from adapters.cli import render
from adapters.cli.args import read_yaml
from adapters.cli.errors import EXIT_CHECK_FAILED, EXIT_OK
from adapters.settings import Settings

POLICY_ADMIN = "policy-admin"


def init(args: argparse.Namespace, settings: Settings) -> int:
    """Create the store and its views now (see the parser's description)."""
    from adapters.bootstrap import open_desk  # noqa: PLC0415
    from adapters.stores import redacted  # noqa: PLC0415
    from projections.views import open_views  # noqa: PLC0415

    desk = open_desk(settings)
    try:
        open_views(desk).ensure()
    finally:
        desk.close()
    store = redacted(settings.store)
    if args.json:
        render.emit_json({"store": store, "ready": True})
    else:
        render.line(f"store {store}: ready")
    return EXIT_OK


def policy(args: argparse.Namespace, settings: Settings) -> int:
    from engine.policy import parse_policy  # noqa: PLC0415

    raw = read_yaml(args.file, "policy")
    if args.action == "check":
        checked = parse_policy(raw)
        if args.json:
            render.emit_json({"ok": True, "digest": checked.digest, "policy": checked.document})
        else:
            render.line(
                f"policy {args.file}: OK ({len(checked.slas)} SLAs, "
                f"{len(checked.calendars)} calendars)"
            )
        return EXIT_OK
    from adapters.bootstrap import open_desk  # noqa: PLC0415

    actor = args.actor or settings.actor or POLICY_ADMIN
    loaded = open_desk(settings).load_policy(raw, actor=actor)
    if args.json:
        render.emit_json({"version": loaded.version, "digest": loaded.digest})
    else:
        render.line(f"policy {args.file}: loaded as version {loaded.version}")
    return EXIT_OK


def scenario(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.bootstrap import open_desk  # noqa: PLC0415
    from adapters.scenario import read_scenario, run_scenario  # noqa: PLC0415

    explicit = args.store is not None
    # Every file is read and checked before the first runs: a bad one writes nothing.
    scenarios = [read_scenario(Path(file)) for file in args.files]
    results = []
    for scenario in scenarios:
        desk = open_desk(settings if explicit else "memory://")
        results.append(run_scenario(desk, scenario))
    if args.json:
        render.emit_json([r.as_dict() for r in results])
    else:
        for result in results:
            mark = "PASS" if result.ok else "FAIL"
            render.line(
                f"{mark} {result.name} ({result.path}): {result.steps} steps, "
                f"{result.checks} checks",
                "green" if result.ok else "red",
            )
            for failure in result.failures:
                render.line(f"    ✗ {failure}", "red")
    return EXIT_OK if all(r.ok for r in results) else EXIT_CHECK_FAILED


def demo(args: argparse.Namespace, settings: Settings) -> int:
    """The main job: scenarios relayed and subscribed to, then the views and the evidence."""
    from adapters.demo import run_demo  # noqa: PLC0415

    result = run_demo(
        Path(args.db),
        nats_url=settings.nats_url,
        nats_binary=settings.nats_server_binary,
        on_start=lambda started: render.line(
            f"store {started.store}; NATS {started.nats_url}; relay publishing to DESKLEDGER; "
            "a subscriber following"
        ),
        on_scenario=_scenario_line,
    )
    _demo_views(result)
    return EXIT_OK if result.ok else EXIT_CHECK_FAILED


def _scenario_line(result: Any) -> None:
    mark = "PASS" if result.ok else "FAIL"
    render.line(
        f"{mark} {result.name} ({Path(result.path).name}): {result.steps} steps, "
        f"{result.checks} checks",
        "green" if result.ok else "red",
    )
    for failure in result.failures:
        render.line(f"    ✗ {failure}", "red")


def _demo_views(result: Any) -> None:
    """What a desk manager looks at after the scenarios: from the views, as of the end."""
    import sys  # noqa: PLC0415
    from datetime import UTC, datetime, time, timedelta  # noqa: PLC0415

    from adapters.bootstrap import open_read_side  # noqa: PLC0415
    from adapters.cli.reads import show_queue  # noqa: PLC0415
    from adapters.cli.report import show as show_report  # noqa: PLC0415
    from projections.postmortem import to_markdown  # noqa: PLC0415
    from projections.queries import TicketFilter  # noqa: PLC0415

    desk, queries = open_read_side(result.store)
    try:
        period = result.period
        if period is not None:
            start, end = (moment.astimezone(UTC) for moment in period)
            majors = queries.tickets(TicketFilter(major=True), as_of=end, sort="opened").tickets
            # The queue while the first major incident was under way shows a desk at work;
            # at the end of the scenarios everything is resolved.
            opened = datetime.fromisoformat(majors[0]["opened_at"]) if majors else None
            busy = opened + timedelta(hours=1) if opened is not None else end
            queue = queries.queue(as_of=busy)
            show_queue(queue, f"queue as of {busy.isoformat()}: {len(queue)} open tickets")
            _sla_summary(queries.sla(as_of=end), f"SLA timers as of {end.isoformat()}")
            # Through the end of the last scenario's day, so its last resolution counts.
            day_after = datetime.combine(end.date() + timedelta(days=1), time(), tzinfo=UTC)
            show_report(queries.report(period_from=start, period_to=day_after, as_of=end))
            if majors:
                ref = majors[0]["ref"]
                render.line(f"timeline of major incident {ref}", "bold")
                render.stdout().file.flush()
                sys.stdout.write(to_markdown(queries.timeline(ref, as_of=end)))
                sys.stdout.flush()
    finally:
        desk.close()
    _demo_evidence(result)


def _sla_summary(rows: list[dict[str, Any]], title: str) -> None:
    """Timers per SLA and stage; adherence = achieved / (achieved + breached)."""
    stages = ("in_progress", "paused", "achieved", "breached", "canceled")
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["name"], dict.fromkeys(stages, 0))[row["stage"]] += 1
    lines = []
    for name, by_stage in sorted(counts.items()):
        done = by_stage["achieved"] + by_stage["breached"]
        adherence = f"{by_stage['achieved'] / done:.0%}" if done else "-"
        lines.append((name, *(by_stage[stage] for stage in stages), adherence))
    render.show(render.table(title, ("SLA", *stages, "adherence"), lines))


def _demo_evidence(result: Any) -> None:
    verify = result.verify
    if verify is not None:
        for problem in verify.problems:
            render.line(problem, "red")
        status = "OK" if verify.ok else "FAILED"
        render.line(f"verify: {status}, {verify.events} events; chain head {verify.head}")
    delivery = result.delivery
    if delivery is not None:
        verdict = (
            "equal to the log"
            if delivery.equal
            else f"NOT equal to the log (missing positions {list(delivery.missing)[:10]}, "
            f"unexpected {list(delivery.unexpected)[:10]})"
        )
        render.line(
            f"subscriber received {delivery.received} events through NATS JetStream; "
            f"the log holds {delivery.logged}: {verdict}"
        )


def relay(args: argparse.Namespace, settings: Settings) -> int:
    """Publish the log to JetStream: once (``--once``) or until stopped."""
    from adapters import nats  # noqa: PLC0415 - names load nats-py on first use
    from adapters.bootstrap import open_desk  # noqa: PLC0415

    url = nats.relay_nats_url(settings.nats_url)
    desk = open_desk(settings)
    run = nats.relay_once if args.once else nats.relay_until_stopped
    summary = run(desk, url, args.stream)
    if args.json:
        render.emit_json(summary.as_dict())
    else:
        render.line(summary.line())
    return EXIT_OK
