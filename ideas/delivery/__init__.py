"""Delivery: the actions an accepted idea needs, shipping it, and credit.

- `actions`: council adds, edits and removes actions; an action's owner (or
  council) moves it todo → doing → done; the first action leaving `todo`
  moves an `accepted` idea to `in_progress`;
- `views`: what each person sees of them (the idea page's actions section,
  My actions, the council's delivery board, the owner picker);
- `proposals`: an action owner proposes shipping, the council ships or asks
  for changes;
- `shipping`: shipping needs at least one action, all done, and a ship
  note; the Shipped feed;
- `credit`: submitters choose credit for themselves; the choice shows (name
  and department, never the title) only once the idea ships.

Every use case takes the unit of work's `Context` first and checks its
permission ("delivery.plan", "delivery.move_action", "delivery.ship", …
in ideas/policy.py) itself.
"""
