"""Fill the participation ledger from the votes and submissions that exist,
each under its person's current department (the best record there is of
where they were), and make (person, quarter, department) unique.

(Raw steps run before a manager's add_table, hence a migration of its own.)
"""

import datetime as dt

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T04:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "fill participation from votes and submissions"

INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS participation_user_quarter_department_ix "
    'ON participation ("user", quarter, department)'
)
QUARTER_IX = "CREATE INDEX IF NOT EXISTS participation_quarter_ix ON participation (quarter)"


def _quarter(at) -> str:
    if isinstance(at, str):
        at = dt.datetime.fromisoformat(at)
    at = at.astimezone(dt.UTC) if at.tzinfo else at
    return f"{at.year:04d}-Q{(at.month - 1) // 3 + 1}"


async def fill() -> None:
    from piccolo.querystring import QueryString

    from piccolo_conf import DB

    await DB.run_ddl(INDEX)
    await DB.run_ddl(QUARTER_IX)
    rows = await DB.run_querystring(
        QueryString(
            'SELECT v."user" AS u, t.department AS d, v.created_at AS at FROM vote v '
            'JOIN tp_user t ON t.id = v."user" '
            'UNION ALL SELECT s."user" AS u, t.department AS d, i.created_at AS at '
            'FROM submission s JOIN tp_user t ON t.id = s."user" JOIN idea i ON i.id = s.idea '
            "WHERE s.role = 'submitter'"
        )
    )
    seen = {(str(r["u"]), r["d"], _quarter(r["at"])) for r in rows}
    for user, department, quarter in sorted(seen):
        await DB.run_querystring(
            QueryString(
                'INSERT INTO participation ("user", department, quarter, created_at) '
                "VALUES ({}, {}, {}, {}) ON CONFLICT DO NOTHING",
                user,
                department,
                quarter,
                dt.datetime.now(dt.UTC),
            )
        )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="ideas", description=DESCRIPTION)
    manager.add_raw(fill)
    return manager
