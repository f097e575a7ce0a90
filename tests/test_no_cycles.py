"""The hot pages leave no reference cycles behind: a request whose objects
form a cycle is freed only by the cyclic collector, whose full passes
stopped a web worker for 10-30 ms at a time under the bench's load (the
board's p99). The cycle was a macro defined in base.html: the page's context
held the macro, the macro's closure held the context, and with it every
idea, row and the request of the page."""

from __future__ import annotations

import gc

import pytest

from tests.factories import submit
from tests.notify_helpers import vote

#: objects that must never wait for the cyclic collector after a page
WATCHED = ("jinja2.runtime", "litestar.connection", "ideas.")


def left_in_cycles() -> list[str]:
    gc.collect()
    return sorted(
        {
            f"{type(o).__module__}.{type(o).__qualname__}"
            for o in gc.garbage
            if type(o).__module__.startswith(WATCHED)
        }
    )


@pytest.mark.parametrize(
    "path", ["/", "/?sort=new", "/ideas/{id}", "/me/ideas", "/roadmap", "/triage", "/ideas/new"]
)
async def test_a_page_leaves_no_cycle_for_the_collector(personas, path):
    alice = await personas.get("alice_support")
    bob = await personas.get("bob_finance_council")
    idea_id = await submit(alice)
    await vote(bob, idea_id)
    browser = await bob.browser()
    target = path.format(id=idea_id)
    for _ in range(2):  # warm: templates compiled, caches filled
        assert (await browser.get(target)).status_code == 200
    flags = gc.get_debug()
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.garbage.clear()
        for _ in range(3):
            assert (await browser.get(target)).status_code == 200
        assert left_in_cycles() == []
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()
