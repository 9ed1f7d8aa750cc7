"""Administration: policies, scenarios, the demo and the relay."""

from __future__ import annotations

import argparse
from pathlib import Path

from adapters.cli import render
from adapters.cli.args import read_yaml
from adapters.cli.errors import EXIT_CHECK_FAILED, EXIT_OK
from adapters.settings import Settings

POLICY_ADMIN = "policy-admin"


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
    from adapters.scenario import run_scenario  # noqa: PLC0415

    explicit = args.store is not None
    results = []
    for file in args.files:
        desk = open_desk(settings if explicit else "memory://")
        results.append(run_scenario(desk, Path(file)))
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
    from adapters.demo import run_demo  # noqa: PLC0415

    result = run_demo(
        Path(args.db),
        render.stdout(),
        nats_url=settings.nats_url,
        nats_binary=settings.nats_server_binary,
    )
    return EXIT_OK if result.ok else EXIT_CHECK_FAILED


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
