"""The audit row every write tool appends in the same transaction as its change (and other audited acts:
a refused undo, a GDPR export or erasure)."""

from __future__ import annotations

from sqlmodel import Session

from storage.models import AuditEntry
from tools.context import ToolContext


def audit_write(session: Session, ctx: ToolContext, *, tool: str, arguments: dict, records: list[str],
                action: str = "write", outcome: str = "ok") -> None:
    """Append the audit row inside the caller's transaction (so it commits with the change)."""
    session.add(
        AuditEntry(
            at=ctx.now,
            user_id=ctx.user_id,
            channel=ctx.channel,
            action=action,
            tool=tool,
            arguments=arguments,
            records=records,
            outcome=outcome,
        )
    )
