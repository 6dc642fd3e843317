"""The ninja router of the `accounts` app, mounted on the one NinjaAPI in jira_ai/urls.py."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from accounts.errors import SiteForbidden
from accounts.schemas import MeOut, SiteIn
from accounts.selectors import me_get

router = Router(tags=["accounts"])


@router.get("/me", response=MeOut, summary="The signed-in account, its Jira sites, the current one")
async def me(request: HttpRequest) -> MeOut:
    return await me_get(request=request)


@router.put("/me/site", response=MeOut, summary="Choose the current Jira site")
async def me_site(request: HttpRequest, body: SiteIn) -> MeOut:
    sites = request.session.get("sites") or {}
    if body.cloud_id not in sites:
        raise SiteForbidden
    request.session["current_cloud_id"] = body.cloud_id
    return await me_get(request=request)
