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
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('kind', 'value', 'str', False, 'ticket kind (one of: incident, service_request)'),
            ('title', 'value', 'str', True, 'a short summary of the problem or request'),
            ('caller', 'value', 'str', True, 'who reported it'),
            ('impact', 'value', 'int', True, 'how widely it hurts: 1 (high), 2 or 3 (low)'),
            ('urgency', 'value', 'int', True, 'how soon it hurts: 1 (high), 2 or 3 (low)'),
            ('description', 'value', 'str', False, 'the full description'),
            ('channel', 'value', 'str', False, 'how it reached the desk (one of: phone, email, portal, chat, walk_in, monitoring, virtual_agent)'),
            ('category', 'value', 'str', False, 'category, e.g. network'),
            ('subcategory', 'value', 'str', False, 'subcategory, e.g. vpn'),
            ('service', 'value', 'str', False, 'affected service or configuration item'),
            ('group', 'value', 'str', False, 'assignment group'),
            ('assignee', 'value', 'str', False, 'assignee (opening with one does not start work)'),
            ('affected_users', 'value', 'int', False, 'how many users are affected'),
        ),
    ),
    'assign': (
        'Set the assignment group and/or assignee; assigning a person to a new ticket starts work',
        'Set the assignment group and/or assignee; assigning a person to a new ticket starts work. An explicit null clears a field, an absent one keeps it.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('group', 'value', 'str', False, 'assignment group (a change is a reassignment)'),
            ('assignee', 'value', 'str', False, 'assignee'),
        ),
    ),
    'start': (
        'Start work on a new ticket (new -> in_progress).',
        'Start work on a new ticket (new -> in_progress).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
        ),
    ),
    'hold': (
        'Put a ticket on hold (new or in_progress -> on_hold) for a reason.',
        'Put a ticket on hold (new or in_progress -> on_hold) for a reason.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('reason', 'value', 'str', True, 'hold reason (one of: awaiting_caller, awaiting_vendor, awaiting_problem, awaiting_change, awaiting_evidence)'),
            ('comment', 'value', 'str', False, 'what the caller is asked (required for awaiting_caller)'),
        ),
    ),
    'resume': (
        'Resume work on a ticket on hold (on_hold -> in_progress).',
        'Resume work on a ticket on hold (on_hold -> in_progress).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
        ),
    ),
    'resolve': (
        'Resolve a ticket (new, in_progress or on_hold -> resolved); resolving a major incident resolves its open children.',
        'Resolve a ticket (new, in_progress or on_hold -> resolved); resolving a major incident resolves its open children.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('code', 'value', 'str', True, 'resolution code, e.g. solved, workaround'),
            ('notes', 'value', 'str', True, 'what was done'),
            ('knowledge', 'value', 'str', False, 'knowledge article used or written'),
        ),
    ),
    'reopen': (
        'Reopen a resolved ticket (resolved -> in_progress); a closed ticket is final.',
        'Reopen a resolved ticket (resolved -> in_progress); a closed ticket is final.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('reason', 'value', 'str', True, 'why it is not solved'),
        ),
    ),
    'close': (
        'Close a resolved ticket (resolved -> closed, final).',
        'Close a resolved ticket (resolved -> closed, final).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
        ),
    ),
    'cancel': (
        'Cancel an open ticket (new, in_progress or on_hold -> canceled, final).',
        'Cancel an open ticket (new, in_progress or on_hold -> canceled, final).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('reason', 'value', 'str', True, 'why it is canceled'),
        ),
    ),
    'reprioritize': (
        'Change impact and/or urgency; a new priority re-targets the SLA timers.',
        'Change impact and/or urgency; a new priority re-targets the SLA timers.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('impact', 'value', 'int', False, 'new impact: 1 (high), 2 or 3 (low)'),
            ('urgency', 'value', 'int', False, 'new urgency: 1 (high), 2 or 3 (low)'),
            ('reason', 'value', 'str', True, 'why the priority changes'),
        ),
    ),
    'escalate': (
        'Escalate functionally (to a higher tier and group) or hierarchically (notify management, the ticket does not move).',
        'Escalate functionally (to a higher tier and group) or hierarchically (notify management, the ticket does not move).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('tier', 'value', 'int', False, 'functional: the higher support tier, 2 or 3'),
            ('group', 'value', 'str', False, 'functional: the group of that tier'),
            ('hierarchical', 'flag', 'bool', False, "hierarchical escalation (give 'to')"),
            ('to', 'value', 'str', False, 'hierarchical: who is notified'),
            ('reason', 'value', 'str', False, 'why'),
        ),
    ),
    'comment': (
        "Add a work note or a customer-visible comment; the caller's reply resumes a ticket held awaiting the caller.",
        "Add a work note or a customer-visible comment; the caller's reply resumes a ticket held awaiting the caller.",
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('text', 'value', 'str', True, 'the comment'),
            ('visibility', 'value', 'str', False, 'who sees it (one of: internal, customer)'),
        ),
    ),
    'declare_major': (
        'Declare a priority-1 incident a major incident (by an allowed declarer).',
        'Declare a priority-1 incident a major incident (by an allowed declarer).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('reason', 'value', 'str', True, 'why it is major'),
        ),
    ),
    'link_child': (
        'Link an incident as a child of a major incident (ref is the major incident).',
        'Link an incident as a child of a major incident (ref is the major incident).',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('child', 'value', 'str', True, "the child incident's ref"),
        ),
    ),
    'communicate': (
        'Record a communication sent about a major incident.',
        'Record a communication sent about a major incident.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('audience', 'value', 'str', True, 'who it went to, e.g. all-staff, stakeholders'),
            ('message', 'value', 'str', True, 'what was said'),
            ('channel', 'value', 'str', False, 'how it was sent, e.g. email, status page'),
        ),
    ),
    'review': (
        'Record the post-incident review of a resolved major incident.',
        'Record the post-incident review of a resolved major incident.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('summary', 'value', 'str', True, 'what happened'),
            ('root_cause', 'value', 'str', True, 'why it happened'),
            ('actions', 'list', 'list[str]', False, 'follow-up actions (repeat the option)'),
        ),
    ),
    'link_problem': (
        'Link the ticket to a problem record.',
        'Link the ticket to a problem record.',
        (
            ('ref', 'value', 'str', True, "the ticket's reference, e.g. INC0001234"),
            ('problem', 'value', 'str', True, "the problem's ref, e.g. PRB0001"),
        ),
    ),
}
