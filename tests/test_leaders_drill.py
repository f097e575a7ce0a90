"""Leaders drill down from a figure to its ideas (issue 17, item 14): the
funnel counts, shipped per quarter and shipped per owning department link to
the board filtered to those ideas; nothing links by submitter or by the
submitter's department (the blind promise), nor for a pooled "Other"."""

from __future__ import annotations

import html
import re

from ideas import clock
from ideas.leadership.periods import quarter_label, quarter_of
from ideas.org_settings import set_setting
from tests.test_delivery import accepted, ship_it
from tests.test_pages import titles_in


def links_in(page: str, table_id: str) -> list[str]:
    table = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', table)]


async def test_each_count_links_to_the_ideas_it_counts(personas):
    await set_setting("k_anonymity", 3)  # the floor: 1 and 2 are refused (K_FLOOR)
    alice, bob, erin, first = await accepted(personas)
    await ship_it(bob, erin, first)
    carol = await personas.get("carol_leader")
    web = await carol.browser()
    period = quarter_label(*quarter_of(clock.now()))
    page = (await web.get("/leaders", params={"period": period})).text

    owner_links = links_in(page, "board-owner")
    assert owner_links == [f"/?status=shipped&owner=Finance&shipped={period}"]
    board = (await web.get(owner_links[0])).text
    assert len(titles_in(board)) == 1 and 'data-testid="drill"' in board
    assert "owned by Finance" in board
    # blind: no link from the submitter's department or a credited person
    assert links_in(page, "board-department") == []
    assert links_in(page, "board-person") == []

    funnel = re.search(r'data-testid="funnel-links">(.*?)</p>', page, re.S).group(1)
    hrefs = dict(
        (label, html.unescape(h))
        for h, label in re.findall(r'<a href="([^"]+)">(\w+) \(\d+\)</a>', funnel)
    )
    assert hrefs["Shipped"] == f"/?status=shipped&submitted={period}"
    assert len(titles_in((await web.get(hrefs["Shipped"])).text)) == 1
    assert len(titles_in((await web.get(hrefs["Accepted"])).text)) == 1
    assert len(titles_in((await web.get(hrefs["Submitted"])).text)) == 1
    quarters = links_in(page, "table-quarters")
    assert f"/?status=shipped&shipped={period}" in quarters
    bad = await web.get("/?shipped=last-year")
    assert bad.status_code == 200 and "period" in bad.text
