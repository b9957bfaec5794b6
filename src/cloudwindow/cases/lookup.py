"""Case lookup (办件查询) by case number + phone number: public, rate-limited, and silent.

- **Reveals nothing to a wrong phone**: a wrong phone, an unknown number and a case not
  yet accepted all get the same ``case-lookup-failed`` after the same work: the phone's
  blind index is always computed and compared in constant time (against a dummy when no
  case matched), and the same queries run whether or not the case was found.
- **Rate limits** shared by every node (rows in ``case_lookup_attempts``): per client
  (a kiosk sending its device credential counts as itself, anyone else by address) and
  per case number, ``settings.case_lookup_per_*`` lookups within
  ``case_lookup_window_seconds`` — a stranger cannot try phone numbers against one case,
  nor sweep case numbers from one address. Attempts are committed before the answer,
  so a refused lookup still counts.
- The answer carries no names and no personal data: progress, dates, what is missing.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.queries import get_principal
from cloudwindow.cases.errors import LookupFailed, LookupRateLimited
from cloudwindow.cases.models import Case, CaseEvent, CaseLookupAttempt
from cloudwindow.cases.numbers import normalize_number
from cloudwindow.cases.queries import PHONE_INDEX, china_today, deadline_fields, state_label
from cloudwindow.cases.schemas import Correction, LookupHistory, LookupRequest, LookupView
from cloudwindow.cases.states import CaseState
from cloudwindow.catalog.models import Department, ServiceItem
from cloudwindow.db import utcnow
from cloudwindow.privacy import keyring_for, normalize_phone
from cloudwindow.services import Services

_DUMMY_INDEX = "0" * 40


async def _check_rate(
    session: AsyncSession, services: Services, keys: list[tuple[str, int]]
) -> None:
    window = timedelta(seconds=services.settings.case_lookup_window_seconds)
    now = utcnow()
    since = now - window
    await session.execute(
        delete(CaseLookupAttempt).where(
            CaseLookupAttempt.key.in_([k for k, _ in keys]), CaseLookupAttempt.at < since
        )
    )
    for key, limit in keys:
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(CaseLookupAttempt.at)).where(
                    CaseLookupAttempt.key == key, CaseLookupAttempt.at >= since
                )
            )
        ).one()
        if int(count) >= limit:
            wait = (oldest + window - now).total_seconds() if oldest else window.total_seconds()
            raise LookupRateLimited(max(1, int(wait) + 1))
    for key, _ in keys:
        session.add(CaseLookupAttempt(key=key, at=now))


async def client_key(services: Services, ip: str, token: str | None) -> str:
    """Whom the per-client limit counts: a kiosk by its device credential (many citizens
    of one community hall share an address behind NAT), anyone else by address."""
    if token:
        async with services.db.read() as session:
            who = await get_principal(session, token, ip)
        if who is not None and who.kind == "device":
            return who.ident
    return f"ip:{ip}"


async def do_lookup(services: Services, client: str, body: LookupRequest) -> LookupView:
    """``client``: from ``client_key``."""
    settings = services.settings
    number = normalize_number(body.number) or body.number.strip().upper()[:40]
    phone = normalize_phone(body.phone) or body.phone
    indexes = keyring_for(settings).blind_indexes(phone, PHONE_INDEX)
    view: LookupView | None = None
    async with services.db.transaction() as session:
        await _check_rate(
            session,
            services,
            [
                (client[:80], settings.case_lookup_per_client),
                (f"number:{number}"[:80], settings.case_lookup_per_number),
            ],
        )
        case = await session.scalar(select(Case).where(Case.number == number))
        stored = case.phone_index if case is not None and case.phone_index else _DUMMY_INDEX
        phone_ok = any(hmac.compare_digest(stored.encode(), i.encode()) for i in indexes)
        # Never accepted (a draft, or withdrawn as one): nothing to look up.
        found = case is not None and phone_ok and case.accepted_at is not None
        # The same reads either way (timing): history, item and department of the case
        # or of nothing.
        events = list(
            await session.scalars(
                select(CaseEvent)
                .where(
                    CaseEvent.case_id == (case.id if case else 0), CaseEvent.kind == "transition"
                )
                .order_by(CaseEvent.id)
            )
        )
        item = await session.get(ServiceItem, case.service_item_code if case else "")
        dept = await session.get(Department, case.department_code if case else "")
        if found and case is not None:
            clock = deadline_fields(case, china_today())
            view = LookupView(
                number=case.number,
                state=case.state,
                state_label=state_label(case.state),
                service_item_name=item.name if item else case.service_item_code,
                department_name=(dept.short_name or dept.name) if dept else case.department_code,
                accepted_at=case.accepted_at,
                due_date=case.due_date,
                working_days_left=clock["working_days_left"],
                overdue=bool(clock["overdue"]),
                concluded_at=case.concluded_at,
                correction=Correction(
                    reason=str(case.correction.get("reason", "")),
                    missing=list(case.correction.get("missing", [])),
                    at=case.correction.get("at"),
                )
                if case.correction and case.state == CaseState.RETURNED
                else None,
                outcome_reason=case.outcome_reason,
                history=[
                    LookupHistory(state=e.to_state, state_label=state_label(e.to_state), at=e.at)
                    for e in events
                ],
            )
    if view is None:
        raise LookupFailed()
    return view
