"""Rules for text that people type (issue 13, items 12 and 14).

- Bidirectional controls (embeddings, overrides, isolates: U+202A–U+202E,
  U+2066–U+2069) are refused in every text: they reorder what a reader sees
  ("Trojan Source"), so a title or a name could display as something else.
  The app refuses them in every request before any handler (web/app.py);
  `check` refuses them where text arrives otherwise (CSV import, the
  command line).
- Lengths count visible characters: format characters (Unicode category Cf:
  zero-width spaces and joiners, marks, soft hyphens) and whitespace do not
  count, so a title made of eight zero-width spaces is too short.
- A person's display name may not imitate a role label ("Submitter", "CX
  council", …): compared case-insensitively, with spaces, punctuation, format
  characters and look-alike letters folded away (`looks_like_role_label`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from pydantic import ValidationInfo

from ideas.errors import Invalid

#: embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069)
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
BIDI_PATTERN = re.compile("[\u202a-\u202e\u2066-\u2069]")

#: labels that stand for a role wherever people's names are shown
ROLE_LABELS = (
    "Submitter",
    "Co-submitter",
    "CX council",
    "Council",
    "System",
    "Admin",
    "Action owner",
)


def has_bidi_controls(value: str) -> bool:
    return BIDI_PATTERN.search(value or "") is not None


def visible_length(value: str) -> int:
    """Characters a reader sees: neither whitespace nor format characters."""
    return sum(
        1 for ch in value or "" if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc")
    )


def problem(value: str, low: int = 0, high: int | None = None) -> str:
    """Why `value` (already stripped) is not acceptable text, or ""."""
    if has_bidi_controls(value):
        return "must not contain bidirectional control characters (U+202A–U+202E, U+2066–U+2069)"
    if visible_length(value) < low:
        return f"must have at least {low} visible characters"
    if high is not None and len(value) > high:
        return f"must be at most {high} characters"
    return ""


def check(value: str, field: str, low: int = 0, high: int | None = None) -> str:
    """`value` stripped, or Invalid naming `field` (see `problem`)."""
    value = (value or "").strip()
    reason = problem(value, low, high)
    if reason:
        raise Invalid(field, reason)
    return value


def visible(low: int) -> Callable[[str, ValidationInfo], str]:
    """A Pydantic AfterValidator: no bidi controls, at least `low` visible
    characters. It raises `Invalid` (422 naming the field), not a ValueError
    (400, malformed): the text is well-formed, the rule is the product's."""

    def validate(value: str, info: ValidationInfo) -> str:
        reason = problem(value, low)
        if reason:
            raise Invalid(info.field_name or "text", reason)
        return value

    return validate


#: letters other scripts draw like Latin ones (Cyrillic, Greek), and digits
#: drawn like letters: folded to the Latin letter before comparing
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "с": "c", "е": "e", "о": "o", "р": "p", "х": "x", "у": "y", "і": "i",
        "ѕ": "s", "ј": "j", "к": "k", "м": "m", "н": "h", "т": "t", "в": "b", "ԁ": "d",
        "ո": "n", "ս": "u", "ɡ": "g", "ı": "i", "ℓ": "l",
        "α": "a", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "ν": "v", "κ": "k", "ι": "i",
        "ε": "e", "μ": "u", "χ": "x",
        "0": "o", "1": "l", "3": "e", "5": "s", "$": "s", "|": "l", "!": "i",
    }
)  # fmt: skip


def _skeleton(value: str) -> str:
    """A rough visual skeleton: compatibility-normalised (fullwidth, styled
    letters), accents dropped, case folded, look-alikes folded, then only
    letters kept, with "rn" read as "m" and "i" as "l"."""
    text = unicodedata.normalize("NFKD", value or "")
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Cf"))
    text = text.casefold().translate(_CONFUSABLES)
    text = "".join(ch for ch in text if ch.isalpha())
    return text.replace("rn", "m").replace("i", "l")


_ROLE_SKELETONS = frozenset(_skeleton(label) for label in ROLE_LABELS)


def looks_like_role_label(name: str) -> bool:
    """True when a display name reads like a role label (see the module doc)."""
    skeleton = _skeleton(name)
    return bool(skeleton) and skeleton in _ROLE_SKELETONS


def check_person_name(value: str, field: str = "name", high: int = 120) -> str:
    """A person's display name: `check`, and not a role label."""
    value = check(value, field, 1, high)
    if looks_like_role_label(value):
        raise Invalid(field, "is a role label and cannot be a person's name")
    return value


def person_name(value: str, info: ValidationInfo) -> str:
    """A Pydantic AfterValidator for display names (see `check_person_name`)."""
    return check_person_name(value, info.field_name or "name")
