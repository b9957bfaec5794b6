"""Which service items issue a licence when a case concludes (``licence_products``) —
read by anyone who reads the catalogue, set by catalogue administrators (audited).
docs/licences.md §Licences issued by a case."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.accounts.principal import Principal
from cloudwindow.audit.actions import record
from cloudwindow.catalog.models import ServiceItem
from cloudwindow.errors import NotFound
from cloudwindow.licences.errors import LicenceTypeUnknown
from cloudwindow.licences.models import LicenceProduct
from cloudwindow.licences.rules import LICENCE_TYPES, licence_type
from cloudwindow.licences.schemas import LicenceProductIn, LicenceProductView, LicenceTypeView
from cloudwindow.services import Services


def get_types() -> list[LicenceTypeView]:
    return [
        LicenceTypeView(code=t.code, name=t.name, name_en=t.name_en, materials=list(t.materials))
        for t in LICENCE_TYPES
    ]


async def _item(session: AsyncSession, code: str) -> ServiceItem:
    item = await session.get(ServiceItem, code)
    if item is None:
        raise NotFound("Service item", "事项", code)
    return item


def _view(code: str, row: LicenceProduct | None) -> LicenceProductView:
    kind = licence_type(row.type_code) if row else None
    return LicenceProductView(
        service_item_code=code,
        type_code=row.type_code if row else None,
        type_name=kind.name if kind else None,
        valid_years=row.valid_years if row else None,
    )


async def get_product(services: Services, code: str) -> LicenceProductView:
    async with services.db.read() as session:
        await _item(session, code)
        return _view(code, await session.get(LicenceProduct, code))


async def do_set_product(
    services: Services, who: Principal, code: str, body: LicenceProductIn
) -> LicenceProductView:
    """Make the item issue a licence of ``type_code`` valid ``valid_years`` (None: 长期)
    when a case concludes; ``type_code: null`` stops it. Cases concluded earlier keep
    what they issued."""
    if body.type_code is not None and licence_type(body.type_code) is None:
        raise LicenceTypeUnknown(body.type_code)
    async with services.db.transaction() as session:
        await _item(session, code)
        row = await session.get(LicenceProduct, code)
        if body.type_code is None:
            if row is not None:
                await session.delete(row)
            row = None
        elif row is None:
            row = LicenceProduct(
                service_item_code=code, type_code=body.type_code, valid_years=body.valid_years
            )
            session.add(row)
        else:
            row.type_code, row.valid_years = body.type_code, body.valid_years
        record(
            session, who, "licence_product.set", "service_item", code,
            {"type_code": body.type_code, "valid_years": body.valid_years},
        )  # fmt: skip
        await session.flush()
        return _view(code, row)
