"""Jinja set-up: filters and globals every template may use."""

from __future__ import annotations

import datetime as dt

import nh3
from litestar.plugins.jinja import JinjaTemplateEngine
from markupsafe import Markup

from ideas.lifecycle import STATUS_LABELS, STATUSES, TOUCHPOINTS

TOUCHPOINT_LABELS = {t: t.capitalize() for t in TOUCHPOINTS}


def day(value: dt.date | dt.datetime | None) -> str:
    """Times are shown to the day, never the minute (blind promise)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


def hhmm(value: dt.datetime | None) -> str:
    """A moment as HH:MM UTC (when something waiting for its batch becomes
    visible: shown only to its author)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%H:%M")


def days_ago(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    delta = (dt.datetime.now(dt.UTC).date() - value).days
    if delta <= 0:
        return "today"
    if delta == 1:
        return "yesterday"
    return f"{delta} days ago"


ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "ul",
    "ol",
    "li",
    "code",
    "pre",
    "blockquote",
    "a",
}


def safe_markdownish(text: str) -> Markup:
    """User text as sanitised HTML: paragraphs and line breaks; nh3 removes
    anything that could run (scripts, handlers, javascript: links)."""
    escaped = str(Markup.escape(text or ""))
    paragraphs = [p.replace("\n", "<br>") for p in escaped.split("\n\n")]
    html = "".join(f"<p>{p}</p>" for p in paragraphs if p.strip())
    return Markup(
        nh3.clean(
            html,
            tags=ALLOWED_TAGS,
            url_schemes={"http", "https", "mailto"},
            link_rel="nofollow noopener",
        )
    )


def configure(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    # Templates ship with the code: no stat() of every template file on every
    # include (a board page includes ~50), which cost ~7% of its CPU.
    env.auto_reload = False
    env.filters["day"] = day
    env.filters["days_ago"] = days_ago
    env.filters["hhmm"] = hhmm
    env.filters["status_label"] = lambda s: STATUS_LABELS.get(s, s)
    env.filters["touchpoint_label"] = lambda t: TOUCHPOINT_LABELS.get(t, t)
    env.filters["rich"] = safe_markdownish
    env.globals["STATUSES"] = STATUSES
    env.globals["STATUS_LABELS"] = STATUS_LABELS
    env.globals["TOUCHPOINTS"] = TOUCHPOINTS
    env.globals["TOUCHPOINT_LABELS"] = TOUCHPOINT_LABELS
