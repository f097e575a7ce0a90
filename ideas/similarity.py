"""Similar-idea search: term extraction and ranking, pure Python (stdlib only).

An idea is turned into a small bag of weighted *terms* (:func:`idea_terms`):
lower-cased, accent-folded word stems without stopwords, plus *concept terms*
(``~login``, ``~invoice``...) from a small hand-written CX synonym map, so that
"Locked-out users" finds "Self-service password reset". Title terms weigh more
than body terms. Every term is at most :data:`MAX_TERM_LEN` characters and an
idea keeps at most :data:`MAX_TERMS` terms, so the bag fits an inverted-index
table ``IdeaTerm(idea_id, term Varchar(40), weight)``.

Ranking is a cosine over the bags, each term weighted by an inverse document
frequency (idf) when one is known. Two entry points:

* :func:`rank` takes candidates as raw ``(key, title, text)`` and computes the
  terms itself (idf from the candidate set when none is given);
* :func:`rank_terms` takes candidates as stored ``(key, terms)`` bags plus
  document frequencies over the whole index, which is what the service should
  use with the ``IdeaTerm`` table.

Over a large board, the candidates are not every idea sharing a term with the
draft: :func:`posting_plan` says which posting lists to read and how deep
(the most telling terms first, a bounded number of rows in all), given the
document frequencies the ``TermDocFreq`` table keeps up to date
(:func:`doc_freq_changes` is what one re-indexed idea changes there).

Size: over 400 lines: one algorithm (terms, postings, scoring) kept together,
pure Python and tested without a database.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

__all__ = [
    "ALL_IDEAS",
    "MAX_TERMS",
    "MAX_TERM_LEN",
    "MIN_SCORE",
    "POSTINGS_BUDGET",
    "POSTINGS_PER_TERM",
    "SHORTLIST",
    "doc_freq_changes",
    "idea_terms",
    "idf_weights",
    "posting_plan",
    "query_terms",
    "rank",
    "rank_terms",
    "score",
    "shortlist",
    "stem",
    "tokenize",
]

MAX_TERM_LEN = 40
MAX_TERMS = 40
TITLE_WEIGHT = 2.5
BODY_WEIGHT = 1.0
# Concept terms (from the synonym map) are added next to the words they come
# from; this factor scales them relative to a word in the same place.
CONCEPT_FACTOR = 1.0
# Default cut-off below which a candidate is not reported as similar.
MIN_SCORE = 0.18
# Candidate search over the inverted index (see posting_plan): at most this
# many postings of one term (its heaviest: title occurrences first), at most
# this many in all, and the best-scoring this many candidates get ranked.
POSTINGS_PER_TERM = 1000
POSTINGS_BUDGET = 2000
SHORTLIST = 100
# The document-frequency key that counts the indexed ideas themselves (no
# real term is empty).
ALL_IDEAS = ""

# --------------------------------------------------------------------------- #
# Normalisation
# --------------------------------------------------------------------------- #

STOPWORDS = frozenset(
    """
    a about above after again against all almost already also although always am among an and
    another any anyone anything anyway are aren't around as at away back be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't
    doing don't done down during each either else enough even ever every everyone everything
    few for from further get gets getting go goes going got had hadn't has hasn't have haven't
    having he her here hers herself him himself his how however i if in into is isn't it it's
    its itself just least less let lets like made make makes many may me might more most much
    must my myself need needs neither never no nobody none nor not nothing now of off often on
    once one only onto or other others otherwise our ours ourselves out over own per perhaps
    please quite rather really same several shall she should shouldn't since so some someone
    something sometimes still such than that that's the their theirs them themselves then there
    there's these they they're this those though through thus to too toward towards under until
    up upon us very via was wasn't we we're were weren't what what's when where whether which
    while who whom whose why will with within without won't would wouldn't yet you you're your
    yours yourself yourselves
    two three four five six seven eight nine ten eleven twelve twenty hundred thousand
    e.g i.e etc vs ok okay lot lots way ways thing things instead
    aren can couldn didn doesn don hadn hasn haven isn shouldn wasn weren won wouldn
    """.split()
)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Words glued by a hyphen or written as one word that should be one token.
_JOINS = (
    (re.compile(r"\be-?mails?\b"), "email"),
    (re.compile(r"\bsign[- ]?ups?\b"), "signup"),
    (re.compile(r"\blog[- ]?ins?\b"), "login"),
    (re.compile(r"\bon[- ]?boarding\b"), "onboarding"),
)


def fold(text: str) -> str:
    """Lower-case and strip accents/compatibility forms (``Café`` -> ``cafe``)."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.casefold()


