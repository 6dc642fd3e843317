"""What the sign-in writes into the session and how it is read back: https-only URLs from
Atlassian, a tolerant typed reader, the current-site write."""

from __future__ import annotations

import pytest

from accounts.atlassian import AccessibleResource, AtlassianAccount
from accounts.errors import SiteForbidden
from accounts.pipeline import session_data_build, sites_from_resources, url_sanitize
from accounts.services import session_site_set
from accounts.session_data import SessionData, SessionSite


def _resource(cloud_id: str, *, url: str, avatar_url: str = "") -> AccessibleResource:
    return AccessibleResource(
        cloud_id=cloud_id,
        name=cloud_id.upper(),
        url=url,
        scopes=("read:jira-work", "read:jira-user"),
        avatar_url=avatar_url,
    )


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://acme.atlassian.net", "https://acme.atlassian.net"),
        ("  https://acme.atlassian.net/x?y=1  ", "https://acme.atlassian.net/x?y=1"),
        ("http://127.0.0.1:8090/ex/jira/x", "http://127.0.0.1:8090/ex/jira/x"),
        ("http://localhost:8090", "http://localhost:8090"),
        ("http://acme.atlassian.net", ""),
        ("http://localhost.evil.example", ""),
        ("http://127.0.0.1@evil.example/", ""),
        ("javascript:alert(1)", ""),
        ("JavaScript://acme.atlassian.net/%0aalert(1)", ""),
        ("data:image/svg+xml,<svg onload=alert(1)>", ""),
        ("//acme.atlassian.net", ""),
        ("https://", ""),
        ("https://[::1", ""),
        ("", ""),
    ],
)
def test_only_https_urls_or_loopback_http_are_kept(url: str, kept: str) -> None:
    assert url_sanitize(url) == kept


def test_sites_drop_unsafe_site_and_avatar_urls() -> None:
    resources = [
        _resource("a", url="javascript:alert(1)", avatar_url="https://cdn.example/a.png"),
        _resource("b", url="https://b.atlassian.net", avatar_url="data:image/png;base64,AA=="),
    ]

    sites = sites_from_resources(resources)

    assert sites == {
        "a": SessionSite(
            name="A",
            url="",
            scopes=["read:jira-user", "read:jira-work"],
            avatar_url="https://cdn.example/a.png",
        ),
        "b": SessionSite(
            name="B",
            url="https://b.atlassian.net",
            scopes=["read:jira-user", "read:jira-work"],
            avatar_url="",
        ),
    }


def test_the_session_holds_the_account_its_sites_and_a_stable_current_site() -> None:
    account = AtlassianAccount(
        account_id="712020:x", display_name="X", email="", avatar_url="javascript:alert(1)"
    )
    resources = [_resource("zeta", url="https://z.example"), _resource("Alpha", url="")]

    data = session_data_build(account=account, resources=resources)

    assert data.as_session() == {
        "account_id": "712020:x",
        "display_name": "X",
        "avatar_url": "",
        "sites": {
            "zeta": {
                "name": "ZETA",
                "url": "https://z.example",
                "scopes": ["read:jira-user", "read:jira-work"],
                "avatar_url": "",
            },
            "Alpha": {
                "name": "ALPHA",
                "url": "",
                "scopes": ["read:jira-user", "read:jira-work"],
                "avatar_url": "",
            },
        },
        "current_cloud_id": "Alpha",
    }
    assert SessionData.read(data.as_session()) == data


def test_values_of_the_wrong_type_read_as_absent() -> None:
    data = SessionData.read(
        {"account_id": 7, "display_name": None, "sites": ["x"], "current_cloud_id": {"a": 1}}
    )

    assert data == SessionData()


def test_the_current_site_is_one_of_the_sessions() -> None:
    session: dict[str, object] = {
        "account_id": "712020:x",
        "sites": {"a": {"name": "A"}, "b": {"name": "B"}},
        "current_cloud_id": "a",
    }

    session_site_set(session=session, cloud_id="b")
    with pytest.raises(SiteForbidden):
        session_site_set(session=session, cloud_id="c")

    assert session["current_cloud_id"] == "b"
