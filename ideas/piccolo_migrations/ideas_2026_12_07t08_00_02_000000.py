"""Comment.by_co_submitter: the author was a co-submitter (by merge) of the
idea when writing it, shown as "Co-submitter": never by name, never as
"Submitter" (a merge never lends the submitter's voice)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T08:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "comment.by_co_submitter: co-submitters comment as 'Co-submitter'"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Comment",
        tablename="comment",
        column_name="by_co_submitter",
        db_column_name="by_co_submitter",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": False,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
