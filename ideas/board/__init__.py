"""The board: what staff do with ideas before the council takes them up.

- `submit`: a new idea (`submit_idea`);
- `listing`: the board's list, filters, text search, sorts and cursors;
- `view`: one idea as its reader sees it (its row, its JSON, its timeline);
- `similar`: likely duplicates of a draft, and the similar-search index;
- `vote`: votes and their retraction, one SQL statement each on PostgreSQL;
- `ids`: random ids for new rows and ids parsed from requests.

Use cases take a `Context` first (`ideas.context`) and check their own
permission (`ideas.policy`).
"""
