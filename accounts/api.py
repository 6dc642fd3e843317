"""The ninja router of the `accounts` app, mounted on the one NinjaAPI in jira_ai/urls.py."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from accounts.schemas import MeOut, SiteIn
from accounts.selectors import Me, me_get
from accounts.services import session_site_set
from ai_service.contract.openapi import error_responses

router = Router(tags=["accounts"])

# 401 signed out or expired; 403 a `cloud_id` (query, or PUT's body) that is not one of the
# session's sites, or a PUT without its CSRF token; 503 the session store down.
_ME_ERRORS = error_responses(401, 403, 503)


def _me_out(me: Me) -> MeOut:
    # ninja schemas read attributes: the dataclasses map onto MeOut and SiteOut by name.
    return MeOut.model_validate(me)


@router.get(
    "/me",
    response={200: MeOut, **_ME_ERRORS},
    summary="The signed-in account, its Jira sites, the current one",
)
async def me(request: HttpRequest) -> MeOut:
    return _me_out(await me_get(session=request.session))


@router.put(
    "/me/site",
    response={200: MeOut, **_ME_ERRORS, **error_responses(422)},
    summary="Choose the current Jira site",
)
async def me_site(request: HttpRequest, body: SiteIn) -> MeOut:
    session_site_set(session=request.session, cloud_id=body.cloud_id)
    return _me_out(await me_get(session=request.session))
