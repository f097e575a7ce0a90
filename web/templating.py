"""Jinja set-up: filters and globals every template may use."""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import nh3
from litestar.plugins.jinja import JinjaTemplateEngine
from markupsafe import Markup

from ideas import clock, policy
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
    delta = (clock.today() - value).days
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


#: user texts whose sanitised HTML a process keeps (an idea page's problem
#: and proposal are rendered once per text, not once per view)
RICH_CACHE_SIZE = 2048
#: idea cards whose viewer-independent parts a process keeps
CARD_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=RICH_CACHE_SIZE)
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


#: something a reader (or a mail program) could take for a web address
_LINKISH = re.compile(
    r"(?i)\b(?:https?://|ftp://|www\.|mailto:)|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:/|\b)"
)


def has_link(text: str) -> bool:
    """True when text holds a web address (shown as plain text, never as a
    link, with a warning: a council question could carry a tracking link
    that only the submitter would open; issue 13, item 10)."""
    return _LINKISH.search(text or "") is not None


def plain_text(text: str) -> Markup:
    """User text escaped, paragraphs kept, links never made: for council
    questions (see `has_link`)."""
    escaped = str(Markup.escape(text or ""))
    paragraphs = [p.replace("\n", "<br>") for p in escaped.split("\n\n")]
    return Markup("".join(f"<p>{p}</p>" for p in paragraphs if p.strip()))


class VoteParts:
    """The board's vote buttons without their CSRF input (`vote_open`,
    `vote_rest` in _macros.html), rendered once per set of arguments and
    reused: the key is every value they show (idea, count, the viewer's
    vote, whether they may vote, status, closed, the return address), so a
    kept part is what rendering would produce again. Nothing identifies
    anyone: "Yours" or "Voted" is the state of whoever asks with that key,
    never a name; the CSRF input, the one per-session value, is put between
    the two halves per request."""

    def __init__(self, env: Any, limit: int = CARD_CACHE_SIZE) -> None:
        self.env = env
        self.limit = limit
        self.kept: dict[tuple, tuple[Markup, Markup]] = {}
        self._macros: Any = None

    def __call__(
        self, idea_id, votes, voted, can_vote, back, status, closed
    ) -> tuple[Markup, Markup]:
        key = (idea_id, votes, bool(voted), bool(can_vote), back, status, bool(closed))
        parts = self.kept.get(key)
        if parts is None:
            if self._macros is None:
                self._macros = self.env.get_template("_macros.html").module
            parts = (
                self._macros.vote_open(idea_id),
                self._macros.vote_rest(idea_id, votes, voted, can_vote, back, status, closed),
            )
            if len(self.kept) >= self.limit:
                self.kept.clear()
            self.kept[key] = parts
        return parts


class CardParts:
    """An idea card of the board (and the roadmap), put together without a
    macro call per card (the calls were a quarter of a board's time).

    The parts every viewer sees alike (`card_open`, `card_head`, `card_tail`
    in _macros.html: the card's frame, title, status, touchpoint, age,
    comment count) are rendered once and reused. The key is every value the
    parts show, so a kept part is exactly what rendering would produce
    again: it changes when the idea does (title, status, comments) or the
    day does (its age), and no viewer's state can reach another's page — the
    parts take no per-viewer value. The vote button's halves come from
    `VoteParts`, the page's CSRF input goes between them, and "Yours" and the
    submitter's pending note (`card_marks`) are rendered per request (blind
    promise: nothing submitter-specific is kept)."""

    def __init__(self, env: Any, votes: VoteParts, limit: int = CARD_CACHE_SIZE) -> None:
        self.env = env
        self.votes = votes
        self.limit = limit
        self.kept: dict[tuple, tuple[Markup, Markup, Markup]] = {}
        self._macros: Any = None

    def macros(self) -> Any:
        if self._macros is None:
            self._macros = self.env.get_template("_macros.html").module
        return self._macros

    def __call__(self, idea: Any) -> tuple[Markup, Markup, Markup]:
        """The kept parts of a projected idea (`IdeaOut`), rendered if new."""
        ago = days_ago(idea.submitted_on)
        key = (idea.id, idea.title, idea.status, idea.touchpoint, idea.comments, ago)
        parts = self.kept.get(key)
        if parts is None:
            macros = self.macros()
            idea_id, title, status, touchpoint, comments, _ = key
            parts = (
                macros.card_open(idea_id),
                macros.card_head(idea_id, title, status, touchpoint),
                macros.card_tail(idea_id, title, ago, comments),
            )
            if len(self.kept) >= self.limit:
                self.kept.clear()
            self.kept[key] = parts
        return parts

    def card(self, idea: Any, csrf: Markup, back: str | None = None) -> Markup:
        """The whole card of a projected idea (`IdeaOut`) for this viewer.
        `csrf` is the page's CSRF input (Markup); a plain string is escaped."""
        opening, head, tail = self(idea)
        can = idea.can
        vote = self.votes(
            idea.id, idea.votes, idea.voted, can.vote, back, idea.status, not can.takes_votes
        )
        marks = (
            self.macros().card_marks(idea.id, idea.is_mine, idea.visible_from)
            if idea.is_mine or idea.visible_from
            else _NO_MARKS
        )
        return _JOIN.join((opening, vote[0], csrf, vote[1], head, marks, tail))


_JOIN = Markup("")
_NO_MARKS = Markup("")


def menu_of(viewer) -> policy.Menu:
    """The navigation's links for the signed-in person, from the policy's
    table (the pages behind them let in the same roles)."""
    return policy.menu(frozenset(viewer.roles))


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
    env.filters["impact_number"] = lambda v: f"{v:g}" if isinstance(v, float) else str(v)
    env.filters["plain"] = plain_text
    env.tests["linkish"] = has_link
    env.globals["menu_of"] = menu_of
    votes = env.globals["vote_parts"] = VoteParts(env)
    cards = env.globals["card_parts"] = CardParts(env, votes)
    env.globals["idea_card"] = cards.card
    env.globals["STATUSES"] = STATUSES
    env.globals["STATUS_LABELS"] = STATUS_LABELS
    env.globals["TOUCHPOINTS"] = TOUCHPOINTS
    env.globals["TOUCHPOINT_LABELS"] = TOUCHPOINT_LABELS
