"""Writing checked CSV rows (``credira.invoice.csv_import``) as invoices, a chunk per
transaction, idempotent on the invoice number: a new number is created, a known one updated
when a cell differs (and left alone, with no event, when none does); and the import jobs of
``POST /v1/invoices/import``, run by the worker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.invoice import csv_import, import_job, import_repository
from credira.invoice import state as invoice_state
from credira.invoice.schemas import InvoiceCreate
from credira.invoice.state import InvoiceStatus
from credira.kit.clock import Clock
from credira.kit.ids import new_id
from credira.models import CollectionPlan, ImportJob, Invoice
from credira.plan import repository as plan_repository
from credira.plan import service as plan_service
from credira.plan import state as plan_state
from credira.plan.schedule import Debtor

log = structlog.get_logger("credira.import")

CHUNK = 1000
LEASE = timedelta(seconds=60)


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


_CUSTOMER = ("name", "email", "phone", "timezone")


def _apply(invoice: Invoice, body: InvoiceCreate, columns: frozenset[str]) -> bool:
    """Set what the row's columns say; whether anything changed. A column the file lacks is
    left as it is; an empty cell empties an optional field."""
    changed = False

    def put(attribute: str, value: object) -> None:
        nonlocal changed
        if getattr(invoice, attribute) != value:
            setattr(invoice, attribute, value)
            changed = True

    put("amount", body.amount)
    put("currency", body.currency)
    put("due_date", body.due_date)
    for name in _CUSTOMER:
        if f"customer_{name}" in columns:
            put(f"customer_{name}", getattr(body.customer, name))
    if "payment_url" in columns:
        put("payment_url", body.payment_url)
    if body.metadata:
        merged = {**invoice.metadata_, **body.metadata}
        if merged != invoice.metadata_:
            invoice.metadata_ = merged
            changed = True
    return changed


async def write_chunk(
    session: AsyncSession,
    account_id: str,
    created_by: str | None,
    rows: Sequence[InvoiceCreate],
    columns: frozenset[str],
    plan: CollectionPlan | None,
    now: datetime,
    *,
    attach_existing: bool = True,
) -> Counts:
    """Create or update the rows' invoices and attach ``plan`` to the new ones (and, with
    ``attach_existing``, to those following another plan or none); the caller commits."""
    counts = Counts()
    existing = await import_repository.by_numbers(session, account_id, [r.number for r in rows])
    for body in rows:
        invoice = existing.get(body.number)
        if invoice is None:
            planned: dict[str, object] = {}
            if plan is not None:
                debtor = Debtor(
                    due_date=body.due_date,
                    amount=body.amount,
                    timezone=body.customer.timezone,
                    phone=body.customer.phone,
                    email=body.customer.email,
                )
                planned = plan_service.new_invoice_fields(plan, debtor, now)
            invoice_state.new(
                session,
                now,
                id=new_id("invoice"),
                account_id=account_id,
                number=body.number,
                amount=body.amount,
                currency=body.currency,
                due_date=body.due_date,
                status=InvoiceStatus.OPEN,
                customer_name=body.customer.name,
                customer_email=body.customer.email,
                customer_phone=body.customer.phone,
                customer_timezone=body.customer.timezone,
                payment_url=body.payment_url,
                metadata_=body.metadata,
                created_by=created_by,
                **planned,
            )
            counts.created += 1
            continue
        changed = _apply(invoice, body, columns)
        if changed:
            invoice_state.updated(session, invoice, now)
        if plan is not None and attach_existing and invoice.plan_id != plan.id:
            plan_service.attach(session, invoice, plan, now)
            changed = True
        elif changed and invoice.plan_status in plan_repository.RUNNING:
            plan_state.rescheduled(invoice, now)  # its due date or zone may have moved
        if changed:
            counts.updated += 1
        else:
            counts.unchanged += 1
    await session.flush()
    return counts


def summary(parsed: csv_import.Parsed) -> str | None:
    """What a run with --skip-invalid left out."""
    if not parsed.bad_lines:
        return None
    shown = "; ".join(str(e) for e in parsed.errors[:5])
    return f"{parsed.bad_lines} bad row(s) skipped: {shown}"


class ImportJobs:
    """Runs the queued import jobs, one at a time per worker, a chunk per transaction, each
    committed with the job's progress (a job whose worker stopped is taken over when its
    lease runs out, from the rows it had written: writing a row again changes nothing)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        worker_id: str,
        *,
        reads: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.reads = reads or sessionmaker
        self.clock = clock
        self.worker_id = worker_id

    async def run_due(self) -> str | None:
        """Claim one job and run it to its end; its id (None: no job waiting)."""
        try:
            async with self.reads() as session:
                if await import_repository.claimable(session, self.clock.now(), lock=False) is None:
                    return None
            async with self.sessionmaker() as session:
                now = self.clock.now()
                job = await import_repository.claimable(session, now)
                if job is None:
                    return None
                import_job.claimed(job, self.worker_id, now, LEASE)
                job_id = job.id
                await session.commit()
        except (DBAPIError, OSError) as exc:
            log.warning("import.claim_failed", error=str(exc)[:300])
            return None
        try:
            await self._run(job_id)
        except (DBAPIError, OSError) as exc:
            # Taken over when the lease runs out, from the last chunk written.
            log.warning("import.job_interrupted", job_id=job_id, error=str(exc)[:300])
        except Exception as exc:
            # Not something a second try would mend: the job ends failed, saying so.
            log.exception("import.job_failed", job_id=job_id)
            await self._fail(job_id, f"the import stopped: {type(exc).__name__}")
        return job_id

    async def _fail(self, job_id: str, error: str) -> None:
        try:
            async with self.sessionmaker() as session:
                job = await import_repository.lock(session, job_id)
                if job is not None and job.lease_owner == self.worker_id:
                    import_job.finished(job, error, self.clock.now())
                    await session.commit()
        except (DBAPIError, OSError) as exc:
            log.warning("import.job_failed", job_id=job_id, error=str(exc)[:300])

    async def _run(self, job_id: str) -> None:
        async with self.sessionmaker() as session:
            job = await import_repository.lock(session, job_id)
            if job is None:
                return
            content, start = job.content, job.processed_rows
            await session.commit()
        parsed = csv_import.parse(content)
        columns = frozenset(parsed.header)
        rows = [body for _, body in parsed.rows]
        for offset in range(start, len(rows), CHUNK):
            if not await self._chunk(job_id, rows[offset : offset + CHUNK], columns):
                return
        async with self.sessionmaker() as session:
            job = await import_repository.lock(session, job_id)
            if job is not None and job.lease_owner == self.worker_id:
                import_job.finished(job, None, self.clock.now())
                await session.commit()
        log.info("import.job_done", job_id=job_id, rows=len(rows))

    async def _chunk(self, job_id: str, rows: list[InvoiceCreate], columns: frozenset[str]) -> bool:
        async with self.sessionmaker() as session:
            job = await import_repository.lock(session, job_id)
            if job is None or job.lease_owner != self.worker_id:
                return False  # taken over
            now = self.clock.now()
            plan = await self._plan(session, job)
            if job.plan_id is not None and plan is None:
                import_job.finished(job, "the collection plan was deleted", now)
                await session.commit()
                return False
            counts = await write_chunk(
                session,
                job.account_id,
                job.created_by,
                rows,
                columns,
                plan,
                now,
                attach_existing=job.plan_id is not None,
            )
            import_job.progressed(
                job,
                processed=len(rows),
                created=counts.created,
                updated=counts.updated,
                unchanged=counts.unchanged,
                now=now,
                lease=LEASE,
            )
            await session.commit()
        return True

    async def _plan(self, session: AsyncSession, job: ImportJob) -> CollectionPlan | None:
        if job.plan_id is None:
            return await plan_repository.default_for(session, job.account_id)
        return await plan_repository.get(session, job.account_id, job.plan_id)
