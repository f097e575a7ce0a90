"""Batched publication (PUBLISH_DELAY_MINUTES, ideas/publish.py):

- idea.published_at: when others may see a new idea;
- comment.published_at: when others may see a comment shown as "Submitter";
- question.publish_at: an answer waiting for its batch.

All null for rows made before: those are visible at once, as they were."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T08:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "published_at on ideas and comments, publish_at on answers: batched publication"

PARAMS = {
    "default": None,
    "null": True,
    "primary_key": False,
    "unique": False,
    "index": False,
    "index_method": IndexMethod.btree,
    "choices": None,
    "db_column_name": None,
    "secret": False,
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)
    for class_name, table, column in (
        ("Idea", "idea", "published_at"),
        ("Comment", "comment", "published_at"),
        ("Question", "question", "publish_at"),
    ):
        manager.add_column(
            table_class_name=class_name,
            tablename=table,
            column_name=column,
            db_column_name=column,
            column_class_name="Timestamptz",
            column_class=Timestamptz,
            params=dict(PARAMS),
            schema=None,
        )
    return manager
