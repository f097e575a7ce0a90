"""participation: who took part in which quarter, under the department they
belonged to at that moment (ideas/leadership.py counts participation from it
alone); tp_user.department_since: when an admin last moved a person.
(Filled from the votes and submissions by the next migration.)"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, Integer, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "participation ledger; tp_user.department_since"


def _params(**extra) -> dict:
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
    manager.add_table(
        class_name="Participation", tablename="participation", schema=None, columns=None
    )
    columns = (
        ("id", Serial, _params(primary_key=True)),
        ("user", UUID, _params(default=UUID4())),
        ("department", Integer, _params(default=0)),
        ("quarter", Varchar, _params(length=7, default="")),
        ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    )
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="Participation",
            tablename="participation",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    manager.add_column(
        table_class_name="User",
        tablename="tp_user",
        column_name="department_since",
        db_column_name="department_since",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params=_params(default=None, null=True),
        schema=None,
    )
    return manager
