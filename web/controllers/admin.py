"""Admin pages (people, departments, settings, CSV import, audit log) and the
public password pages (forgot, set from a one-time link).

Every /admin route is guarded by the admin role (403 for anyone else). The
pages are a directory of people: nothing on them connects a person to an idea.

Size: over 400 lines: one Litestar controller per area, whose handlers share
the admin guard; the rules live in ideas/people/.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import UploadFile
from litestar.params import FromPath, MultipartBody, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Response, Template
from pydantic import ValidationError

from ideas import audit, org_settings
from ideas.context import Context
from ideas.errors import Conflict, Invalid, RateLimited
from ideas.integrations import scim
from ideas.people import accounts, directory, import_file, imports, invitations, service
from ideas.viewer import ROLES
from web.auth import admin, public
from web.controllers.pages import form_errors, page
from web.deps import Ctx, client_address, limiter_of
from web.errors import is_htmx

Text = Annotated[str, QueryParameter(max_length=200)]

#: messages shown after a redirect, chosen by a short code (never user text)
NOTICES = {
    "added": "Person added.",
    "added_invited": "Person added and an invitation mailed.",
    "saved": "Changes saved.",
    "unchanged": "Nothing changed.",
    "deactivated": "Deactivated: they can no longer log in.",
    "reactivated": "Reactivated: they can log in again.",
    "invited": "Invitation mailed. Earlier links for this person no longer work.",
    "invite_failed": "The link was made but the mail could not be sent. Try again later.",
    "department_added": "Department added.",
    "department_renamed": "Department renamed.",
    "merged": "Departments merged.",
    "settings_saved": "Settings saved. They apply from now on, no restart needed.",
    "break_glass_on": "Marked break-glass: they may sign in with a password under SSO_ONLY.",
    "break_glass_off": "No longer break-glass.",
    "scim_revoked": "SCIM token revoked: the provider using it is cut off at once.",
}

EDITABLE_ROLES = [r for r in ROLES if r != "staff"]


def admin_page(request: Request, name: str, section: str, status_code: int = 200, **ctx: Any):
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return page(
        request,
        name,
        status_code=status_code,
        section=section,
        notice=notice,
        editable_roles=EDITABLE_ROLES,
        **ctx,
    )


def see_other(path: str) -> Redirect:
    return Redirect(path=path, status_code=303)


def _int_or_none(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def _checked(data: dict[str, Any], name: str) -> bool:
    return str(data.get(name, "")).lower() in ("on", "1", "true", "yes")


def _person_form(data: dict[str, Any], with_email: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": data.get("name", ""),
        "title": data.get("title", ""),
        "department_id": data.get("department_id", ""),
        "roles": [r for r in EDITABLE_ROLES if _checked(data, f"role_{r}")],
    }
    if with_email:
        values["email"] = data.get("email", "")
        values["invite"] = _checked(data, "invite")
    return values


class AdminPages(Controller):
    path = "/admin"
    guards = [admin]
    include_in_schema = False

    # -- overview ---------------------------------------------------------------

    @get("/")
    async def overview(self, request: Request, ctx: Ctx) -> Template:
        return admin_page(
            request, "admin_overview.html", "overview", overview=await directory.overview(ctx)
        )

    # -- people -----------------------------------------------------------------

    @get("/people")
    async def people(
        self,
        request: Request,
        ctx: Ctx,
        q: Text = "",
        department: Text = "",
        role: Text = "",
        status: Annotated[str, QueryParameter(name="state", max_length=20)] = "active",
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=100_000)] = 1,
    ) -> Template:
        filters = {"q": q, "department": department, "role": role, "state": status or "active"}
        error = None
        try:
            result = await directory.search_people(
                ctx,
                q=q,
                department_id=_int_or_none(department),
                role=role,
                state=filters["state"],
                page=page_number,
            )
        except Invalid as exc:
            result, error = directory.PeoplePage([], 0, 1, False), exc.detail
        context = {"result": result, "filters": filters, "error": error}
        if is_htmx(request) and request.headers.get("hx-target") == "people-list":
            return admin_page(request, "_admin_people_list.html", "people", **context)
        departments = await directory.list_departments(ctx)
        return admin_page(
            request, "admin_people.html", "people", departments=departments, **context
        )

    @get("/people/new")
    async def new_person_form(self, request: Request, ctx: Ctx) -> Template:
        return admin_page(
            request,
            "admin_person_new.html",
            "people",
            values={"invite": True, "roles": []},
            errors={},
            departments=await directory.list_departments(ctx),
        )

    @post("/people/new")
    async def add_person(
        self,
        request: Request,
        ctx: Ctx,
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        values = _person_form(data, with_email=True)
        try:
            person, invited = await service.add_person(ctx, service.PersonIn(**values))
        except (ValidationError, Invalid, Conflict) as exc:
            return admin_page(
                request,
                "admin_person_new.html",
                "people",
                status_code=422,
                values=values,
                errors=form_errors(exc),
                departments=await directory.list_departments(ctx),
            )
        if invited.failed:
            notice = "invite_failed"
        else:
            notice = "added_invited" if invited.invited else "added"
        return see_other(f"/admin/people/{person.id}?notice={notice}")

    @get("/people/{user_id:str}")
    async def person(self, request: Request, ctx: Ctx, user_id: FromPath[str]) -> Template:
        person = await directory.get_person(ctx, user_id)
        return await self._person_page(request, ctx, person, values=None, errors={})

    async def _person_page(
        self,
        request: Request,
        ctx: Context,
        person,
        values: dict | None,
        errors: dict,
        status_code: int = 200,
    ) -> Template:
        values = values or {
            "name": person.name,
            "title": person.title,
            "department_id": str(person.department_id),
            "roles": person.roles,
        }
        return admin_page(
            request,
            "admin_person.html",
            "people",
            status_code=status_code,
            person=person,
            values=values,
            errors=errors,
            departments=await directory.list_departments(ctx),
            break_glass=await accounts.is_break_glass(person.id),
            sso=request.app.state.settings.oidc,
        )

    @post("/people/{user_id:str}")
    async def edit_person(
        self,
        request: Request,
        ctx: Ctx,
        user_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        values = _person_form(data, with_email=False)
        person = await directory.get_person(ctx, user_id)
        try:
            updated = await service.edit_person(ctx, person.id, service.PersonEdit(**values))
        except (ValidationError, Invalid, Conflict) as exc:
            status = 409 if isinstance(exc, Conflict) else 422
            return await self._person_page(request, ctx, person, values, form_errors(exc), status)
        notice = "saved" if updated != person else "unchanged"
        return see_other(f"/admin/people/{person.id}?notice={notice}")

    @post("/people/{user_id:str}/break-glass")
    async def break_glass(
        self,
        ctx: Ctx,
        user_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response:
        on = data.get("break_glass") == "on"
        person = await directory.get_person(ctx, user_id)
        await service.set_break_glass(ctx, person.id, on)
        return see_other(f"/admin/people/{person.id}?notice=break_glass_{'on' if on else 'off'}")

    # -- SCIM tokens --------------------------------------------------------------

    @get("/scim")
    async def scim_tokens(self, request: Request, ctx: Ctx) -> Template:
        return await self._scim_page(request, ctx)

    async def _scim_page(
        self,
        request: Request,
        ctx: Ctx,
        status_code: int = 200,
        new_token: str | None = None,
        errors: dict | None = None,
    ) -> Template:
        settings = request.app.state.settings
        return admin_page(
            request,
            "admin_scim.html",
            "scim",
            status_code=status_code,
            tokens=await scim.list_tokens(ctx),
            new_token=new_token,
            errors=errors or {},
            scim_url=f"{settings.base_url}/scim/v2",
        )

    @post("/scim/tokens")
    async def create_scim_token(
        self,
        request: Request,
        ctx: Ctx,
        data: URLEncodedBody[dict[str, str]],
    ) -> Template:
        """A new SCIM token, shown on this answer only."""
        try:
            token = await scim.create_token(ctx, data.get("name", ""))
        except Invalid as exc:
            return await self._scim_page(request, ctx, 400, errors=form_errors(exc))
        return await self._scim_page(request, ctx, 201, new_token=token)

    @post("/scim/tokens/{token_id:int}/revoke")
    async def revoke_scim_token(self, ctx: Ctx, token_id: FromPath[int]) -> Response:
        await scim.revoke_token(ctx, token_id)
        return see_other("/admin/scim?notice=scim_revoked")

    @post("/people/{user_id:str}/deactivate")
    async def deactivate(
        self, request: Request, ctx: Ctx, user_id: FromPath[str]
    ) -> Response | Template:
        return await self._set_active(request, ctx, user_id, False)

    @post("/people/{user_id:str}/reactivate")
    async def reactivate(
        self, request: Request, ctx: Ctx, user_id: FromPath[str]
    ) -> Response | Template:
        return await self._set_active(request, ctx, user_id, True)

    async def _set_active(
        self, request: Request, ctx: Context, user_id: str, active: bool
    ) -> Response | Template:
        person = await directory.get_person(ctx, user_id)
        try:
            await service.set_active(ctx, person.id, active)
        except Conflict as exc:
            return await self._person_page(request, ctx, person, None, {"state": exc.detail}, 409)
        notice = "reactivated" if active else "deactivated"
        return see_other(f"/admin/people/{person.id}?notice={notice}")

    @post("/people/{user_id:str}/invite")
    async def invite(
        self, request: Request, ctx: Ctx, user_id: FromPath[str]
    ) -> Response | Template:
        person = await directory.get_person(ctx, user_id)
        try:
            result = await service.invite_person(ctx, person.id)
        except Conflict as exc:
            return await self._person_page(request, ctx, person, None, {"invite": exc.detail}, 409)
        notice = "invite_failed" if result.failed else "invited"
        return see_other(f"/admin/people/{person.id}?notice={notice}")

    # -- CSV import -------------------------------------------------------------

    @get("/import")
    async def import_form(self, request: Request) -> Template:
        return admin_page(request, "admin_import.html", "import", errors={}, csv_text="")

    @post("/import")
    async def import_preview(
        self,
        request: Request,
        ctx: Ctx,
        data: MultipartBody[dict[str, Any]],
    ) -> Template:
        """Step 1: read the file and show what would happen. Writes nothing."""
        upload = data.get("file")
        text = str(data.get("csv_text") or "")
        try:
            if isinstance(upload, UploadFile) and upload.filename:
                raw = await upload.read()
                if len(raw) > 2_000_000:
                    raise Invalid("file", "is larger than 2 MB; split it")
                text = import_file.decode_upload(raw)
            if not text.strip():
                raise Invalid("file", "choose a CSV file, or paste its contents")
            plan = await imports.preview_import(ctx, text)
        except Invalid as exc:
            return admin_page(
                request,
                "admin_import.html",
                "import",
                status_code=422,
                errors=form_errors(exc),
                csv_text=text if len(text) < 200_000 else "",
            )
        return admin_page(
            request, "admin_import_preview.html", "import", plan=plan, csv_text=text, changed=None
        )

    @post("/import/confirm")
    async def import_confirm(
        self,
        request: Request,
        ctx: Ctx,
        data: URLEncodedBody[dict[str, str]],
    ) -> Template:
        """Step 2: write exactly what was previewed (or show the new preview)."""
        text = data.get("csv_text", "")
        try:
            result = await imports.confirm_import(
                ctx, text, data.get("fingerprint", ""), _checked(data, "invite")
            )
        except imports.PlanChanged as exc:
            return admin_page(
                request,
                "admin_import_preview.html",
                "import",
                status_code=409,
                plan=exc.plan,
                csv_text=text,
                changed=exc.detail,
            )
        except (Invalid, Conflict) as exc:
            return admin_page(
                request,
                "admin_import.html",
                "import",
                status_code=exc.status,
                errors=form_errors(exc),
                csv_text=text,
            )
        return admin_page(request, "admin_import_done.html", "import", result=result)

    # -- departments ------------------------------------------------------------

    async def _departments_page(
        self,
        request: Request,
        ctx: Context,
        errors: dict | None = None,
        status_code: int = 200,
        **values: Any,
    ) -> Template:
        return admin_page(
            request,
            "admin_departments.html",
            "departments",
            status_code=status_code,
            departments=await directory.list_departments(ctx),
            errors=errors or {},
            **values,
        )

    @get("/departments")
    async def departments(self, request: Request, ctx: Ctx) -> Template:
        return await self._departments_page(request, ctx)

    @post("/departments")
    async def add_department(
        self,
        request: Request,
        ctx: Ctx,
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        try:
            await directory.add_department(ctx, data.get("name", ""))
        except Invalid as exc:
            return await self._departments_page(
                request, ctx, {"new_name": exc.reason}, 422, new_name=data.get("name", "")
            )
        return see_other("/admin/departments?notice=department_added")

    @post("/departments/{department_id:int}/rename")
    async def rename_department(
        self,
        request: Request,
        ctx: Ctx,
        department_id: FromPath[int],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        try:
            await directory.rename_department(ctx, department_id, data.get("name", ""))
        except Invalid as exc:
            return await self._departments_page(
                request, ctx, {f"rename_{department_id}": exc.reason}, 422
            )
        return see_other("/admin/departments?notice=department_renamed")

    @post("/departments/merge")
    async def merge_departments(
        self,
        request: Request,
        ctx: Ctx,
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        """Without `confirm`: a page asking to confirm; with it: the merge."""
        source_id = _int_or_none(data.get("source_id"))
        target_id = _int_or_none(data.get("target_id"))
        departments = {d.id: d for d in await directory.list_departments(ctx)}
        errors = {}
        if source_id not in departments:
            errors["source_id"] = "Choose the department to merge."
        if target_id not in departments:
            errors["target_id"] = "Choose the department to merge it into."
        elif source_id == target_id:
            errors["target_id"] = "Choose a different department to merge into."
        if errors:
            return await self._departments_page(request, ctx, errors, 422)
        assert source_id is not None and target_id is not None
        if data.get("confirm") != "yes":
            return admin_page(
                request,
                "admin_department_merge.html",
                "departments",
                source=departments[source_id],
                target=departments[target_id],
            )
        try:
            await directory.merge_departments(ctx, source_id, target_id)
        except Invalid as exc:
            return await self._departments_page(request, ctx, {exc.field: exc.reason}, 422)
        return see_other("/admin/departments?notice=merged")

    # -- settings ---------------------------------------------------------------

    @get("/settings")
    async def settings(self, request: Request, ctx: Ctx) -> Template:
        return admin_page(
            request,
            "admin_settings.html",
            "settings",
            settings=await org_settings.settings_view(ctx),
            values={},
            errors={},
            weekdays=org_settings.WEEKDAYS,
        )

    @post("/settings")
    async def save_settings(
        self,
        request: Request,
        ctx: Ctx,
        data: URLEncodedBody[dict[str, str]],
    ) -> Response | Template:
        try:
            await org_settings.update_settings(ctx, data)
        except Invalid as exc:
            return admin_page(
                request,
                "admin_settings.html",
                "settings",
                status_code=422,
                settings=await org_settings.settings_view(ctx),
                values=data,
                errors={exc.field: exc.reason[:1].upper() + exc.reason[1:] + "."},
                weekdays=org_settings.WEEKDAYS,
            )
        return see_other("/admin/settings?notice=settings_saved")

    # -- audit log --------------------------------------------------------------

    @get("/audit")
    async def audit_log(
        self,
        request: Request,
        ctx: Ctx,
        action: Text = "",
        actor: Text = "",
        target: Text = "",
        since: Text = "",
        until: Text = "",
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=100_000)] = 1,
    ) -> Template:
        filters = {
            "action": action,
            "actor": actor,
            "target": target,
            "since": since,
            "until": until,
        }
        error = None
        try:
            entries, more = await audit.list_entries(ctx, audit.make_filter(**filters), page_number)
        except Invalid as exc:
            entries, more, error = [], False, exc.detail
        context = {
            "entries": entries,
            "has_more": more,
            "page_number": page_number,
            "filters": filters,
            "error": error,
        }
        if is_htmx(request) and request.headers.get("hx-target") == "audit-list":
            return admin_page(request, "_admin_audit_list.html", "audit", **context)
        return admin_page(
            request,
            "admin_audit.html",
            "audit",
            actions=await audit.actions(ctx),
            actors=await audit.actors(ctx),
            **context,
        )

    @get("/audit.csv")
    async def audit_csv(
        self,
        ctx: Ctx,
        action: Text = "",
        actor: Text = "",
        target: Text = "",
        since: Text = "",
        until: Text = "",
    ) -> Response:
        f = audit.make_filter(action, actor, target, since, until)
        return Response(
            await audit.export_csv(ctx, f),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="touchpoint-audit.csv"'},
        )


class PasswordPages(Controller):
    """Forgot-password and set-password pages: open to anyone."""

    path = "/password"
    guards = [public]
    include_in_schema = False

    @get("/forgot")
    async def forgot_form(self, request: Request) -> Template:
        return page(request, "password_forgot.html", sent=False, email="", error=None)

    @post("/forgot")
    async def forgot(self, request: Request, data: URLEncodedBody[dict[str, str]]) -> Template:
        """One answer whether or not the address belongs to anyone."""
        email = (data.get("email") or "").strip()[:254]
        if not email:
            return page(
                request,
                "password_forgot.html",
                status_code=422,
                sent=False,
                email="",
                error="Enter your email address.",
            )
        limiter = limiter_of(request)
        try:
            await limiter.hit("login", client_address(request))
            # its own counter: reset requests never block anyone's log-in
            await limiter.hit("reset_account", email.lower(), limiter.limit_of("login_account"))
        except RateLimited as exc:
            return page(
                request,
                "password_forgot.html",
                status_code=429,
                sent=False,
                email=email,
                error=f"Too many attempts. Try again in {exc.retry_after} seconds.",
            )
        links = await invitations.request_password_reset(email, send=False)
        answer = page(request, "password_forgot.html", sent=True, email=email, error=None)
        # mailed after the answer: it takes as long for unknown addresses as for known ones
        answer.background = BackgroundTask(invitations.send_links, links)
        return answer

    @get("/set")
    async def set_form(self, request: Request, token: Text = "") -> Template:
        try:
            holder = await invitations.link_holder(token)
        except invitations.LinkInvalid as exc:
            return page(request, "password_set.html", status_code=exc.status, invalid=exc.detail)
        return page(request, "password_set.html", holder=holder, token=token, errors={}, done=False)

    @post("/set")
    async def set_password(
        self, request: Request, data: URLEncodedBody[dict[str, str]]
    ) -> Template:
        token = data.get("token", "")
        password = data.get("password", "")
        try:
            await limiter_of(request).hit("login", client_address(request))
            holder = await invitations.link_holder(token)
            if password != data.get("password_again", ""):
                raise Invalid("password_again", "the two passwords differ")
            holder = await invitations.set_password_with_link(token, password)
        except invitations.LinkInvalid as exc:
            return page(request, "password_set.html", status_code=exc.status, invalid=exc.detail)
        except RateLimited as exc:
            return page(
                request,
                "password_set.html",
                status_code=429,
                invalid=f"Too many attempts. Try again in {exc.retry_after} seconds.",
            )
        except Invalid as exc:
            return page(
                request,
                "password_set.html",
                status_code=422,
                holder=holder,
                token=token,
                errors=form_errors(exc),
                done=False,
            )
        return page(request, "password_set.html", holder=holder, done=True, errors={})


ROUTES = [AdminPages, PasswordPages]
