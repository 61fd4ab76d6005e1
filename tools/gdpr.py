"""GDPR requests (admin only): export everything held about a customer, or erase them.

Not a registered tool: the chat model can neither export nor erase. The CLI
(``crm gdpr``) and the web admin API call these functions with the caller's context.

Export: ``storage.gdpr.collect`` (every row and every mention) plus the customer's chunks
in the vector store, written atomically (temp file, fsync, rename; mode 0600), and an
``export`` audit row that commits before the file appears under its name: no export
without an audit row.

Erase: ``storage.gdpr.anonymise`` and the ``erase`` audit row (who, when, what counts) in
one transaction. Then, after the commit, the steps outside the database, each of which
may fail without undoing the erasure and is retried by running the erase again:
1. the vectors (``knowledge.erase_customer``); ``crm index`` does not bring them back, since
   the interactions they came from are deleted, and it drops any leftovers itself;
2. other customers' interactions whose notes mentioned the person are re-embedded;
3. the caller's ``forget`` hook (the assistant's conversation memory, from the edges).
Erasing an erased customer changes nothing and says so; it still retries step 1.
Chroma's files keep deleted text a while longer; ``tools.gdpr_vectors.purge_vector_store``
removes it (see there).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import Session, select

from storage.gdpr import (
    RULES,
    ErasureReport,
    anonymise,
    audit_rows_citing,
    collect,
    erasure_session,
    is_erased,
    personal_terms,
)
from storage.models import AuditEntry, Customer, Role
from tools.audit import audit_write
from tools.context import ToolContext
from tools.errors import Ambiguous, NotFound, PermissionDenied
from tools.gdpr_vectors import vector_chunks
from tools.lookup import customer_candidates, invalidate_name_cache

log = logging.getLogger(__name__)

EXPORT_FORMAT = "crm-gdpr-export/1"


def require_admin(ctx: ToolContext) -> None:
    if ctx.role != Role.admin:
        raise PermissionDenied(f"GDPR export and erasure are for admins; the {ctx.role.value} role may not")


def resolve_exact(session: Session, customer: str | int) -> Customer:
    """By id, external id or exact name (case-insensitive); several with that name raise ``Ambiguous``."""
    text = str(customer).strip()
    if not text:
        raise NotFound("give a customer id, external id or exact name")
    by_key = list(session.exec(select(Customer).where(Customer.external_id == text)).all())
    if text.isdigit() and len(text) < 19:
        by_id = session.get(Customer, int(text))
        if by_id is not None and by_id not in by_key:
            by_key.insert(0, by_id)
    if len(by_key) > 1:
        # Numeric external ids (e.g. Online Retail's customer numbers) can equal another customer's id.
        raise Ambiguous(f"{text!r} is the id of one customer and the external id of another",
                        candidates=customer_candidates(session, by_key), hint="give the name or the other key")
    if by_key:
        return by_key[0]
    matches = list(session.exec(select(Customer).where(Customer.name == text).order_by(Customer.id)).all())
    if not matches:
        matches = list(session.exec(
            select(Customer).where(func.lower(Customer.name) == text.lower()).order_by(Customer.id)
        ).all())
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise Ambiguous(f"{len(matches)} customers are named {text!r}", candidates=customer_candidates(session, matches),
                        hint="give the id or the external id")
    raise NotFound(f"no customer with id, external id or exact name {text!r}",
                   hint="search with `crm tool find_customers --name …` and use the id")


def customer_id_of(ctx: ToolContext, *, customer: str | int) -> int:
    """The id ``customer`` names (admin only): for file names and for confirming the right one."""
    require_admin(ctx)
    with Session(ctx.engine) as session:
        return int(resolve_exact(session, customer).id)


# --- export -------------------------------------------------------------------------------


class GdprExport(BaseModel):
    customer_id: int
    path: str | None = None
    sha256: str
    rows: dict[str, int]
    mentions: int
    vector_chunks: int
    vector_status: str
    document: dict[str, Any] = Field(exclude=True, repr=False)
    body: bytes = Field(exclude=True, repr=False, description="The JSON file's exact bytes (what sha256 is of)")

    def lines(self) -> list[str]:
        total = sum(self.rows.values())
        tables = sum(1 for n in self.rows.values() if n)
        where = f"wrote {self.path}" if self.path else "export built"
        return [
            f"{where}: customer #{self.customer_id}, {total} rows from {tables} tables, "
            f"{self.mentions} mentions elsewhere, {self.vector_chunks} vector chunks ({self.vector_status})",
            f"sha256 {self.sha256}; recorded in the audit log (action export)",
        ]


def _audit(session: Session, ctx: ToolContext, *, action: str, tool: str, customer_id: int, arguments: dict,
           outcome: str = "ok") -> None:
    audit_write(session, ctx, action=action, tool=tool, arguments={"customer_id": customer_id, **arguments},
                records=[f"customer:{customer_id}"], outcome=outcome)


def export_customer(ctx: ToolContext, *, customer: str | int, out: Path | None = None) -> GdprExport:
    """Everything held about one customer; written to ``out`` (atomically) when given, and audited."""
    require_admin(ctx)
    with Session(ctx.engine) as session:
        target = resolve_exact(session, customer)
        cid = int(target.id)
        data = collect(session, target)
    status, chunks = vector_chunks(cid)
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": ctx.now.isoformat(),
        "exported_by": {"user_id": ctx.user_id, "name": ctx.user_name, "channel": ctx.channel},
        "customer_id": cid,
        "tables": data["tables"],
        "mentions": data["mentions"],
        "vector_store": {"status": status, "chunks": chunks},
        "not_included": "files outside the database and the vector store: backups (`crm backup`), "
                        "logs, chart images and earlier exports",
    }
    body = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    result = GdprExport(customer_id=cid, path=str(out) if out else None, sha256=hashlib.sha256(body).hexdigest(),
                        rows={k: len(v) for k, v in data["tables"].items()}, mentions=len(data["mentions"]),
                        vector_chunks=len(chunks), vector_status=status, document=document, body=body)
    audit = {"action": "export", "tool": "gdpr.export", "customer_id": cid,
             "arguments": {"rows": result.rows, "mentions": result.mentions, "vector_chunks": result.vector_chunks,
                           "sha256": result.sha256, "to_file": out is not None}}
    if out is None:
        _commit_audit(ctx, **audit)
        return result
    temp = _write_temp(Path(out), body)
    try:
        _commit_audit(ctx, **audit)
        os.replace(temp, out)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return result


def _commit_audit(ctx: ToolContext, **fields: Any) -> None:
    with Session(ctx.engine) as session:
        _audit(session, ctx, **fields)
        session.commit()


def _write_temp(out: Path, body: bytes) -> Path:
    """The bytes in a private temp file next to ``out`` (same file system, so the rename is atomic)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        os.fchmod(fd, 0o600)  # personal data: owner-readable only
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


