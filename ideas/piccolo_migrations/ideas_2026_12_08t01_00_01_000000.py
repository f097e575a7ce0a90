"""What a submitter changes in what others already see waits for its batch
(ideas.publish, ideas.editing):

- idea_edit: an edit of an idea, applied by the worker at its batch;
- comment.delete_at: a "Submitter" comment's deletion, made at its batch.

Adds a table and a nullable column."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import JSON, UUID, ForeignKey, Serial, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-08T01:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "idea_edit, comment.delete_at: a submitter's changes wait for their batch"


class Idea(Table, tablename="idea", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False)


class User(Table, tablename="tp_user", schema=None):
    id = UUID(null=False, primary_key=True, unique=False, index=False)


def _params(**extra):
    base = {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    base.update(extra)
    return base


def _reference(table):
    return _params(
        references=table,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        target_column=None,
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)
    manager.add_table(class_name="WaitingEdit", tablename="idea_edit", schema=None, columns=None)
    columns = (
        ("id", Serial, _params(primary_key=True)),
        ("idea", ForeignKey, {**_reference(Idea), "index": True}),
        ("editor", ForeignKey, _reference(User)),
        ("changes", JSON, _params(default="{}")),
        ("publish_at", Timestamptz, _params(default=TimestamptzNow(), index=True)),
    )
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="WaitingEdit",
            tablename="idea_edit",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    manager.add_column(
        table_class_name="Comment",
        tablename="comment",
        column_name="delete_at",
        db_column_name="delete_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params=_params(null=True, default=None),
        schema=None,
    )
    return manager
