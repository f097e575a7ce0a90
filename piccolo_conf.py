"""Piccolo's configuration: the engine is chosen from DATABASE_URL.

PostgreSQL for `postgres(ql)://` URLs, otherwise a SQLite file (by default in
the data directory, `./.touchpoint/`).
"""

import logging
import os
import sqlite3
from pathlib import Path

from piccolo.conf.apps import AppRegistry
from piccolo.engine.sqlite import SQLiteEngine

from ideas.config import database_url_from
from ideas.pg import ResilientPostgresEngine

_url = database_url_from(dict(os.environ))


class TouchpointSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine, saying its version as SQLite writes it
    (Piccolo's own line turns 3.40.1 into the float 3.4)."""

    async def check_version(self):
        version = sqlite3.sqlite_version_info
        logging.getLogger("piccolo.engine.base").info(
            "Running SQLite version %s", sqlite3.sqlite_version
        )
        if version < (3, 25):
            logging.getLogger("touchpoint").warning(
                "SQLite %s is older than 3.25: some features may not work", sqlite3.sqlite_version
            )


if _url.startswith(("postgres://", "postgresql://")):
    # a pooled connection found dead is replaced, not a 500 (ideas/pg.py)
    DB = ResilientPostgresEngine(config={"dsn": _url}, log_queries=False)
else:
    _path = Path(_url.removeprefix("sqlite:///"))
    _path.parent.mkdir(parents=True, exist_ok=True)
    DB = TouchpointSQLiteEngine(path=str(_path), timeout=30)

APP_REGISTRY = AppRegistry(apps=["ideas.piccolo_app"])