# --- erase --------------------------------------------------------------------------------


class Erasure(BaseModel):
    customer_id: int
    dry_run: bool
    already_erased: bool = Field(description="Nothing was left to erase (an earlier erasure did it)")
    erased_before: datetime | None = Field(default=None, description="When an earlier erasure was recorded")
    deleted: dict[str, int] = {}
    anonymised: dict[str, int] = {}
    kept: dict[str, int] = {}
    mentions: dict[str, int] = {}
    customer_fields: list[str] = []
    vectors_removed: int | None = None
    vectors_error: str | None = None
    reindexed: int = 0
    reindex_error: str | None = None
    memory_threads_removed: int | None = None
    memory_error: str | None = None

    @property
    def complete(self) -> bool:
        return not (self.vectors_error or self.reindex_error or self.memory_error)

    def lines(self) -> list[str]:
        cid = self.customer_id
        if self.already_erased:
            when = f" on {self.erased_before:%Y-%m-%d %H:%M}" if self.erased_before else ""
            out = [f"customer #{cid} was already erased{when}; nothing to do"]
            if self.vectors_removed:
                out.append(f"removed {self.vectors_removed} leftover vector chunks")
            return out + self._errors()
        verb = "would" if self.dry_run else "did"
        out = [f"customer #{cid}: {'preview, nothing changed' if self.dry_run else 'erased'}"]
        if self.customer_fields:
            out.append(f"  customer row: {verb} clear {', '.join(self.customer_fields)}")
        for table, n in sorted(self.deleted.items()):
            if n:
                out.append(f"  {table}: {verb} delete {n} rows")
        for table, n in sorted(self.anonymised.items()):
            out.append(f"  {table}: {verb} blank free-text fields in {n} rows ({self.kept.get(table, 0)} rows kept)")
        kept = {t: n for t, n in self.kept.items() if n and t not in self.anonymised}
        if kept:
            out.append("  kept unchanged (figures stay): " + ", ".join(f"{t} {n}" for t, n in sorted(kept.items())))
        for where, n in sorted(self.mentions.items()):
            out.append(f"  {where}: {verb} replace {n} mentions")
        if not self.dry_run:
            if self.vectors_removed is not None:
                out.append(f"  vector store: removed {self.vectors_removed} chunks")
            if self.vectors_removed:
                out.append("  Chroma keeps deleted text in its log and free pages until `crm gdpr purge-index`")
            if self.reindexed:
                out.append(f"  re-embedded {self.reindexed} other interactions that mentioned the customer")
            if self.memory_threads_removed:
                out.append(f"  assistant memory: forgot {self.memory_threads_removed} conversations")
        return out + self._errors()

    def _errors(self) -> list[str]:
        out = []
        if self.vectors_error:
            out.append(f"the database is erased, but removing the vectors failed: {self.vectors_error}. "
                       f"Run `crm gdpr erase {self.customer_id} --yes` again (or `crm index`) to finish")
        if self.reindex_error:
            out.append(f"re-embedding other interactions failed: {self.reindex_error}; run `crm index`")
        if self.memory_error:
            out.append(f"forgetting assistant conversations failed: {self.memory_error}; run the erase again")
        return out


