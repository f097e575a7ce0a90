"""The leak crawler: walks everything a person can reach and reports any
answer that names a submitter where the blind promise says it must not.

It is reusable by every area: new pages are crawled as soon as a link (or an
`hx-get`) reaches them, and new API routes as soon as they appear in
`/schema/openapi.json`.

What it visits, as one logged-in person:

- HTML: from a start page, every same-origin `href` and `hx-get` (GET only;
  `/logout` and `/static/` skipped), the variants of each GET form (each
  option of each `<select>`, each probe text in each text input), and each
  `hx-get` input with the probe texts. `hx-get` targets are fetched as HTMX
  does (`HX-Request: true`, `HX-Target`).
- API: every GET route of the OpenAPI document, with its path parameters
  substituted by real ids (given per parameter name, else ids harvested from
  earlier JSON answers), each enum value of its query parameters, and the
  probe texts for free-text query parameters.

What it checks in every answer (status line aside: body and headers), case-
insensitively, after decoding HTML entities and URL escapes — the promise
of docs/product.md ("directories of people name people but carry no idea, and
nothing that carries an idea names its submitter"):

- A submitter's **name, email, job title and user id** appear nowhere, with
  two declared exceptions for directories (lists that name everyone alike
  and link no one to an idea): answers under `directory_paths` (e.g. the
  admin's people list, the owner picker), which must then carry no idea
  themselves, and elements marked `data-directory` inside a page (e.g. a
  session's attendee list, a department picker). Mark a picker of people
  or departments on a page that shows ideas with `data-directory`, and add
  a directory page's path to DIRECTORY_PATHS — nothing else.
- A submitter's **department name** may appear only in answers that carry
  no idea (department lists, people directories, aggregate figures), or
  inside `data-directory` elements.

An answer "carries an idea" when its URL names one of the given ideas
(`/ideas/<id>…`), its text holds one of their titles, it links to one of
them, or (JSON) it names one by `idea_id`.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urljoin, urlsplit, urlunsplit

import httpx

#: paths whose answers are directories of people (they name people and must
#: carry no idea); areas add theirs here when they add one
DIRECTORY_PATHS: tuple[str, ...] = (
    "/admin/people",  # the admin's people list and a person's page
    "/fragments/people",  # the action owner picker's search answers
    "/admin/audit",  # admin actions on people and settings (a reveal names no one)
)

SKIP_PREFIXES = ("/logout", "/static/", "/schema")

VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
TEXT_INPUT_TYPES = frozenset({"", "text", "search"})


@dataclass(frozen=True)
class Identity:
    """One submitter whose link to their ideas must stay hidden."""

    label: str
    name: str
    email: str
    title: str
    user_id: str
    department: str

    @property
    def strict(self) -> list[tuple[str, str]]:
        return [
            ("name", self.name),
            ("email", self.email),
            ("title", self.title),
            ("user id", self.user_id),
        ]


@dataclass
class Finding:
    viewer: str
    url: str
    identity: str
    what: str
    value: str
    excerpt: str

    def __str__(self) -> str:
        return (
            f"[{self.viewer}] {self.url}: {self.identity}'s {self.what} {self.value!r} "
            f"appears: …{self.excerpt}…"
        )


@dataclass
class Visit:
    url: str
    status: int
    kind: str  # "page", "fragment", "api"
    carries_idea: bool


@dataclass
class _Form:
    action: str
    hx_get: str | None
    fields: list[dict[str, Any]] = field(default_factory=list)


class _PageParser(HTMLParser):
    """Links, hx-gets, GET forms, and the page's text split into "checked"
    (everything: text, attribute values, comments) and "directory" (inside
    `data-directory` elements)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.hx: list[tuple[str, str | None, dict[str, str]]] = []  # url, target id, attrs
        self.forms: list[_Form] = []
        self.checked: list[str] = []
        self.directory: list[str] = []
        self._dir_tag: str | None = None
        self._dir_depth = 0
        self._form: _Form | None = None
        self._select: dict[str, Any] | None = None

    def _sink(self) -> list[str]:
        return self.directory if self._dir_tag else self.checked

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: (v or "") for k, v in attrs_list}
        if self._dir_tag:
            if tag == self._dir_tag and tag not in VOID_TAGS:
                self._dir_depth += 1
        elif "data-directory" in attrs and tag not in VOID_TAGS:
            self._dir_tag, self._dir_depth = tag, 1
        sink = self._sink()
        sink.extend(v for v in attrs.values() if v)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if attrs.get("hx-get"):
            self.hx.append((attrs["hx-get"], attrs.get("id"), attrs | {"_tag": tag}))
        if tag == "form":
            method = attrs.get("method", "get").lower()
            posts = any(k in attrs for k in ("hx-post", "hx-put", "hx-patch", "hx-delete"))
            if method == "get" and not posts:
                self._form = _Form(action=attrs.get("action", ""), hx_get=attrs.get("hx-get"))
                self.forms.append(self._form)
            else:
                self._form = None
        elif self._form is not None and tag in ("input", "select", "textarea"):
            entry = {
                "tag": tag,
                "type": attrs.get("type", "").lower(),
                "name": attrs.get("name", ""),
                "value": attrs.get("value", ""),
                "options": [],
            }
            if entry["name"]:
                self._form.fields.append(entry)
            if tag == "select":
                self._select = entry
        elif tag == "option" and self._select is not None:
            self._select["options"].append(attrs.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        if tag == "select":
            self._select = None
        if self._dir_tag and tag == self._dir_tag:
            self._dir_depth -= 1
            if self._dir_depth == 0:
                self._dir_tag = None

    def handle_data(self, data: str) -> None:
        self._sink().append(data)

    def handle_comment(self, data: str) -> None:
        self._sink().append(data)


def _norm(text: str) -> str:
    return (text + "\n" + unquote(text)).lower()


def _excerpt(text: str, needle: str, width: int = 60) -> str:
    low = text.lower()
    at = low.find(needle.lower())
    if at < 0:
        return ""
    return " ".join(text[max(0, at - width) : at + len(needle) + width].split())


class LeakCrawler:
    """Crawl as several viewers; collect findings, visits and failures."""

    def __init__(
        self,
        identities: Iterable[Identity],
        *,
        idea_ids: Iterable[str],
        idea_titles: Iterable[str],
        probes: Iterable[str] = (),
        directory_paths: Iterable[str] = DIRECTORY_PATHS,
        base_url: str = "http://testserver",
        max_requests: int = 4000,
        max_per_path: int = 40,
    ) -> None:
        self.identities = list(identities)
        self.idea_ids = {str(i) for i in idea_ids}
        self.idea_titles = [t.lower() for t in idea_titles]
        self.probes = list(probes)
        self.directory_paths = tuple(directory_paths)
        self.origin = urlsplit(base_url).netloc
        self.base_url = base_url
        self.max_requests = max_requests
        self.max_per_path = max_per_path
        self.findings: list[Finding] = []
        self.visits: list[Visit] = []
        self.failures: list[str] = []
        #: OpenAPI GET route → statuses seen (for "was it really called?")
        self.route_statuses: dict[str, set[int]] = defaultdict(set)
        self.harvested: dict[str, set[str]] = defaultdict(set)

    # -- checking -------------------------------------------------------------------------

    def _idea_in_url(self, url: str) -> bool:
        return any(m in self.idea_ids for m in re.findall(r"/ideas/(\d+)", urlsplit(url).path))

    def _carries_idea(self, url: str, text: str, links: Iterable[str] = ()) -> bool:
        if self._idea_in_url(url):
            return True
        low = text.lower()
        if any(t in low for t in self.idea_titles):
            return True
        for link in links:
            if self._idea_in_url(link):
                return True
        for found in re.findall(r'"idea_id"\s*:\s*"?(\d+)', text):
            if found in self.idea_ids:
                return True
        return False

    def _is_directory(self, url: str) -> bool:
        path = urlsplit(url).path
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.directory_paths)

    def check(
        self,
        viewer: str,
        url: str,
        kind: str,
        response: httpx.Response,
    ) -> tuple[bool, _PageParser | None]:
        """Check one answer; returns (carries an idea, the parsed page or None)."""
        body = response.text
        headers = "\n".join(
            f"{k}: {v}" for k, v in response.headers.items() if k.lower() != "set-cookie"
        )
        parser = None
        if "html" in response.headers.get("content-type", ""):
            parser = _PageParser()
            parser.feed(body)
            parser.close()
            checked = html.unescape("\n".join(parser.checked))
            links = parser.links + [h[0] for h in parser.hx]
        else:
            checked = body
            links = []
        carries = self._carries_idea(url, html.unescape(body), links)
        directory = self._is_directory(url)
        haystack = _norm(checked + "\n" + headers)
        for ident in self.identities:
            for what, value in ident.strict:
                if value and value.lower() in haystack and not (directory and not carries):
                    self._found(viewer, url, ident, what, value, checked + headers)
            if ident.department and ident.department.lower() in haystack and carries:
                self._found(viewer, url, ident, "department", ident.department, checked)
        if directory and carries:
            self.failures.append(f"[{viewer}] {url}: a directory of people carries an idea")
        self.visits.append(Visit(url, response.status_code, kind, carries))
        if response.status_code >= 500:
            self.failures.append(f"[{viewer}] {url}: HTTP {response.status_code}")
        return carries, parser

    def _found(self, viewer: str, url: str, ident: Identity, what: str, value: str, text: str):
        self.findings.append(
            Finding(viewer, url, ident.label, what, value, _excerpt(html.unescape(text), value))
        )

    # -- HTML ---------------------------------------------------------------------------------

    def _same_origin(self, base: str, href: str) -> str | None:
        href = href.strip()
        if not href or href.startswith(("#", "mailto:", "javascript:", "tel:", "data:")):
            return None
        absolute = urljoin(base, href)
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or parts.netloc != self.origin:
            return None
        if any(parts.path.startswith(p) for p in SKIP_PREFIXES):
            return None
        return urlunsplit(("", "", parts.path or "/", parts.query, ""))

    def _form_variants(self, base: str, form: _Form) -> list[str]:
        action = form.hx_get or form.action or urlsplit(base).path
        target = self._same_origin(self.base_url + urlsplit(base).path, action)
        if target is None:
            return []
        fixed = {f["name"]: f["value"] for f in form.fields if f["type"] == "hidden" and f["name"]}
        variants: list[dict[str, str]] = [dict(fixed)]
        for f in form.fields:
            if f["tag"] == "select":
                variants += [fixed | {f["name"]: o} for o in f["options"] if o]
            elif (f["tag"] == "textarea") or (
                f["tag"] == "input" and f["type"] in TEXT_INPUT_TYPES
            ):
                variants += [fixed | {f["name"]: p} for p in self.probes]
        urls = []
        for params in variants:
            path, _, query = target.partition("?")
            merged = dict(parse_qsl(query)) | params
            urls.append(path + ("?" + urlencode(merged) if merged else ""))
        return urls

    def _hx_variants(self, url: str, attrs: dict[str, str]) -> list[str]:
        urls = [url]
        name = attrs.get("name")
        if name and attrs.get("_tag") in ("input", "textarea"):
            joiner = "&" if "?" in url else "?"
            urls += [f"{url}{joiner}{urlencode({name: p})}" for p in self.probes]
        return urls

    async def crawl_html(self, viewer: str, client: httpx.AsyncClient, start: str = "/") -> None:
        """Breadth-first over pages and fragments reachable from `start`."""
        queue: list[tuple[str, bool, str | None]] = [(start, False, None)]
        seen: set[tuple[str, bool]] = set()
        per_path: dict[str, int] = defaultdict(int)
        while queue and len(seen) < self.max_requests:
            url, hx, target = queue.pop(0)
            if (url, hx) in seen:
                continue
            path = urlsplit(url).path
            if per_path[path] >= self.max_per_path:
                continue
            seen.add((url, hx))
            per_path[path] += 1
            headers = {"HX-Request": "true"} if hx else {}
            if hx and target:
                headers["HX-Target"] = target
            response = await client.get(url, headers=headers)
            if response.is_redirect:
                location = self._same_origin(self.base_url + url, response.headers["location"])
                self.visits.append(Visit(url, response.status_code, "redirect", False))
                if location and not location.startswith("/login"):
                    queue.append((location, hx, target))
                continue
            kind = "fragment" if hx else ("api" if path.startswith("/api/") else "page")
            _carries, parser = self.check(viewer, url, kind, response)
            if parser is None:
                continue
            here = self.base_url + url
            for href in parser.links:
                found = self._same_origin(here, href)
                if found:
                    queue.append((found, False, None))
            for hx_url, hx_target, attrs in parser.hx:
                found = self._same_origin(here, hx_url)
                if found:
                    for variant in self._hx_variants(found, attrs):
                        queue.append((variant, True, hx_target))
            for form in parser.forms:
                for variant in self._form_variants(url, form):
                    queue.append((variant, bool(form.hx_get), None))

    # -- API ------------------------------------------------------------------------------------

    def _harvest(self, data: Any) -> None:
        if isinstance(data, dict):
            for key, value in data.items():
                if (key == "id" or key.endswith("_id")) and isinstance(value, str | int):
                    self.harvested[key].add(str(value))
                else:
                    self._harvest(value)
        elif isinstance(data, list):
            for item in data:
                self._harvest(item)

    def _query_variants(self, op: dict, spec: dict) -> list[dict[str, str]]:
        variants: list[dict[str, str]] = []
        for param in op.get("parameters", []):
            if param.get("in") != "query":
                continue
            name = param["name"]
            for value in _enum_values(param.get("schema", {}), spec):
                variants.append({name: value})
            if name in ("q", "title", "text", "search"):
                variants += [{name: p} for p in self.probes]
        return variants

    async def crawl_api(
        self, viewer: str, client: httpx.AsyncClient, ids: dict[str, Iterable[str]]
    ) -> None:
        """Every GET route of the OpenAPI document, with real ids."""
        spec_answer = await client.get("/schema/openapi.json")
        assert spec_answer.status_code == 200, spec_answer.text[:200]
        spec = spec_answer.json()
        routes = [(p, ops["get"]) for p, ops in spec.get("paths", {}).items() if "get" in ops]
        # untemplated routes first: they harvest ids for the others
        routes.sort(key=lambda r: "{" in r[0])
        given = {k: [str(v) for v in vs] for k, vs in ids.items()}
        for path, op in routes:
            names = re.findall(r"{([^}]+)}", path)
            candidates = []
            for name in names:
                values = given.get(name) or sorted(self.harvested.get(name, set()))
                if not values:
                    values = sorted(self.harvested.get("id", set()))[:30]
                candidates.append(values)
            urls = []
            for combo in _product(candidates):
                concrete = path
                for name, value in zip(names, combo, strict=True):
                    concrete = concrete.replace("{" + name + "}", value)
                urls.append(concrete)
            if not urls:
                self.route_statuses[path]  # noqa: B018 - an unresolved route shows up empty
                continue
            calls = [(u, {}) for u in urls]
            calls += [(urls[0], q) for q in self._query_variants(op, spec)]
            for url, query in calls[: self.max_per_path * 3]:
                response = await client.get(url, params=query)
                full = url + ("?" + urlencode(query) if query else "")
                self.route_statuses[path].add(response.status_code)
                self.check(viewer, full, "api", response)
                if "json" in response.headers.get("content-type", ""):
                    try:
                        self._harvest(response.json())
                    except ValueError:
                        pass

    # -- results --------------------------------------------------------------------------------

    def unreached_routes(self) -> list[str]:
        """Templated GET routes that never answered 2xx for any viewer."""
        return sorted(
            path
            for path, statuses in self.route_statuses.items()
            if "{" in path and not any(200 <= s < 300 for s in statuses)
        )

    def report(self) -> str:
        lines = [str(f) for f in self.findings[:50]]
        if len(self.findings) > 50:
            lines.append(f"… and {len(self.findings) - 50} more")
        return "\n".join(lines)


def _enum_values(schema: dict, spec: dict) -> list[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec.get("components", {}).get("schemas", {}).get(name, {})
    values: list[str] = []
    if "enum" in schema:
        values += [str(v) for v in schema["enum"] if v is not None]
    if "const" in schema:
        values.append(str(schema["const"]))
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            values += _enum_values(sub, spec)
    return list(dict.fromkeys(values))


def _product(lists: list[list[str]]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = [()]
    for values in lists:
        out = [prefix + (v,) for prefix in out for v in values]
    return out


__all__ = ["DIRECTORY_PATHS", "Finding", "Identity", "LeakCrawler", "Visit"]
