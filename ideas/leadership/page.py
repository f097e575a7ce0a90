"""The /leaders page in one call: the leaderboard, the metrics and the
periods to switch between."""

from __future__ import annotations

from dataclasses import dataclass

from ideas import policy
from ideas.context import Context
from ideas.leadership.board import Leaderboard, compute_leaderboard
from ideas.leadership.groups import department_groups
from ideas.leadership.kept import reused
from ideas.leadership.metrics import Metrics, compute_metrics
from ideas.leadership.periods import Period, available_periods, parse_period


@dataclass
class LeadersView:
    """Everything the /leaders page shows, in one call."""

    period: str
    periods: list[str]
    leaderboard: Leaderboard
    metrics: Metrics


async def leaders_view(ctx: Context, period: str | None = "all") -> LeadersView:
    """The /leaders page: both figure sets and the periods to switch between
    (reused for a while: `ideas.leadership.kept`). Leaders and admins only."""
    policy.authorize(ctx.actor, "leaders.view")
    p = parse_period(period)
    return await reused(ctx, "view", p, lambda: _leaders_view(ctx, p))


async def _leaders_view(ctx: Context, p: Period) -> LeadersView:
    groups = await department_groups(ctx.now)
    board = await compute_leaderboard(p, groups)
    periods = await available_periods(ctx.now)
    if board.period not in periods:
        periods = ["all", *sorted([*periods[1:], board.period], reverse=True)]
    return LeadersView(
        period=board.period,
        periods=periods,
        leaderboard=board,
        metrics=await compute_metrics(p, groups, ctx.now),
    )