# Light suffix stripping: (suffix, replacement), tried longest first; a rule
# applies only when at least three characters (see _MIN_STEM) remain.
_SUFFIXES = sorted(
    [
        ("ifications", "ifi"),
        ("ification", "ifi"),
        ("ications", "ic"),
        ("ication", "ic"),
        ("izations", "iz"),
        ("ization", "iz"),
        ("isations", "is"),
        ("isation", "is"),
        ("ational", "ate"),
        ("fulness", "ful"),
        ("iveness", "ive"),
        ("ations", "ate"),
        ("ation", "ate"),
        ("ments", ""),
        ("ment", ""),
        ("ness", ""),
        ("ities", ""),
        ("ity", ""),
        ("ings", ""),
        ("ing", ""),
        ("ies", "y"),
        ("ied", "y"),
        ("als", ""),
        ("al", ""),
        ("ers", ""),
        ("er", ""),
        ("ors", "or"),
        ("ed", ""),
        ("es", "e"),
        ("ly", ""),
        ("s", ""),
    ],
    key=lambda pair: -len(pair[0]),
)
# Suffixes that need a longer stem in front of them ("trial", "portal", "order"
# stay whole; "renewal" -> "renew", "customer" -> "custom").
_MIN_STEM = {"al": 5, "als": 5, "er": 4, "ers": 4}
_NO_STEM = frozenset({"news", "sms", "status", "gdpr", "vat", "saas", "sso", "always", "ios"})


