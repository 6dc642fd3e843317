"""The last step of social-auth's pipeline: open our session for the signed-in account.

The session is flushed first (new key, nothing of a previous session kept; django's ``login()``
then cycles the key once more), and the tokens are handed to the callback view on the request, to
be written to the encrypted vault under the session's final key. Nothing here is stored in the
database.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

GRANT_ATTRIBUTE = "jira_ai_grant"


def sites_from_resources(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        r["id"]: {
            "name": str(r.get("name") or r["id"]),
            "url": str(r.get("url") or ""),
            "scopes": sorted(str(s) for s in r.get("scopes") or []),
            "avatar_url": str(r.get("avatarUrl") or ""),
        }
        for r in resources
    }


def session_open(
    strategy: Any, backend: Any, uid: str, response: dict[str, Any], *args: Any, **kwargs: Any
) -> None:
    request: HttpRequest = strategy.request
    session = request.session
    next_url = session.get("next")
    session.flush()
    sites = sites_from_resources(response["resources"])
    avatars = response.get("avatarUrls") or {}
    session.update(
        {
            "account_id": uid,
            "display_name": str(response.get("displayName") or ""),
            "avatar_url": str(avatars.get("48x48") or ""),
            "sites": sites,
            # Sites come in no meaningful order: a stable default, the user switches in /ui.
            "current_cloud_id": min(sites, key=lambda cid: (sites[cid]["name"].lower(), cid)),
        }
    )
    if next_url:
        session["next"] = next_url
    setattr(
        request,
        GRANT_ATTRIBUTE,
        {
            "access_token": response["access_token"],
            "refresh_token": response.get("refresh_token") or "",
            "expires_in": response.get("expires_in") or 3600,
            "sites": sites,
        },
    )
