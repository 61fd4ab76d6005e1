"""The `crm` command line. Each module registers one concern's commands on the root app."""

from integrations.cli.app import app, main

__all__ = ["app", "main"]
