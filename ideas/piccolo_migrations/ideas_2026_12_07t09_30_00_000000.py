"""browser_session.user_id: the person a session belongs to, so the domain
ends a person's sessions without reading the web's session format (existing
sessions are filled in from their value); audit_log.system_actor: the name
of the System actor (command line, SCIM client, single sign-on, ...)."""

import json
import uuid

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T09:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "browser_session.user_id; audit_log.system_actor"


def _params(**extra):
    return {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **extra,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)
    manager.add_column(
        table_class_name="BrowserSession",
        tablename="browser_session",
        column_name="user_id",
        db_column_name="user_id",
        column_class_name="UUID",
        column_class=UUID,
        params=_params(default=None, null=True, index=True),
        schema=None,
    )
    manager.add_column(
        table_class_name="AuditLog",
        tablename="audit_log",
        column_name="system_actor",
        db_column_name="system_actor",
        column_class_name="Varchar",
        column_class=Varchar,
        params=_params(default="", length=80),
        schema=None,
    )

    async def fill_sessions():
        from ideas.tables import BrowserSession

        rows = await BrowserSession.select(BrowserSession.id, BrowserSession.value).run()
        for row in rows:
            try:
                user_id = uuid.UUID(str(json.loads(row["value"]).get("user_id")))
            except (ValueError, AttributeError, TypeError):
                continue  # not a signed-in session
            await (
                BrowserSession.update({BrowserSession.user_id: user_id})
                .where(BrowserSession.id == row["id"])
                .run()
            )

    manager.add_raw(fill_sessions)
    return manager
