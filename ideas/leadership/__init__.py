"""Leadership figures: the shipped-ideas leaderboard, the funnel and its speed,
participation, and the CSV exports. One module a job:

- `periods`: "all" or a calendar quarter, and which quarters are closed;
- `groups`: k-anonymity, which departments a breakdown may show;
- `counting`: the SQL the figures share (partial-index conditions, the first
  decision, medians); the dialect differences are in `ideas.sql`;
- `board`: the leaderboard; `metrics`: the funnel, SLA, participation,
  shipped per quarter; `page`: the /leaders page in one call, and the
  answers kept for a while; `exports`: the CSV files.

Every use case takes the unit of work's `Context` first and checks
"leaders.view" (ideas/policy.py) itself.

Promises that hold for every figure:

- Never an uncredited submitter: a person is named only for the shipped ideas
  on which they opted in to credit; everything else about submitters is an
  aggregate.
- k-anonymity: any figure about people broken down by their department
  leaves out departments with fewer than `k_anonymity` active people (never
  under `groups.K_FLOOR`, whatever an admin or the environment sets), and
  those whose figure would rest mostly on people who never took part or were
  just moved in (`groups.department_groups`). Such small departments are
  pooled as "Other" only when the pool itself passes the same test;
  otherwise they are left out, unnamed.
- Participation (who submitted or voted) is published for closed quarters
  only, counted from the participation ledger under the department each
  person belonged to when they acted: nothing anyone does today changes a
  figure anyone can read, so two snapshots around one vote or one idea are
  identical (docs/threat-model.md, channel 1).
- The owning department is the team that delivers an idea, not an attribute
  of its submitter: it is shown by name everywhere (idea page, Shipped, API,
  ideas CSV, leaderboard), small or not, and counted in full in the owning
  department ranking (`policy.owning_department_shown`).

Periods: "all", or a calendar quarter "YYYY-Qn" (UTC). The leaderboard and
the time to ship count ideas *shipped* in the period; the funnel, the time to
decision, the SLA share and participation count ideas *submitted* (and votes
cast) in the period.
"""
