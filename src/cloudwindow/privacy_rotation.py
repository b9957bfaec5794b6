"""Data-key rotation: every ciphertext re-encrypted with the current key, every blind
index recomputed (docs/operations.md §Rotating the data key).

``cloudwindow privacy rotate-key`` walks the registry below — each column (or encrypted
file) holding ``privacy.py`` tokens, with the purpose each token was sealed for and the
blind index computed from its clear value — in batches of rows (keyset order, one
transaction per batch). A token already under the current key is skipped, so a run that
stopped (or ``--limit``) is resumed by running it again; a token under a previous key
is opened with it (``CLOUDWINDOW_DATA_KEYS_PREVIOUS``) and sealed again with the current
one, and in the same transaction the row's blind index is recomputed (the index key
derives from the data key). The seal private keys of ``trust/`` (passphrase derived
from the data key) are re-wrapped too. ``--check`` only counts what is left.

A table added later with personal data adds a ``SealedColumn`` (or ``SealedFile``) to
``registry()``; ``tests/integration/test_key_rotation.py`` fails when a ``cw1.`` token
under the old key is left anywhere in the database.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy import select

from cloudwindow.config import Settings
from cloudwindow.privacy import Keyring, keyring_for, token_key_id

if TYPE_CHECKING:  # the CLI imports this module: keep its start light
    from cloudwindow.services import Services


def _same(value: str) -> str:
    return value


@dataclass(frozen=True)
class SealedColumn:
    """A column of ``model`` holding tokens: one token, or (``json_map``) a JSON object
    name → token. ``purpose(row, name)`` gives the token's purpose (``name`` is "" for a
    plain column); ``index`` is the blind-index column recomputed from the clear value
    (after ``normalize``) with ``index_purpose``."""

    model: type[Any]
    column: str
    purpose: Callable[[Any, str], str]
    index: str | None = None
    index_purpose: str = ""
    normalize: Callable[[str], str] = _same
    json_map: bool = False

    @property
    def name(self) -> str:
        return f"{self.model.__tablename__}.{self.column}"


@dataclass(frozen=True)
class SealedFile:
    """Files in the file store holding one token each; their keys in ``model.column``."""

    model: type[Any]
    column: str
    purpose: Callable[[str], str]

    @property
    def name(self) -> str:
        return f"{self.model.__tablename__}.{self.column} (files)"


def registry() -> list[SealedColumn | SealedFile]:
    """Everything encrypted with the data key (imported here, so a rename fails loudly)."""
    import cloudwindow.queueing.actions  # noqa: F401 (the queue modules' import order)
    from cloudwindow.cases.models import Case, CaseSignature
    from cloudwindow.cases.notify import PHONE_PURPOSE
    from cloudwindow.cases.queries import PHONE_INDEX, pii_purpose
    from cloudwindow.cases.signature import signature_purpose
    from cloudwindow.devices.actions import RESULT_PURPOSE
    from cloudwindow.devices.models import DeviceCommand
    from cloudwindow.identity.actions import _photo_purpose
    from cloudwindow.identity.models import FaceCheck, IdCardRead
    from cloudwindow.identity.queries import CARD_PURPOSE, ID_NUMBER_INDEX, ID_NUMBER_PURPOSE
    from cloudwindow.licences.models import Licence
    from cloudwindow.licences.providers import HOLDER_ID, HOLDER_INDEX, NUMBER
    from cloudwindow.queueing.callbacks import PHONE
    from cloudwindow.queueing.models import Appointment, Callback

    def fixed(purpose: str) -> Callable[[Any, str], str]:
        return lambda _row, _name: purpose

    return [
        SealedColumn(Case, "pii", lambda row, name: pii_purpose(row.id, name), json_map=True),
        SealedColumn(Case, "phone_cipher", fixed(PHONE_PURPOSE), "phone_index", PHONE_INDEX),
        SealedColumn(Callback, "phone_cipher", fixed(PHONE), "phone_index", PHONE),
        SealedColumn(Appointment, "phone_cipher", fixed(PHONE), "phone_index", PHONE),
        SealedColumn(IdCardRead, "card_enc", fixed(CARD_PURPOSE)),
        SealedColumn(
            IdCardRead,
            "id_number_enc",
            fixed(ID_NUMBER_PURPOSE),
            "id_number_index",
            ID_NUMBER_INDEX,
        ),
        SealedColumn(
            Licence, "holder_id_cipher", fixed(HOLDER_ID), "holder_index", HOLDER_INDEX, str.upper
        ),
        SealedColumn(Licence, "number_cipher", fixed(NUMBER)),
        SealedColumn(DeviceCommand, "result_cipher", fixed(RESULT_PURPOSE)),
        SealedColumn(CaseSignature, "image_cipher", lambda row, _: signature_purpose(row.case_id)),
        SealedFile(IdCardRead, "photo_key", _photo_purpose),
        SealedFile(FaceCheck, "live_key", _photo_purpose),
    ]


@dataclass
class Tally:
    """Per column: rows (files) re-encrypted, or with ``check`` still under an old key."""

    rotated: dict[str, int] = field(default_factory=dict)
    trust_keys: int = 0
    stopped_early: bool = False

    @property
    def total(self) -> int:
        return sum(self.rotated.values()) + self.trust_keys

    def add(self, name: str, n: int = 1) -> None:
        self.rotated[name] = self.rotated.get(name, 0) + n


class _Budget:
    def __init__(self, limit: int | None) -> None:
        self.left = limit

    def take(self) -> bool:
        if self.left is None:
            return True
        if self.left <= 0:
            return False
        self.left -= 1
        return True


def _rotate_row(keys: Keyring, spec: SealedColumn, row: Any, current: str, check: bool) -> int:
    """Re-encrypt this row's token(s); the number of tokens that were under an old key."""
    value = getattr(row, spec.column)
    if not value:
        return 0
    tokens: dict[str, str] = dict(value) if spec.json_map else {"": value}
    stale = {n: t for n, t in tokens.items() if token_key_id(t) != current}
    if not stale or check:
        return len(stale)
    clear_for_index = None
    for name, token in stale.items():
        purpose = spec.purpose(row, name)
        clear = keys.decrypt(token, purpose)
        tokens[name] = keys.encrypt(clear, purpose)
        clear_for_index = clear
    setattr(row, spec.column, tokens if spec.json_map else tokens[""])
    if spec.index and clear_for_index is not None:
        setattr(
            row, spec.index, keys.blind_index(spec.normalize(clear_for_index), spec.index_purpose)
        )
    return len(stale)


