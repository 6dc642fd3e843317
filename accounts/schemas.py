"""Request and response bodies of the accounts router."""

from __future__ import annotations

from ninja import Schema


class SiteOut(Schema):
    cloud_id: str
    name: str
    url: str
    scopes: list[str]
    needs_reauth: bool


class MeOut(Schema):
    account_id: str
    display_name: str
    avatar_url: str
    current_cloud_id: str
    sites: list[SiteOut]


class SiteIn(Schema):
    cloud_id: str
