"""Sample electronic licences (样例电子证照) of the sample people
(``cloudwindow.sample.people``), and the sample items that issue a licence when a case
concludes. Loaded by ``cloudwindow demo`` and every test server (sample/load.py).

- ``chen``: ID card, household register, social security card, marriage certificate —
  valid; a disability certificate that **expired** (2024); a business licence that was
  **revoked**.
- ``li``: ID card, household register, social security card, real estate title.
- ``wang``: an **expired** ID card (as his physical card), household register, a valid
  disability certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from cloudwindow.catalog.models import ServiceItem
from cloudwindow.licences.models import LicenceProduct
from cloudwindow.licences.registry import new_licence
from cloudwindow.licences.render import LicenceCard, render_licence
from cloudwindow.licences.rules import LicenceStatus, licence_type, mask_name, mask_number
from cloudwindow.sample.people import SamplePerson, person
from cloudwindow.services import Services

POLICE = "广州市公安局增城分局"


@dataclass(frozen=True)
class SampleLicence:
    person: str
    type_code: str
    number: str  # "{id}" stands for the holder's ID number
    issuer: str
    issued_on: date
    valid_until: date | None
    status: LicenceStatus = LicenceStatus.VALID


SAMPLE_LICENCES: tuple[SampleLicence, ...] = (
    SampleLicence("chen", "ID_CARD", "{id}", POLICE, date(2016, 3, 12), date(2036, 3, 12)),
    SampleLicence("chen", "HOUSEHOLD_REGISTER", "440118003512", POLICE, date(1990, 7, 1), None),
    SampleLicence(
        "chen", "SOCIAL_SECURITY_CARD", "G44010235", "广州市人力资源和社会保障局",
        date(2019, 9, 10), date(2029, 9, 10),
    ),
    SampleLicence("chen", "MARRIAGE", "J440118-1986-000312", "增城县民政局", date(1986, 5, 2),
                  None),
    SampleLicence(
        "chen", "DISABILITY", "{id}41", "增城区残疾人联合会", date(2014, 6, 3), date(2024, 6, 3),
    ),
    SampleLicence(
        "chen", "BUSINESS_LICENCE", "92440118MA5CHEN01", "增城区市场监督管理局",
        date(2018, 4, 16), None, LicenceStatus.REVOKED,
    ),
    SampleLicence("li", "ID_CARD", "{id}", POLICE, date(2018, 5, 20), date(2038, 5, 20)),
    SampleLicence("li", "HOUSEHOLD_REGISTER", "440118004207", POLICE, date(1995, 3, 8), None),
    SampleLicence(
        "li", "SOCIAL_SECURITY_CARD", "G44010871", "广州市人力资源和社会保障局",
        date(2020, 2, 11), date(2030, 2, 11),
    ),
    SampleLicence(
        "li", "REAL_ESTATE", "粤（2019）广州市不动产权第11002345号", "广州市规划和自然资源局",
        date(2019, 8, 21), None,
    ),
    SampleLicence("wang", "ID_CARD", "{id}", POLICE, date(2005, 6, 1), date(2025, 6, 1)),
    SampleLicence("wang", "HOUSEHOLD_REGISTER", "440118001733", POLICE, date(1988, 1, 5), None),
    SampleLicence(
        "wang", "DISABILITY", "{id}42", "增城区残疾人联合会", date(2021, 10, 9), date(2031, 10, 9),
    ),
)  # fmt: skip

# Items whose concluded cases issue a licence: item code → (type, years valid; None: 长期)
SAMPLE_PRODUCTS: dict[str, tuple[str, int | None]] = {
    "440118-GG-0001": ("SOCIAL_SECURITY_CARD", 10),  # 社会保障卡申领
    "440118-QR-0011": ("RESIDENCE_PERMIT", 3),  # 居住证申领
    "440118-QR-0020": ("MARRIAGE", None),  # 内地居民结婚登记
    "440118-QR-0022": ("MARRIAGE", None),  # 补领结婚证
    "440118-QR-0028": ("DISABILITY", 10),  # 残疾人证新办
    "440118-QR-0035": ("REAL_ESTATE", None),  # 不动产转移登记（一手房）
    "440118-XK-0011": ("BUSINESS_LICENCE", None),  # 个体工商户设立登记
}


def _card(sample: SampleLicence, who: SamplePerson, number: str, licence_id: str) -> bytes:
    kind = licence_type(sample.type_code)
    return render_licence(
        LicenceCard(
            type_name=kind.name if kind else sample.type_code,
            holder_name_masked=mask_name(who.name),
            holder_id_masked=mask_number(who.id_number),
            number_masked=mask_number(number),
            issuer=sample.issuer,
            issued_on=sample.issued_on,
            valid_until=sample.valid_until,
            licence_id=licence_id,
        )
    )


async def load_sample_licences(session: AsyncSession, services: Services) -> int:
    """The sample licences (files rendered into the file store) and licence-issuing
    items, in the caller's transaction; returns how many licences."""
    for code, (type_code, years) in SAMPLE_PRODUCTS.items():
        if await session.get(ServiceItem, code) is not None:
            session.add(
                LicenceProduct(service_item_code=code, type_code=type_code, valid_years=years)
            )
    made = 0
    for n, sample in enumerate(SAMPLE_LICENCES):
        who = person(sample.person)
        number = sample.number.replace("{id}", who.id_number)
        licence_id = f"sample{n:02d}{who.key}{sample.type_code.lower()}"[:32]
        data = _card(sample, who, number, licence_id)
        key = f"licences/sample/{licence_id}.pdf"
        services.files.write(key, data)
        session.add(
            new_licence(
                services.settings,
                type_code=sample.type_code,
                holder_name_masked=mask_name(who.name),
                holder_id_number=who.id_number,
                number=number,
                issuer=sample.issuer,
                issued_on=sample.issued_on,
                valid_until=sample.valid_until,
                file_key=key,
                data=data,
                status=sample.status,
                licence_id=licence_id,
            )
        )
        made += 1
    await session.flush()
    return made
