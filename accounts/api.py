"""The ninja router of the `accounts` app, mounted on the one NinjaAPI in jira_ai/urls.py."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from accounts.schemas import MeOut, SiteIn, SiteOut
from accounts.selectors import Me, me_get
from accounts.services import session_site_set

router = Router(tags=["accounts"])


def _me_out(me: Me) -> MeOut:
    return MeOut(
        account_id=me.account_id,
        display_name=me.display_name,
        avatar_url=me.avatar_url,
        current_cloud_id=me.current_cloud_id,
        sites=[
            SiteOut(
                cloud_id=site.cloud_id,
                name=site.name,
                url=site.url,
                scopes=site.scopes,
                needs_reauth=site.needs_reauth,
            )
            for site in me.sites
        ],
    )


@router.get("/me", response=MeOut, summary="The signed-in account, its Jira sites, the current one")
async def me(request: HttpRequest) -> MeOut:
    return _me_out(await me_get(session=request.session))


@router.put("/me/site", response=MeOut, summary="Choose the current Jira site")
async def me_site(request: HttpRequest, body: SiteIn) -> MeOut:
    session_site_set(session=request.session, cloud_id=body.cloud_id)
    return _me_out(await me_get(session=request.session))