def stem(word: str) -> str:
    """A light, Porter-flavoured stemmer: ``invoices``/``invoice`` -> ``invoic``,
    ``renewals``/``renewal`` -> ``renew``, ``locked`` -> ``lock``."""
    if len(word) <= 3 or word in _NO_STEM or not word.isalpha():
        return word
    if word.endswith("ss"):
        return word
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM.get(suffix, 3):
            word = word[: len(word) - len(suffix)] + repl
            break
    # doubled final consonant left by -ed/-ing/-er: "stopped" -> "stopp" -> "stop"
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "aeiouylsz":
        word = word[:-1]
    # final -y/-e: "notify"/"notifies" -> "notifi", "invoice" -> "invoic"
    if len(word) > 3 and word.endswith("y") and word[-2] not in "aeiou":
        word = word[:-1] + "i"
    elif len(word) > 3 and word.endswith("e") and not word.endswith("ee"):
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Folded (unstemmed) word tokens of ``text`` in order, stopwords *included*
    (phrases like "locked out" or "on the way" need them)."""
    text = fold(text)
    for pattern, repl in _JOINS:
        text = pattern.sub(repl, text)
    out = []
    for word in _WORD_RE.findall(text):
        word = word.split("'", 1)[0] if word.endswith(("'s", "'t", "'re", "'ll", "'ve")) else word
        word = word.replace("'", "")
        out.append(word)
    return out


# --------------------------------------------------------------------------- #
# CX synonym map: concept -> phrases that express it
# --------------------------------------------------------------------------- #

SYNONYMS: dict[str, tuple[str, ...]] = {
    "invoice": ("invoice", "bill", "billing", "billed", "statement of account", "receipt"),
    "finance": (
        "finance",
        "accounting",
        "accountant",
        "accounts payable",
        "payables",
        "bookkeeper",
        "bookkeeping",
        "controller",
    ),
    "purchase-order": ("purchase order", "po number", "po", "order reference", "order number"),
    "login": (
        "login",
        "log on",
        "logon",
        "sign in",
        "signin",
        "sign on",
        "password",
        "passwords",
        "locked out",
        "lock out",
        "lockout",
        "unlock",
        "credentials",
        "2fa",
        "mfa",
        "two factor",
        "account recovery",
        "get back into",
        "get back in",
    ),
    "renewal": ("renewal", "renew", "auto renew", "autorenew", "roll over", "rolls over"),
    "reminder": (
        "reminder",
        "remind",
        "advance notice",
        "notice before",
        "heads up",
        "warn",
        "warning",
    ),
    "notify": (
        "notify",
        "notification",
        "push",
        "alert",
        "sms",
        "text message",
        "text customers",
        "let them know",
    ),
    "technician": (
        "technician",
        "field service",
        "field visit",
        "field engineer",
        "service engineer",
        "engineer visit",
        "installer",
        "field tech",
    ),
    "appointment": (
        "appointment",
        "visit",
        "time slot",
        "arrival window",
        "arrival time",
        "booking slot",
    ),
    "eta": (
        "tracking link",
        "live tracking",
        "real time tracking",
        "track the technician",
        "track the van",
        "eta",
        "on the way",
        "on their way",
        "arrival",
        "arrive",
        "where the technician",
    ),
    "onboarding": (
        "onboarding",
        "onboard",
        "welcome",
        "setup",
        "set up",
        "getting started",
        "checklist",
        "go live",
        "kickoff",
        "kick off",
        "new customer",
        "new account",
        "first steps",
        "next step",
    ),
    "agent-training": (
        "new hire",
        "new agent",
        "new support agent",
        "ramp up",
        "ramp-up",
        "shadow",
        "induction",
        "coaching",
        "training",
        "brand new agent",
    ),
    "contract": (
        "contract",
        "agreement",
        "terms and conditions",
        "terms sheet",
        "term sheet",
        "legalese",
        "legal text",
        "clause",
        "t c",
    ),
    "plain-language": (
        "plain language",
        "plain english",
        "simple terms",
        "legalese",
        "jargon",
        "easy to understand",
        "summary",
    ),
    "bank-payment": (
        "direct debit",
        "sepa",
        "bank transfer",
        "bank account",
        "wire transfer",
        "ach",
        "standing order",
    ),
    "card-payment": ("credit card", "card payment", "debit card", "company card", "stored card"),
    "agent": ("agent", "advisor", "support rep", "support staff", "csr"),
    "chat": ("chat", "live chat", "chatbot", "messenger"),
    "ticket": ("ticket", "support request", "support case", "my requests"),
    "refund": ("refund", "reimburse", "money back", "chargeback"),
    "pricing": ("price", "pricing", "price list", "prices", "cost", "how much"),
    "downgrade": (
        "downgrade",
        "seat reduction",
        "reduce seats",
        "reduce licences",
        "reduce licenses",
        "reduce their licences",
        "fewer seats",
        "fewer licences",
        "smaller plan",
        "lower plan",
        "go down",
    ),
    "self-service": (
        "self service",
        "self serve",
        "selfservice",
        "without contacting",
        "by themselves",
    ),
    "small-business": (
        "small business",
        "small businesses",
        "smb",
        "sme",
        "small customer",
        "smaller customer",
        "small client",
        "small company",
        "small shop",
    ),
    "cancel": ("cancel", "cancellation", "churn", "terminate", "termination"),
    "delivery": ("delivery", "shipment", "shipping", "dispatch", "courier", "parcel"),
    "hold-time": ("on hold", "wait time", "waiting time", "queue time", "callback"),
    "mobile-app": ("app", "mobile app", "ios", "android", "in app"),
}


def _compile_synonyms() -> tuple[dict[tuple[str, ...], tuple[str, ...]], int]:
    table: dict[tuple[str, ...], set[str]] = {}
    for concept, phrases in SYNONYMS.items():
        term = ("~" + concept)[:MAX_TERM_LEN]
        for phrase in phrases:
            key = tuple(stem(tok) for tok in tokenize(phrase))
            if key:
                table.setdefault(key, set()).add(term)
    longest = max(len(k) for k in table)
    return {k: tuple(sorted(v)) for k, v in table.items()}, longest


_PHRASES, _MAX_PHRASE = _compile_synonyms()


@lru_cache(maxsize=8192)
def _field_counts(text: str) -> Mapping[str, int]:
    """Term frequencies of one field: word stems (no stopwords) + concept terms.

    A single word listed in the synonym map is replaced by its concept term
    ("bill" and "invoices" both become ``~invoice``); a multi-word phrase adds
    its concept term next to its words ("locked out" -> ``lock`` + ``~login``).
    """
    raw = tokenize(text)
    stems = [stem(tok) for tok in raw]
    counts: Counter[str] = Counter()
    replaced: set[int] = set()
    for i in range(len(stems)):
        for n in range(1, min(_MAX_PHRASE, len(stems) - i) + 1):
            hit = _PHRASES.get(tuple(stems[i : i + n]))
            if hit:
                counts.update(hit)
                if n == 1:
                    replaced.add(i)
    for i, (tok, st) in enumerate(zip(raw, stems, strict=True)):
        if i in replaced or tok in STOPWORDS or st in STOPWORDS or tok.isdigit() or len(st) < 2:
            continue
        counts[st[:MAX_TERM_LEN]] += 1
    return MappingProxyType(dict(counts))


def _tf(n: int) -> float:
    return 1.0 + math.log(n) if n > 0 else 0.0


def idea_terms(title: str, text: str = "", max_terms: int = MAX_TERMS) -> dict[str, float]:
    """The indexed terms of an idea with their weights.

    Title terms weigh :data:`TITLE_WEIGHT`, body terms :data:`BODY_WEIGHT`
    (sub-linear in their frequency); concept terms start with ``~``. At most
    ``max_terms`` terms are kept (the heaviest, longer/more specific first on
    ties); every term is at most :data:`MAX_TERM_LEN` characters.
    """
    weights: dict[str, float] = {}
    for field, fw in ((title or "", TITLE_WEIGHT), (text or "", BODY_WEIGHT)):
        for term, n in _field_counts(field).items():
            w = fw * _tf(n) * (CONCEPT_FACTOR if term.startswith("~") else 1.0)
            weights[term] = weights.get(term, 0.0) + w
    if len(weights) > max_terms:
        ordered = sorted(weights.items(), key=lambda kv: (-kv[1], -len(kv[0]), kv[0]))
        weights = dict(ordered[:max_terms])
    return {t: round(w, 4) for t, w in weights.items()}


def query_terms(title: str, text: str = "") -> dict[str, float]:
    """Terms of a draft used as a query (same as :func:`idea_terms`)."""
    return idea_terms(title, text)


# --------------------------------------------------------------------------- #
# Scoring
# --------------------------------------------------------------------------- #


def idf_weights(doc_freq: Mapping[str, int], total_docs: int) -> dict[str, float]:
    """Smoothed idf ``log((N + 1) / (df + 1)) + 1`` for the given terms
    (always > 0, so a term in every document still counts a little)."""
    n = max(int(total_docs), 0)
    return {t: math.log((n + 1) / (min(df, n) + 1)) + 1.0 for t, df in doc_freq.items()}


def score(
    query: Mapping[str, float],
    candidate: Mapping[str, float],
    idf: Mapping[str, float] | None = None,
) -> float:
    """Cosine similarity in [0, 1] of two term bags, each term weighted by
    ``idf[term]`` when ``idf`` is given (terms missing from ``idf`` get the
    largest idf present, i.e. they count as rare)."""
    if not query or not candidate:
        return 0.0
    if idf is None:
        q = {t: w for t, w in query.items() if w > 0}
        c = {t: w for t, w in candidate.items() if w > 0}
    else:
        default = 0.0
        if any(t not in idf for t in query) or any(t not in idf for t in candidate):
            default = max(idf.values(), default=1.0)
        q = {t: w * idf.get(t, default) for t, w in query.items() if w > 0}
        c = {t: w * idf.get(t, default) for t, w in candidate.items() if w > 0}
    if len(q) > len(c):
        q, c = c, q
    dot = sum(w * c[t] for t, w in q.items() if t in c)
    if dot <= 0:
        return 0.0
    nq = math.sqrt(sum(w * w for w in q.values()))
    nc = math.sqrt(sum(w * w for w in c.values()))
    return max(0.0, min(1.0, dot / (nq * nc)))


def rank_terms(
    query: Mapping[str, float],
    candidates: Iterable[tuple[K, Mapping[str, float]]],
    doc_freq: Mapping[str, int] | None = None,
    total_docs: int | None = None,
    limit: int = 5,
    min_score: float = MIN_SCORE,
) -> list[tuple[K, float]]:
    """Rank candidates given as stored term bags, best first.

    ``doc_freq`` maps terms to the number of indexed ideas containing them and
    ``total_docs`` is the number of indexed ideas. Pass both, ideally covering
    every term of the query *and* of the candidates (a query term missing from
    ``doc_freq`` counts as unseen, a candidate term as seen in two ideas).
    Without them, document frequencies come from ``candidates`` themselves:
    fine when the candidates are the whole collection, weaker when they are a
    pre-filtered subset. Candidates scoring below ``min_score`` are dropped;
    a key seen twice is scored once.
    """
    if not query or limit <= 0:
        return []
    cands: dict[K, Mapping[str, float]] = {}
    for key, terms in candidates:
        if terms and key not in cands:
            cands[key] = terms
    if not cands:
        return []
    if doc_freq is None or total_docs is None:
        counts: Counter[str] = Counter(query.keys())  # the query counts as a document
        for terms in cands.values():
            counts.update(terms.keys())
        n_docs = len(cands) + 1
        df: Mapping[str, int] = counts
    else:
        n_docs = max(int(total_docs), 1)
        df = doc_freq
    q_idf = idf_weights({t: int(df.get(t, 0)) for t in query}, n_docs)
    # Candidate terms outside the query only matter through the norm; when
    # their frequency is unknown, treat them as seen in two ideas.
    fallback = math.log((n_docs + 1) / 3) + 1.0
    scored = []
    for key, terms in cands.items():
        idf = {t: idf_of(t, df, n_docs, fallback) for t in terms if t not in q_idf}
        idf.update(q_idf)
        s = score(query, terms, idf)
        if s >= min_score:
            scored.append((key, round(s, 4)))
    scored.sort(key=lambda ks: -ks[1])
    return scored[:limit]


def posting_plan(
    query: Mapping[str, float],
    doc_freq: Mapping[str, int],
    total_docs: int,
    per_term: int | None = None,
    budget: int | None = None,
) -> list[tuple[str, int, float]]:
    """Which posting lists to read to find a draft's candidates, as
    ``(term, rows, factor)``: read the ``rows`` heaviest postings of ``term``
    and add ``min(weight, query weight) * factor`` to the pre-score of each
    idea found (capped, so that a term repeated all over a long text does not
    outweigh the terms the draft shares; :func:`shortlist` is the reference).

    The most telling query terms come first (query weight x idf, so the rarest
    at equal weight); a term reads at most ``per_term`` rows and all of them
    together at most ``budget``, whatever the size of the board. A common term
    read only in part, or not at all, still counts in the final score
    (:func:`rank_terms`) of every candidate found through the others. Terms
    that no idea holds are left out. ``factor`` is the term's share of the
    idf-weighted dot product: query weight x idf².
    """
    per_term = POSTINGS_PER_TERM if per_term is None else per_term
    budget = POSTINGS_BUDGET if budget is None else budget
    held = {t: int(doc_freq.get(t, 0)) for t, w in query.items() if w > 0}
    held = {t: n for t, n in held.items() if n > 0}
    idf = idf_weights(held, max(int(total_docs), max(held.values(), default=0)))
    order = sorted(held, key=lambda t: (-query[t] * idf[t], held[t], t))
    plan = []
    left = budget
    for term in order:
        rows = min(held[term], per_term, left)
        if rows <= 0:
            break
        plan.append((term, rows, query[term] * idf[term] ** 2))
        left -= rows
    return plan


def shortlist(
    query: Mapping[str, float],
    plan: Iterable[tuple[str, int, float]],
    postings: Mapping[str, Iterable[tuple[K, float]]],
    limit: int | None = None,
) -> list[K]:
    """The candidates a :func:`posting_plan` finds, best pre-score first, at
    most ``limit`` (default :data:`SHORTLIST`): what the service computes in
    SQL, here over ``postings`` (term -> ``(key, weight)`` pairs) for the
    quality bench and the tests. Heaviest postings first, the highest key
    (the newest idea) first on ties."""
    limit = SHORTLIST if limit is None else limit
    scores: dict[K, float] = {}
    for term, rows, factor in plan:
        heaviest = sorted(postings.get(term, ()), key=lambda kw: (kw[1], kw[0]), reverse=True)
        for key, weight in heaviest[:rows]:
            scores[key] = scores.get(key, 0.0) + min(weight, query[term]) * factor
    return sorted(scores, key=lambda k: (-scores[k], k))[:limit]


def doc_freq_changes(old: Iterable[str], new: Iterable[str]) -> dict[str, int]:
    """How re-indexing one idea from the terms ``old`` to ``new`` changes the
    document frequencies: +1 per term gained, -1 per term lost, and the count
    of indexed ideas (:data:`ALL_IDEAS`) when the idea starts or stops having
    terms at all."""
    old, new = set(old), set(new)
    changes = {t: 1 for t in new - old}
    changes.update({t: -1 for t in old - new})
    if bool(old) != bool(new):
        changes[ALL_IDEAS] = 1 if new else -1
    return changes


def idf_of(term: str, doc_freq: Mapping[str, int], total_docs: int, fallback: float) -> float:
    """Smoothed idf of one term, ``fallback`` when ``doc_freq`` lacks it."""
    n = doc_freq.get(term)
    if n is None:
        return fallback
    return math.log((total_docs + 1) / (min(int(n), total_docs) + 1)) + 1.0


def rank(
    query_title: str,
    query_text: str,
    candidates: Iterable[tuple[K, str, str]],
    limit: int = 5,
    min_score: float = MIN_SCORE,
    doc_freq: Mapping[str, int] | None = None,
    total_docs: int | None = None,
) -> list[tuple[K, float]]:
    """Rank ``(key, title, text)`` candidates against a draft, best first.

    Returns at most ``limit`` ``(key, score)`` pairs scoring at least
    ``min_score``; an empty or stopword-only title gives ``[]``.
    """
    if not (query_title or "").strip():
        return []
    query = query_terms(query_title, query_text or "")
    if not query:
        return []
    bags = [(key, idea_terms(title or "", text or "")) for key, title, text in candidates]
    return rank_terms(query, bags, doc_freq, total_docs, limit=limit, min_score=min_score)
