"""Piccolo's configuration: the engine is chosen from DATABASE_URL.

PostgreSQL for `postgres(ql)://` URLs, otherwise a SQLite file (by default in
the data directory, `./.touchpoint/`).
"""

import os
from pathlib import Path

from piccolo.conf.apps import AppRegistry
from piccolo.engine.sqlite import SQLiteEngine

from ideas.config import database_url_from
from ideas.pg import ResilientPostgresEngine

_url = database_url_from(dict(os.environ))

if _url.startswith(("postgres://", "postgresql://")):
    # a pooled connection found dead is replaced, not a 500 (ideas/pg.py)
    DB = ResilientPostgresEngine(config={"dsn": _url}, log_queries=False)
else:
    _path = Path(_url.removeprefix("sqlite:///"))
    _path.parent.mkdir(parents=True, exist_ok=True)
    DB = SQLiteEngine(path=str(_path), timeout=30)

APP_REGISTRY = AppRegistry(apps=["ideas.piccolo_app"])
