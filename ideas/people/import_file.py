"""Reading a people CSV: the file's text, its header and its rows as
written, before any rule is checked (`ideas.people.imports` plans them).

The file has a header naming the columns `email, name, title, department,
roles` (`title` and `roles` may be absent); roles are separated by `;`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from ideas.errors import Invalid

COLUMNS = ("email", "name", "title", "department", "roles")
REQUIRED_COLUMNS = ("email", "name", "department")
MAX_ROWS = 10_000


@dataclass(frozen=True)
class Row:
    """One data row of the file as written (trimmed), before any checking."""

    #: line number in the file, the header being line 1
    line: int
    email: str
    name: str
    title: str = ""
    department: str = ""
    roles: tuple[str, ...] = ()
    #: a problem found while reading (e.g. more values than columns)
    problem: str = ""


def decode_upload(raw: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without a byte-order mark)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("file", "must be UTF-8 text (save the sheet as 'CSV UTF-8')") from None
    if "\x00" in text:  # no text column can hold it (PostgreSQL refuses U+0000)
        raise Invalid("file", "holds NUL characters: save the sheet as 'CSV UTF-8'")
    return text


def parse_people_csv(text: str) -> list[Row]:
    """The rows of a people CSV. A file without a usable header, with no
    rows, or with more than MAX_ROWS rows is refused as a whole (422 on
    `file`); problems with single rows are left for `plan_import`."""
    text = text.removeprefix("\ufeff")
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[Row] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip().lower() for c in cells]
                missing = [c for c in REQUIRED_COLUMNS if c not in header]
                if missing:
                    raise Invalid(
                        "file",
                        "the first line must name the columns "
                        f"{', '.join(COLUMNS)}; missing: {', '.join(missing)}",
                    )
                continue
            if len(rows) >= MAX_ROWS:
                raise Invalid("file", f"has more than {MAX_ROWS} rows; split it")
            rows.append(_row(reader.line_num, header, cells))
    except csv.Error as exc:
        raise Invalid("file", f"is not readable CSV (line {reader.line_num}: {exc})") from None
    if header is None:
        raise Invalid("file", "is empty")
    if not rows:
        raise Invalid("file", "has a header but no rows")
    return rows


def _delimiter(text: str) -> str:
    """`,` unless the header line is clearly separated by `;` or tabs (as some
    spreadsheets save it). Judged on the header only: `;` also separates roles."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _row(line: int, header: list[str], cells: list[str]) -> Row:
    values = {name: "" for name in COLUMNS}
    for name, cell in zip(header, cells, strict=False):
        if name in values and not values[name]:
            values[name] = cell.strip()
    extra = [c for c in cells[len(header) :] if c.strip()]
    roles = tuple(r.strip().lower() for r in values["roles"].split(";") if r.strip())
    return Row(
        line=line,
        email=values["email"],
        name=values["name"],
        title=values["title"],
        department=values["department"],
        roles=roles,
        problem=f"has {len(cells)} values but the header names {len(header)}" if extra else "",
    )
