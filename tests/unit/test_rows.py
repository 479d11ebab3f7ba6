"""The repositories' typed rows (micro_user/storage/rows.py) read the columns they name: a
row of a whole table mirrors the table, and a row of a join reads each field from the
column of its name (a swapped pair would pass a type check and read the wrong value)."""

from __future__ import annotations

import pytest

from micro_user.storage import events as events_repo
from micro_user.storage import keys as keys_repo
from micro_user.storage import rows, tables
from micro_user.storage.tables import deliveries, events, webhooks

pytestmark = pytest.mark.anyio

WHOLE_TABLES = {
    rows.ServiceAccountRow: tables.auth_accounts,
    rows.RoleRow: tables.roles,
    rows.RuleRow: tables.rules,
    rows.SigningKeyRow: tables.signing_keys,
    rows.RefreshRow: tables.refresh_tokens,
    rows.EventRow: tables.events,
    rows.WebhookRow: tables.webhooks,
    rows.ApiKeyRow: tables.api_keys,
    rows.OneTimeTokenRow: tables.one_time_tokens,
    rows.MailRow: tables.mail_queue,
    rows.ClientRow: tables.oauth_clients,
    rows.CodeRow: tables.authorization_codes,
    rows.TotpRow: tables.totp_factors,
}


@pytest.mark.parametrize("row", list(WHOLE_TABLES), ids=lambda row: row.__name__)
def test_a_whole_table_row_has_the_tables_columns_in_order(row):
    assert row._fields == tuple(WHOLE_TABLES[row].c.keys())


async def test_join_rows_read_each_field_from_its_column(services):
    async with services.db.write() as conn:
        await conn.execute(
            webhooks.insert().values(
                id="hook",
                namespace="ns",
                url="https://hooks.example/in",
                secret="whsec",
                event_types="",
                created=1,
            )
        )
        await conn.execute(
            events.insert().values(
                seq=7,
                id="event-id",
                namespace="ns",
                type="account.created",
                account_id="acct",
                actor="actor",
                time=1234,
                payload="{}",
            )
        )
        await conn.execute(
            deliveries.insert().values(
                webhook_id="hook",
                event_seq=7,
                account_id="acct",
                status="pending",
                attempts=2,
                next_attempt=0,
                last_error="boom",
            )
        )
    async with services.db.read() as conn:
        [due] = await events_repo.due_deliveries(conn, now=10, limit=5)
        [listed] = await events_repo.list_deliveries(conn, "ns", "pending", 5)
    assert due == rows.DueDeliveryRow(
        webhook_id="hook",
        event_seq=7,
        attempts=2,
        account_id="acct",
        url="https://hooks.example/in",
        secret="whsec",
        id="event-id",
        type="account.created",
        namespace="ns",
        actor="actor",
        time=1234,
        payload="{}",
    )
    assert listed == rows.DeliveryRow(
        webhook_id="hook",
        account_id="acct",
        status="pending",
        attempts=2,
        last_error="boom",
        event_id="event-id",
        type="account.created",
    )


async def test_key_holder_row(services):
    async with services.db.write() as conn:
        await conn.execute(
            tables.api_keys.insert().values(
                id="key-id",
                namespace="ns",
                name="name",
                secret_hash="digest",
                hint="hint",
                created=1,
                scopes="admin",
            )
        )
    async with services.db.read() as conn:
        holder = await keys_repo.find_active_by_hash(conn, "digest")
    assert holder == rows.KeyHolderRow(id="key-id", namespace="ns", scopes="admin")
