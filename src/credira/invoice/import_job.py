"""An invoice import job's life cycle, the one writer of its status, and its view.

(new) -> queued -> running -> succeeded | failed
         running -> running    (taken over when its worker's lease ran out)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.kit.clock import format_time
from credira.kit.ids import new_id
from credira.models import ImportJob


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def new(
    session: AsyncSession,
    *,
    account_id: str,
    created_by: str | None,
    content: str,
    total_rows: int,
    plan_id: str | None,
    error: str | None,
    now: datetime,
) -> ImportJob:
    job = ImportJob(
        id=new_id("import"),
        account_id=account_id,
        status=ImportStatus.QUEUED.value,
        plan_id=plan_id,
        content=content,
        total_rows=total_rows,
        processed_rows=0,
        created_rows=0,
        updated_rows=0,
        unchanged_rows=0,
        error=error,
        created_by=created_by,
        created_time=now,
        updated_time=now,
    )
    session.add(job)
    return job


def claimed(job: ImportJob, worker_id: str, now: datetime, lease: timedelta) -> None:
    job.status = ImportStatus.RUNNING.value
    job.lease_owner = worker_id
    job.lease_expires = now + lease
    job.updated_time = now


def progressed(
    job: ImportJob,
    *,
    processed: int,
    created: int,
    updated: int,
    unchanged: int,
    now: datetime,
    lease: timedelta,
) -> None:
    job.processed_rows += processed
    job.created_rows += created
    job.updated_rows += updated
    job.unchanged_rows += unchanged
    job.lease_expires = now + lease
    job.updated_time = now


def finished(job: ImportJob, error: str | None, now: datetime) -> None:
    job.status = (ImportStatus.FAILED if error else ImportStatus.SUCCEEDED).value
    if error:
        job.error = error[:500]
    job.lease_owner = None
    job.lease_expires = None
    job.finished_time = now
    job.updated_time = now


def to_read(job: ImportJob) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": job.id,
        "account_id": job.account_id,
        "status": job.status,
        "plan_id": job.plan_id,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "created_rows": job.created_rows,
        "updated_rows": job.updated_rows,
        "unchanged_rows": job.unchanged_rows,
        "error": job.error,
        "created_time": format_time(job.created_time),
    }
    if job.finished_time is not None:
        data["finished_time"] = format_time(job.finished_time)
    return data
