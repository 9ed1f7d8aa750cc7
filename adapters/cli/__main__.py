"""``python -m adapters.cli`` runs the ``deskledger`` command line."""

from adapters.cli import entrypoint

entrypoint()
