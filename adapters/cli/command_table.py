"""The ticket subcommands and their options, generated from engine/commands.py.

Do not edit: after changing a command in engine/commands.py, run

    .venv/bin/python tools/cli_options.py

(tests/test_cli_startup.py fails while this file differs from what that writes). The parser
reads this table instead of the pydantic command models, so that start-up stays fast.
"""

# fmt: off
# ruff: noqa: E501

#: A field: (name, kind, type, required, description); kind is "value" (takes VALUE),
#: "flag" (a switch) or "list" (repeatable).
Field = tuple[str, str, str, bool, str]

#: command name -> (one-line help, description, fields), in the order of engine.commands.
COMMANDS: dict[str, tuple[str, str, tuple[Field, ...]]] = {
    'open': (
        'Open a new incident or service request; it starts in state new.',
        'Open a new incident or service request; it starts in state new.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('kind', 'value', 'str', False, 'ticket kind (one of: incident, service_request); default incident'),
            ('title', 'value', 'str', True, 'a short summary of the problem or request (required)'),
            ('caller', 'value', 'str', True, 'who reported it, a person or a system (required); their customer-visible comment resumes a ticket held awaiting_caller'),
            ('impact', 'value', 'int', True, 'how widely it hurts: 1 (high), 2 or 3 (low) (required)'),
            ('urgency', 'value', 'int', True, 'how soon it hurts: 1 (high), 2 or 3 (low) (required)'),
            ('description', 'value', 'str', False, 'the full description of the problem or request'),
            ('channel', 'value', 'str', False, 'how it reached the desk (one of: phone, email, portal, chat, walk_in, monitoring, virtual_agent)'),
            ('category', 'value', 'str', False, 'category (free text), e.g. network; SLAs may apply by it'),
            ('subcategory', 'value', 'str', False, 'subcategory (free text), e.g. vpn'),
            ('service', 'value', 'str', False, 'affected service or configuration item'),
            ('group', 'value', 'str', False, 'the assignment group it starts in; SLAs may apply by it'),
            ('assignee', 'value', 'str', False, 'assignee (opening with one does not start work)'),
            ('affected_users', 'value', 'int', False, 'how many users are affected (0 or more)'),
        ),
    ),
    'assign': (
        'Set the assignment group and/or assignee; assigning a person to a new ticket starts work',
        'Set the assignment group and/or assignee; assigning a person to a new ticket starts work. An explicit null clears a field, an absent one keeps it.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('group', 'value', 'str', False, 'the new assignment group (a change counts as a reassignment)'),
            ('assignee', 'value', 'str', False, 'the person who works on it (assigning one to a new ticket starts work)'),
        ),
    ),
    'start': (
        'Start work on a new ticket (new -> in_progress).',
        'Start work on a new ticket (new -> in_progress).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
        ),
    ),
    'hold': (
        'Put a ticket on hold (new or in_progress -> on_hold) for a reason.',
        'Put a ticket on hold (new or in_progress -> on_hold) for a reason.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('reason', 'value', 'str', True, 'hold reason (one of: awaiting_caller, awaiting_vendor, awaiting_problem, awaiting_change, awaiting_evidence) (required)'),
            ('comment', 'value', 'str', False, 'what the caller is asked (required for awaiting_caller)'),
        ),
    ),
    'resume': (
        'Resume work on a ticket on hold (on_hold -> in_progress).',
        'Resume work on a ticket on hold (on_hold -> in_progress).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
        ),
    ),
    'resolve': (
        'Resolve a ticket (new, in_progress or on_hold -> resolved); resolving a major incident resolves its open children.',
        'Resolve a ticket (new, in_progress or on_hold -> resolved); resolving a major incident resolves its open children.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('code', 'value', 'str', True, 'resolution code (free text), e.g. solved, workaround (required)'),
            ('notes', 'value', 'str', True, 'what was done to resolve it (required)'),
            ('knowledge', 'value', 'str', False, 'the knowledge article used or written, e.g. KB0001'),
        ),
    ),
    'reopen': (
        'Reopen a resolved ticket (resolved -> in_progress); a closed ticket is final.',
        'Reopen a resolved ticket (resolved -> in_progress); a closed ticket is final.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('reason', 'value', 'str', True, 'why it is not solved (required)'),
        ),
    ),
    'close': (
        'Close a resolved ticket (resolved -> closed, final).',
        'Close a resolved ticket (resolved -> closed, final).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
        ),
    ),
    'cancel': (
        'Cancel an open ticket (new, in_progress or on_hold -> canceled, final).',
        'Cancel an open ticket (new, in_progress or on_hold -> canceled, final).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('reason', 'value', 'str', True, 'why it is canceled (required)'),
        ),
    ),
    'reprioritize': (
        'Change impact and/or urgency; a new priority re-targets the SLA timers.',
        'Change impact and/or urgency; a new priority re-targets the SLA timers.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('impact', 'value', 'int', False, 'new impact: 1 (high), 2 or 3 (low)'),
            ('urgency', 'value', 'int', False, 'new urgency: 1 (high), 2 or 3 (low)'),
            ('reason', 'value', 'str', True, 'why the priority changes (required)'),
        ),
    ),
    'escalate': (
        'Escalate functionally (to a higher tier and group) or hierarchically (notify management, the ticket does not move).',
        'Escalate functionally (to a higher tier and group) or hierarchically (notify management, the ticket does not move).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('tier', 'value', 'int', False, 'functional: the support tier it moves up to, 2 or 3 (above its tier now)'),
            ('group', 'value', 'str', False, 'functional: the assignment group of that tier (a change is a reassignment)'),
            ('hierarchical', 'flag', 'bool', False, "hierarchical instead: management is notified, the ticket does not move (give 'to', not tier or group)"),
            ('to', 'value', 'str', False, 'hierarchical: who is notified, e.g. duty-manager'),
            ('reason', 'value', 'str', False, 'why it is escalated (optional)'),
        ),
    ),
    'comment': (
        "Add a work note or a customer-visible comment; the caller's reply resumes a ticket held awaiting the caller.",
        "Add a work note or a customer-visible comment; the caller's reply resumes a ticket held awaiting the caller.",
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('text', 'value', 'str', True, "the comment's text (required)"),
            ('visibility', 'value', 'str', False, 'who sees it: a work note, or visible to the caller (one of: internal, customer); default internal'),
        ),
    ),
    'declare_major': (
        'Declare a priority-1 incident a major incident (by an allowed declarer).',
        'Declare a priority-1 incident a major incident (by an allowed declarer).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('reason', 'value', 'str', True, 'why it is major (required)'),
        ),
    ),
    'link_child': (
        'Link an incident as a child of a major incident (ref is the major incident).',
        'Link an incident as a child of a major incident (ref is the major incident).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('child', 'value', 'str', True, "the child incident's ref (required)"),
        ),
    ),
    'communicate': (
        'Record a communication sent about a major incident.',
        'Record a communication sent about a major incident.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('audience', 'value', 'str', True, 'who it went to, e.g. all-staff, stakeholders (required)'),
            ('message', 'value', 'str', True, 'what was said (required)'),
            ('channel', 'value', 'str', False, 'how it was sent, e.g. email, status page'),
        ),
    ),
    'review': (
        'Record the post-incident review of a resolved major incident',
        "Record the post-incident review of a resolved major incident. An action is its text alone or text with owner, due date and the problem or change ref that carries it (on the command line: 'TEXT | owner=NAME | due=YYYY-MM-DD | link=REF').",
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('summary', 'value', 'str', True, 'what happened (required)'),
            ('root_cause', 'value', 'str', True, 'why it happened (required)'),
            ('actions', 'list', 'list[ActionItem]', False, "a follow-up: 'TEXT | owner=NAME | due=YYYY-MM-DD | link=REF' (repeat)"),
            ('contributing_factors', 'list', 'list[str]', False, 'what made it worse or likelier (repeat)'),
            ('went_well', 'list', 'list[str]', False, 'what went well (repeat)'),
            ('lessons', 'list', 'list[str]', False, 'a lesson learned (repeat)'),
        ),
    ),
    'link_problem': (
        'Link the ticket to a problem record.',
        'Link the ticket to a problem record.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('problem', 'value', 'str', True, "the problem's ref, e.g. PRB0001 (required)"),
        ),
    ),
    'update': (
        'Change descriptive fields after opening, as one event holding the fields that change; an explicit null clears an optional field',
        'Change descriptive fields after opening, as one event holding the fields that change; an explicit null clears an optional field. Not on closed or canceled tickets.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('title', 'value', 'str', False, 'a new title'),
            ('description', 'value', 'str', False, 'a new description'),
            ('category', 'value', 'str', False, 'category, e.g. network'),
            ('subcategory', 'value', 'str', False, 'subcategory, e.g. vpn'),
            ('service', 'value', 'str', False, 'affected service or configuration item'),
            ('affected_services', 'list', 'list[str]', False, 'every service affected (repeat; replaces the list)'),
            ('affected_users', 'value', 'int', False, 'how many users are affected'),
            ('change', 'value', 'str', False, "the related change's ref, e.g. CHG0042"),
        ),
    ),
    'assign_roles': (
        "Name a major incident's incident commander and/or communications lead; an explicit null clears a role.",
        "Name a major incident's incident commander and/or communications lead; an explicit null clears a role.",
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('commander', 'value', 'str', False, 'the incident commander'),
            ('comms_lead', 'value', 'str', False, 'the communications lead'),
        ),
    ),
    'record_impact': (
        "Record when a major incident's impact started, was detected and was mitigated (each optional; started <= detected, started <= mitigated, none later than the command).",
        "Record when a major incident's impact started, was detected and was mitigated (each optional; started <= detected, started <= mitigated, none later than the command).",
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234: letters, digits, - or _, starting with a letter"),
            ('started_at', 'value', 'datetime', False, 'when the impact started (ISO-8601 with offset)'),
            ('detected_at', 'value', 'datetime', False, 'when it was detected (ISO-8601 with offset)'),
            ('mitigated_at', 'value', 'datetime', False, 'when the impact was mitigated (ISO-8601 with offset)'),
        ),
    ),
}