def _erased_at(session: Session, customer_id: int) -> datetime | None:
    stmt = select(func.max(AuditEntry.at)).where(AuditEntry.action == "erase", AuditEntry.tool == "gdpr.erase",
                                                  audit_rows_citing(customer_id))
    return session.exec(stmt).one()


def _counts(report: ErasureReport) -> dict[str, Any]:
    return {"deleted": report.deleted, "anonymised": report.anonymised, "kept": report.kept,
            "mentions": report.mentions, "customer_fields": report.customer_fields}


def erase_customer(
    ctx: ToolContext,
    *,
    customer: str | int,
    dry_run: bool = False,
    forget: Callable[[Sequence[str]], int] | None = None,
) -> Erasure:
    """Anonymise one customer (see the module docstring); ``dry_run`` reports what would change.

    ``forget`` receives the person's values after the commit and returns how many stored
    conversations it dropped; the edges pass the assistant's memory purge.
    """
    require_admin(ctx)
    with erasure_session(ctx.engine) as session:
        target = resolve_exact(session, customer)
        cid = int(target.id)
        terms = [t.text for t in personal_terms(target)]
        erased_before = _erased_at(session, cid) if is_erased(target) else None
        try:
            report = anonymise(session, cid)
            changed = report.changed
            if dry_run or not changed:
                session.rollback()
            else:
                _audit(session, ctx, action="erase", tool="gdpr.erase", customer_id=cid, arguments=_counts(report))
                session.commit()
        except BaseException:
            session.rollback()
            raise
    result = Erasure(customer_id=cid, dry_run=dry_run, already_erased=not changed, erased_before=erased_before,
                     **_counts(report))
    if dry_run:
        return result
    if changed:
        invalidate_name_cache()
    _after_commit(ctx, result, report, terms if changed else [], forget)
    return result


def _after_commit(ctx: ToolContext, result: Erasure, report: ErasureReport, terms: list[str],
                  forget: Callable[[Sequence[str]], int] | None) -> None:
    cid = result.customer_id
    try:
        from knowledge import erase_customer as erase_vectors

        result.vectors_removed = erase_vectors(cid)
    except Exception as exc:  # noqa: BLE001 - the database is committed; report and let the caller retry
        log.error("GDPR erase of customer %s: vector removal failed", cid, exc_info=True)
        result.vectors_error = f"{type(exc).__name__}: {exc}"
    if report.reindex_interactions:
        try:
            from knowledge import index_interactions

            result.reindexed = index_interactions(report.reindex_interactions, engine=ctx.engine).embedded
        except Exception as exc:  # noqa: BLE001
            log.error("GDPR erase of customer %s: re-embedding mentions failed", cid, exc_info=True)
            result.reindex_error = f"{type(exc).__name__}: {exc}"
    if forget is not None and terms:
        try:
            result.memory_threads_removed = forget(terms)
        except Exception as exc:  # noqa: BLE001
            log.error("GDPR erase of customer %s: forgetting conversations failed", cid, exc_info=True)
            result.memory_error = f"{type(exc).__name__}: {exc}"
    if result.already_erased and not result.vectors_removed and result.complete:
        return  # a no-op: nothing happened worth a row
    _commit_audit(
        ctx, action="erase", tool="gdpr.erase_outside_db", customer_id=cid,
        arguments={"vectors_removed": result.vectors_removed, "reindexed": result.reindexed,
                   "memory_threads_removed": result.memory_threads_removed},
        outcome="ok" if result.complete else "incomplete",
    )


__all__ = ["RULES", "Erasure", "GdprExport", "customer_id_of", "erase_customer", "export_customer", "require_admin",
           "resolve_exact"]
