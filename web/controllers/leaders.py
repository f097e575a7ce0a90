"""Leadership: the /leaders page, the leaderboard and metrics API, CSV exports.

Every route is guarded by `leader_or_admin`, checked on each request, so an
export link works only for whoever holds the role when they download it; the
use cases check "leaders.view" themselves too.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import Response, Template

from ideas import charts
from ideas.errors import Invalid
from ideas.leadership import board, exports, metrics, page
from ideas.leadership.board import Leaderboard
from ideas.leadership.metrics import Metrics
from web.auth import leader_or_admin
from web.controllers.pages import page as render
from web.deps import Ctx
from web.errors import is_htmx

PeriodParam = Annotated[
    str,
    QueryParameter(description="'all' or a calendar quarter 'YYYY-Qn' (UTC); anything else is 422"),
]


def period_name(period: str) -> str:
    return "all time" if period == "all" else period.replace("-", " ")


def csv_response(text: str, filename: str) -> Response[str]:
    return Response(
        content=text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


#: funnel step → the board's status choice that shows those ideas
FUNNEL_FILTERS = (
    ("submitted", "Submitted", "any"),
    ("triaged", "Triaged", "triaged"),
    ("accepted", "Accepted", "accepted_on"),
    ("shipped", "Shipped", "shipped"),
    ("declined", "Declined", "declined"),
    ("duplicate", "Duplicate", "duplicate"),
)


def drill_links(view: page.LeadersView) -> dict:
    """Links from the figures to the ideas they count, on the board, as far
    as the blind promise and k-anonymity allow: the funnel (ideas submitted
    in the period, by how far they came), shipped per quarter and per owning
    department. Never by submitter or submitter's department (hidden), nor
    for a pooled "Other" group (it stands for small departments)."""
    period = view.period
    since = "" if period == "all" else f"&submitted={quote(period)}"
    shipped_in = "" if period == "all" else f"&shipped={quote(period)}"
    funnel = [
        (label, getattr(view.metrics.funnel, key), f"/?status={status}{since}")
        for key, label, status in FUNNEL_FILTERS
    ]
    owners = {
        e.name: f"/?status=shipped&owner={quote(e.name)}{shipped_in}"
        for e in view.leaderboard.by_owning_department
        if e.kind != "pooled"
    }
    quarters = {
        q.quarter: f"/?status=shipped&shipped={quote(q.quarter)}"
        for q in view.metrics.shipped_per_quarter
    }
    return {"funnel_links": funnel, "owner_links": owners, "quarter_links": quarters}


class LeadersPage(Controller):
    path = "/"
    guards = [leader_or_admin]
    include_in_schema = False

    @get("/leaders")
    async def leaders(self, request: Request, ctx: Ctx, period: PeriodParam = "all") -> Template:
        """The page; to an HTMX request aimed at #leaders-body, only that part."""
        try:
            view = await page.leaders_view(ctx, period)
        except Invalid as exc:
            context = self.context(await page.leaders_view(ctx, "all"))
            context["period_error"] = exc.reason
            return render(request, "leaders.html", status_code=422, **context)
        context = self.context(view)
        if is_htmx(request) and request.headers.get("hx-target") == "leaders-body":
            return render(request, "_leaders_body.html", **context)
        return render(request, "leaders.html", **context)

    @staticmethod
    def context(view: page.LeadersView) -> dict:
        name = period_name(view.period)
        m = view.metrics
        return {
            "view": view,
            "board": view.leaderboard,
            "metrics": m,
            "period": view.period,
            "period_name": name,
            "period_error": None,
            "funnel_svg": charts.funnel_chart(m.funnel, name),
            "quarters_svg": charts.quarters_chart(m.shipped_per_quarter),
            "participation_svg": charts.participation_chart(m.participation, name, m.k_anonymity),
            **drill_links(view),
        }


class LeadershipApi(Controller):
    path = "/api/v1"
    guards = [leader_or_admin]
    tags = ["leadership"]

    @get("/leaderboard")
    async def leaderboard(self, ctx: Ctx, period: PeriodParam = "all") -> Leaderboard:
        """Shipped ideas in the period by credited submitters' department
        ("Anonymous" when uncredited; small departments left out or pooled as
        "Other"), by opted-in person, and by owning department."""
        return await board.leaderboard(ctx, period)

    @get("/metrics")
    async def metrics(self, ctx: Ctx, period: PeriodParam = "all") -> Metrics:
        """Funnel of ideas submitted in the period, median days to first
        decision and acceptance to ship, share within the triage SLA,
        participation by department (k-anonymous), shipped per quarter."""
        return await metrics.metrics(ctx, period)

    @get("/export/ideas.csv", media_type="text/csv", response_description="CSV file")
    async def ideas_csv(self, ctx: Ctx, period: PeriodParam = "all") -> Response[str]:
        """Every idea submitted in the period and its dates; no submitter
        identity except the names of credited submitters of shipped ideas."""
        filename = exports.csv_filename("ideas", period)
        return csv_response(await exports.ideas_csv(ctx, period), filename)

    @get("/export/leaderboard.csv", media_type="text/csv", response_description="CSV file")
    async def leaderboard_csv(self, ctx: Ctx, period: PeriodParam = "all") -> Response[str]:
        """The three leaderboards of the period: board, rank, name, shipped."""
        filename = exports.csv_filename("leaderboard", period)
        return csv_response(await exports.leaderboard_csv(ctx, period), filename)


ROUTES: list = [LeadersPage, LeadershipApi]