async def _rotate_column(
    services: Services, spec: SealedColumn, batch: int, budget: _Budget, tally: Tally, check: bool
) -> bool:
    """False when the budget ran out before the column was done."""
    keys = keyring_for(services.settings)
    current = keys.current_id
    pk = spec.model.id
    last: Any = None
    while True:
        async with services.db.transaction() as session:
            stmt = select(spec.model).order_by(pk).limit(batch)
            if last is not None:
                stmt = stmt.where(pk > last)
            if not check and services.db.engine.dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            rows = list(await session.scalars(stmt))
            if not rows:
                return True
            for row in rows:
                stale = _rotate_row(keys, spec, row, current, True)
                if not stale:
                    continue
                if not check and not budget.take():
                    return False
                _rotate_row(keys, spec, row, current, check)
                tally.add(spec.name)
            last = rows[-1].id


async def _rotate_files(
    services: Services, spec: SealedFile, batch: int, budget: _Budget, tally: Tally, check: bool
) -> bool:
    keys = keyring_for(services.settings)
    current = keys.current_id
    column = getattr(spec.model, spec.column)
    last = 0
    while True:
        async with services.db.read() as session:
            rows = (
                await session.execute(
                    select(spec.model.id, column)
                    .where(spec.model.id > last, column.is_not(None))
                    .order_by(spec.model.id)
                    .limit(batch)
                )
            ).all()
        if not rows:
            return True
        for _, key in rows:
            try:
                token = (await asyncio.to_thread(services.files.read, key)).decode()
            except FileNotFoundError:
                continue  # purged with its case: nothing left to rotate
            if token_key_id(token) == current:
                continue
            if not check:
                if not budget.take():
                    return False
                purpose = spec.purpose(key)
                fresh = keys.encrypt(keys.decrypt(token, purpose), purpose)
                await asyncio.to_thread(services.files.write, key, fresh.encode())
            tally.add(spec.name)
        last = rows[-1][0]


async def rotate(
    services: Services, *, batch: int = 500, limit: int | None = None, check: bool = False
) -> Tally:
    """Re-encrypt (``check``: count) every token not under the current key; at most
    ``limit`` rows this run."""
    from cloudwindow.trust.ca import rewrap_keys

    tally = Tally()
    budget = _Budget(limit)
    for spec in registry():
        tally.rotated.setdefault(spec.name, 0)
        if isinstance(spec, SealedFile):
            done = await _rotate_files(services, spec, batch, budget, tally, check)
        else:
            done = await _rotate_column(services, spec, batch, budget, tally, check)
        if not done:
            tally.stopped_early = True
            return tally
    tally.trust_keys = await asyncio.to_thread(rewrap_keys, services.settings, check)
    return tally


# CLI ------------------------------------------------------------------------------------
app = typer.Typer(help="Personal data (PIPL): data-key rotation.", no_args_is_help=True)


@app.command("rotate-key")
def rotate_key(
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction")] = 500,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many rows (run again to go on)")
    ] = None,
    check: Annotated[
        bool, typer.Option(help="Only count what is not under the current key")
    ] = False,
) -> None:
    """Re-encrypt every stored personal-data token with CLOUDWINDOW_DATA_KEY (the old key
    in CLOUDWINDOW_DATA_KEYS_PREVIOUS) and recompute the blind indexes; resumable."""

    from cloudwindow.services import Services

    async def go() -> Tally:
        services = Services.standalone(Settings())
        try:
            return await rotate(services, batch=batch, limit=limit, check=check)
        finally:
            await services.db.dispose()

    tally = asyncio.run(go())
    keys = keyring_for(Settings())
    out = {
        "current_key_id": keys.current_id,
        "mode": "check" if check else "rotate",
        "columns": tally.rotated,
        "trust_keys": tally.trust_keys,
        "total": tally.total,
        "finished": not tally.stopped_early,
    }
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    if check and tally.total:
        raise typer.Exit(3)  # something is still under an old key
