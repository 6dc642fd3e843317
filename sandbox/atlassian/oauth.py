"""auth.atlassian.com stand-in: ``/authorize`` (consent page) and ``/oauth/token`` (3LO).

Rules (docs/wire-facts.md, section 1): codes are single-use and live 10 minutes; access tokens live
``--token-ttl`` seconds; every refresh rotates the refresh token, and presenting a rotated-out
refresh token revokes its whole family (no reuse leeway: the sandbox is strict so clients that
refresh twice concurrently are caught). Every secret issued starts with ``sbx-``.
"""

from __future__ import annotations

import base64
import binascii
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from aiohttp import web

from sandbox.atlassian.data import ACCOUNTS, Account
from sandbox.core import apply_fault, state_of

CODE_TTL = 600
REFRESH_INACTIVITY = 90 * 24 * 3600
REFRESH_ABSOLUTE = 365 * 24 * 3600
AUDIENCE = "api.atlassian.com"

DEMO_CLIENT_ID = "jira-ai-demo"
DEMO_CLIENT_SECRET = "jira-ai-demo-secret"
DEMO_REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback"
DEMO_APP_NAME = "jira-ai (démo)"

CLASSIC_SCOPES: dict[str, str] = {
    "read:jira-work": "Consulter les projets et les tickets Jira (y compris les commentaires)",
    "read:jira-user": "Consulter les informations des utilisateurs Jira",
    "write:jira-work": "Créer et modifier des tickets Jira",
    "manage:jira-project": "Gérer les projets Jira",
    "manage:jira-configuration": "Gérer la configuration de Jira",
    "manage:jira-webhook": "Gérer les webhooks Jira",
    "read:me": "Consulter votre profil Atlassian",
    "offline_access": "Garder l'accès quand vous n'êtes pas connecté (jeton de rafraîchissement)",
}


# What a new app has enabled in the developer console unless told otherwise: the scopes jira-ai
# asks for (accounts/scopes.py; the sandbox imports nothing of the app). Atlassian refuses an
# authorization request that asks for a scope the app has not enabled (``invalid_scope``), so a
# client registered with fewer scopes fails every sign-in, as a half-configured console app does.
DEFAULT_ENABLED_SCOPES: tuple[str, ...] = (
    "read:jira-work",
    "read:jira-user",
    "offline_access",
    "read:board-scope:jira-software",
    "read:sprint:jira-software",
    "read:project:jira",
    "read:issue-details:jira",
    "read:jql:jira",
)


# The consent page's words for the granular scopes jira-ai asks for (Atlassian's titles).
GRANULAR_TITLES: dict[str, str] = {
    "read:board-scope:jira-software": "Consulter les tableaux, les backlogs et leurs éléments",
    "read:sprint:jira-software": "Consulter les sprints et leurs tickets",
    "read:project:jira": "Consulter les projets",
    "read:issue-details:jira": "Consulter le détail des tickets",
    "read:jql:jira": "Utiliser les requêtes JQL",
}


def scope_known(scope: str) -> bool:
    if scope in CLASSIC_SCOPES:
        return True
    # granular scopes look like read:issue-details:jira or read:sprint:jira-software
    parts = scope.split(":")
    return (
        len(parts) == 3
        and parts[0] in ("read", "write", "delete")
        and parts[2] in ("jira", "jira-software")
    )


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    name: str
    enabled_scopes: frozenset[str] = frozenset(DEFAULT_ENABLED_SCOPES)


@dataclass
class CodeGrant:
    client_id: str
    redirect_uri: str
    account_id: str
    scope: str
    expires_at: float
    used: bool = False
    family: str | None = None


@dataclass
class AccessToken:
    account_id: str
    client_id: str
    scope: str
    expires_at: float
    family: str

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())


@dataclass
class Family:
    id: str
    account_id: str
    client_id: str
    scope: str
    created: float
    current: str | None = None  # the one refresh token that works
    last_used: float = 0.0
    revoked: bool = False
    access_tokens: list[str] = field(default_factory=list)


class OAuthStore:
    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}
        self.register(
            Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, (DEMO_REDIRECT_URI,), DEMO_APP_NAME)
        )
        self.reset()

    def reset(self) -> None:
        """Forget codes and tokens, and the test knobs below (registered clients stay)."""
        # Knobs: a client's enabled scopes for now (``POST /_sandbox/clients/{id}/scopes``), and
        # scopes that consents leave out of the grant (``POST /_sandbox/grants/withhold``).
        self.enabled_override: dict[str, frozenset[str]] = {}
        self.withheld: frozenset[str] = frozenset()
        self.codes: dict[str, CodeGrant] = {}
        self.access: dict[str, AccessToken] = {}
        self.families: dict[str, Family] = {}
        self.refresh_index: dict[str, str] = {}  # every refresh token ever issued -> family id

    def register(self, client: Client) -> None:
        self.clients[client.client_id] = client

    def enabled_scopes(self, client: Client) -> frozenset[str]:
        return self.enabled_override.get(client.client_id, client.enabled_scopes)

    def granted(self, requested: str) -> str:
        """The scopes a consent grants: those requested, less the withheld ones (in order)."""
        return " ".join(s for s in requested.split() if s not in self.withheld)

    def new_code(self, grant: CodeGrant) -> str:
        code = "sbx-code-" + secrets.token_urlsafe(24)
        self.codes[code] = grant
        return code

    def issue(self, family: Family, ttl: int) -> dict[str, Any]:
        token = "sbx-at-" + secrets.token_urlsafe(32)
        self.access[token] = AccessToken(
            family.account_id, family.client_id, family.scope, time.time() + ttl, family.id
        )
        family.access_tokens.append(token)
        body: dict[str, Any] = {
            "access_token": token,
            "expires_in": ttl,
            "scope": family.scope,
            "token_type": "Bearer",
        }
        if "offline_access" in family.scope.split():
            refresh = "sbx-rt-" + secrets.token_urlsafe(32)
            family.current = refresh
            family.last_used = time.time()
            self.refresh_index[refresh] = family.id
            body["refresh_token"] = refresh
        return body

    def valid_access(self, token: str) -> AccessToken | None:
        record = self.access.get(token)
        if record is None or record.expires_at <= time.time():
            return None
        return record


STORE_KEY = web.AppKey("atlassian_oauth", OAuthStore)


def store_of(request: web.Request) -> OAuthStore:
    return request.app[STORE_KEY]


# --- pages -----------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;
color:#172b4d;margin:0;padding:2rem 1rem;line-height:1.5}
main{max-width:34rem;margin:0 auto;background:#fff;border-radius:8px;padding:2rem;
box-shadow:0 1px 3px rgba(9,30,66,.25)}
h1{font-size:1.4rem;margin-top:0}fieldset{border:1px solid #c1c7d0;border-radius:4px;margin:1rem 0}
legend{font-weight:600;padding:0 .25rem}label{display:block;padding:.25rem 0}
ul{padding-left:1.25rem}.actions{display:flex;gap:1rem;margin-top:1.5rem}
button{font-size:1rem;padding:.6rem 1.4rem;border-radius:4px;border:2px solid #0052cc;
cursor:pointer}
button[value=accept]{background:#0052cc;color:#fff}button[value=deny]{background:#fff;color:#0052cc}
button:focus-visible,input:focus-visible{outline:3px solid #4c9aff;outline-offset:2px}
code{background:#f4f5f7;padding:0 .2rem}.error{color:#ae2a19}
"""
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
    return web.Response(
        status=status, text=text, content_type="text/html", charset="utf-8", headers=_HEADERS
    )


def error_page(message: str) -> web.Response:
    body = (
        "<h1>Impossible de poursuivre l'autorisation</h1>\n"
        f'<p class="error" role="alert">{html.escape(message)}</p>\n'
        "<p>Revenez à l'application et réessayez, ou contactez son éditeur.</p>"
    )
    return _page("Erreur d'autorisation — Atlassian (sandbox)", body, status=400)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def consent_page(client: Client, params: dict[str, str]) -> web.Response:
    hidden = "\n".join(
        f'<input type="hidden" name="{name}" value="{_attr(params.get(name, ""))}">'
        for name in (
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "audience",
            "response_type",
            "prompt",
        )
    )
    scopes = "\n".join(
        f"<li><code>{html.escape(s)}</code> : "
        f"{html.escape(CLASSIC_SCOPES.get(s) or GRANULAR_TITLES.get(s, s))}</li>"
        for s in params["scope"].split()
    )
    radios = "\n".join(
        f'<label><input type="radio" name="account_id" value="{html.escape(a.account_id)}"'
        f"{' checked' if n == 0 else ''}> {html.escape(a.display_name)} "
        f"({html.escape(a.email)})</label>"
        for n, a in enumerate(ACCOUNTS.values())
    )
    app = html.escape(client.name)
    body = f"""<h1>{app} demande l'accès à votre compte Atlassian</h1>
<p>Cette application pourra :</p>
<ul>
{scopes}
</ul>
<form method="post" action="/authorize">
{hidden}
<fieldset>
<legend>Compte Atlassian (sandbox)</legend>
{radios}
</fieldset>
<p>Redirection après votre choix vers <code>{html.escape(params["redirect_uri"])}</code>.</p>
<div class="actions">
<button type="submit" name="decision" value="accept">Accepter</button>
<button type="submit" name="decision" value="deny">Refuser</button>
</div>
</form>"""
    return _page(f"Autoriser {client.name} — Atlassian (sandbox)", body)


def _redirect(redirect_uri: str, params: dict[str, str]) -> web.Response:
    parts = urlsplit(redirect_uri)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def _oauth_error_body(status: int) -> dict[str, str]:
    if status == 429:
        return {"error": "too_many_requests", "error_description": "Too many requests"}
    if status >= 500:
        return {"error": "server_error", "error_description": "Internal server error"}
    return {"error": "invalid_request", "error_description": "Request rejected"}


def _check_request(
    store: OAuthStore, params: dict[str, str]
) -> tuple[Client | None, web.Response | None]:
    """Validate an authorization request; an error is a page or a redirect (RFC 6749 4.1.2.1)."""
    client = store.clients.get(params.get("client_id", ""))
    if client is None:
        return None, error_page("Application inconnue : le paramètre client_id n'est pas reconnu.")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        return None, error_page(
            "L'adresse de retour (redirect_uri) ne correspond à aucune adresse enregistrée "
            "pour cette application."
        )
    state = params.get("state", "")

    def fail(error: str, description: str) -> web.Response:
        out = {"error": error, "error_description": description}
        if state:
            out["state"] = state
        return _redirect(redirect_uri, out)

    if params.get("response_type") != "code":
        return None, fail("unsupported_response_type", "response_type must be 'code'")
    if params.get("audience") != AUDIENCE:
        return None, fail("invalid_request", f"audience must be '{AUDIENCE}'")
    scopes = params.get("scope", "").split()
    if not scopes:
        return None, fail("invalid_scope", "scope is required")
    unknown = [s for s in scopes if not scope_known(s)]
    if unknown:
        return None, fail("invalid_scope", f"unknown scope: {unknown[0]}")
    enabled = store.enabled_scopes(client)
    # offline_access is not a console setting: Atlassian grants it to any app that asks.
    missing = [s for s in scopes if s not in enabled and s != "offline_access"]
    if missing:
        # Atlassian's wording when the console app lacks a requested scope.
        return None, fail(
            "invalid_scope",
            "This app has requested scopes that have not been added to the app: "
            + ", ".join(missing),
        )
    if not state:
        return None, fail("invalid_request", "state is required")
    return client, None


async def get_authorize(request: web.Request) -> web.StreamResponse:
    fault, _ = await apply_fault(request, "oauth", error_body=_oauth_error_body)
    if fault is not None:
        return fault
    params = dict(request.query)
    client, error = _check_request(store_of(request), params)
    if error is not None:
        return error
    assert client is not None
    params["scope"] = " ".join(params["scope"].split())
    return consent_page(client, params)


async def post_authorize(request: web.Request) -> web.StreamResponse:
    fault, _ = await apply_fault(request, "oauth", error_body=_oauth_error_body)
    if fault is not None:
        return fault
    form = await request.post()
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    store = store_of(request)
    client, error = _check_request(store, params)
    if error is not None:
        return error
    assert client is not None
    redirect_uri, state = params["redirect_uri"], params["state"]
    decision = params.get("decision")
    if decision == "deny":
        return _redirect(
            redirect_uri,
            {
                "error": "access_denied",
                "error_description": "The user denied access to the application",
                "state": state,
            },
        )
    if decision != "accept":
        return error_page("Choix invalide : acceptez ou refusez l'accès.")
    account_id = params.get("account_id", "")
    if account_id not in ACCOUNTS:
        return error_page("Compte inconnu : choisissez un des comptes proposés.")
    code = store.new_code(
        CodeGrant(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            account_id=account_id,
            scope=store.granted(params["scope"]),
            expires_at=time.time() + CODE_TTL,
        )
    )
    return _redirect(redirect_uri, {"code": code, "state": state})


# --- token endpoint --------------------------------------------------------------------------


def _token_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response(
        {"error": error, "error_description": description},
        status=status,
        headers={"Cache-Control": "no-store"},
    )


async def _read_body(request: web.Request) -> dict[str, str] | None:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        return {k: v for k, v in body.items() if isinstance(v, str)}
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _basic_credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


async def post_token(request: web.Request) -> web.StreamResponse:
    fault, _ = await apply_fault(request, "oauth", error_body=_oauth_error_body)
    if fault is not None:
        return fault
    body = await _read_body(request)
    if body is None:
        return _token_error(400, "invalid_request", "Request body must be JSON or a form")
    basic = _basic_credentials(request)
    client_id = body.get("client_id") or (basic[0] if basic else "")
    secret = body.get("client_secret") or (basic[1] if basic else "")
    grant_type = body.get("grant_type")
    if grant_type not in ("authorization_code", "refresh_token"):
        return _token_error(400, "unsupported_grant_type", "Unsupported grant type")
    store = store_of(request)
    client = store.clients.get(client_id)
    if client is None or not secrets.compare_digest(client.client_secret, secret):
        return _token_error(401, "access_denied", "Unauthorized")
    state = state_of(request)
    ttl = state.config.token_ttl
    now = time.time()
    if grant_type == "authorization_code":
        code = body.get("code", "")
        grant = store.codes.get(code)
        if grant is None or grant.client_id != client.client_id:
            return _token_error(400, "invalid_request", "authorization_code is invalid")
        if grant.used:
            # RFC 6749 4.1.2: a reused code revokes what it issued.
            family = store.families.get(grant.family or "")
            if family is not None:
                family.revoked = True
                for token in family.access_tokens:
                    store.access.pop(token, None)
            return _token_error(400, "invalid_request", "authorization_code is invalid")
        if grant.expires_at <= now:
            return _token_error(400, "invalid_request", "authorization_code is invalid")
        if body.get("redirect_uri") != grant.redirect_uri:
            return _token_error(400, "invalid_request", "redirect_uri does not match")
        grant.used = True
        family = Family(
            id=secrets.token_hex(8),
            account_id=grant.account_id,
            client_id=client.client_id,
            scope=grant.scope,
            created=now,
        )
        grant.family = family.id
        store.families[family.id] = family
        state.counters["tokens_issued"] += 1
        return web.json_response(store.issue(family, ttl), headers={"Cache-Control": "no-store"})
    refresh = body.get("refresh_token", "")
    family_id = store.refresh_index.get(refresh)
    family = store.families.get(family_id or "")
    invalid = _token_error(403, "invalid_grant", "Unknown or invalid refresh token.")
    if family is None or family.client_id != client.client_id or family.revoked:
        return invalid
    if family.current != refresh:
        family.revoked = True  # a rotated-out token came back: assume theft, kill the family
        return invalid
    if now - family.last_used > REFRESH_INACTIVITY or now - family.created > REFRESH_ABSOLUTE:
        family.revoked = True
        return invalid
    state.counters["tokens_issued"] += 1
    state.counters["refreshes"] += 1
    return web.json_response(store.issue(family, ttl), headers={"Cache-Control": "no-store"})


# --- gateway authentication (api.atlassian.com) -----------------------------------------------


def gateway_error(status: int = 401, message: str = "Unauthorized") -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="api.atlassian.com"'} if status == 401 else {}
    return web.json_response({"code": status, "message": message}, status=status, headers=headers)


def authenticate(request: web.Request) -> tuple[AccessToken | None, Account | None]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, None
    record = store_of(request).valid_access(token.strip())
    if record is None:
        return None, None
    return record, ACCOUNTS[record.account_id]


# --- control ---------------------------------------------------------------------------------


async def _json_object(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json() if request.can_read_body else {}
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def post_clients(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if body is None:
        return _bad("body must be a JSON object")
    client_id, secret, uris = (
        body.get("client_id"),
        body.get("client_secret"),
        body.get("redirect_uris"),
    )
    if not isinstance(client_id, str) or not client_id or not isinstance(secret, str):
        return _bad("client_id and client_secret are required strings")
    if (
        not isinstance(uris, list)
        or not uris
        or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in uris)
    ):
        return _bad("redirect_uris must be a non-empty list of http(s) URLs")
    name = body.get("name") or client_id
    if not isinstance(name, str):
        return _bad("name must be a string")
    scopes = _scope_list(body.get("scopes", list(DEFAULT_ENABLED_SCOPES)))
    if scopes is None:
        return _bad("scopes must be a list of known scope names")
    store_of(request).register(Client(client_id, secret, tuple(uris), name, scopes))
    return web.json_response(
        {"client_id": client_id, "redirect_uris": uris, "name": name, "scopes": sorted(scopes)},
        status=201,
    )


def _scope_list(value: object) -> frozenset[str] | None:
    if not isinstance(value, list) or not all(isinstance(s, str) and scope_known(s) for s in value):
        return None
    return frozenset(value)


async def post_client_scopes(request: web.Request) -> web.Response:
    """``{"scopes": [...]}``: the scopes the client's app has enabled, until the next reset (as
    if someone edited the app in the developer console)."""
    store = store_of(request)
    client_id = request.match_info["client_id"]
    if client_id not in store.clients:
        return web.json_response({"error": f"unknown client {client_id!r}"}, status=404)
    body = await _json_object(request)
    scopes = _scope_list(body.get("scopes")) if body is not None else None
    if scopes is None:
        return _bad('body must be {"scopes": [known scope names]}')
    store.enabled_override[client_id] = scopes
    return web.json_response({"client_id": client_id, "scopes": sorted(scopes)})


async def post_withhold_scopes(request: web.Request) -> web.Response:
    """``{"scopes": [...]}``: later consents grant what is asked less these, until the next reset:
    the token of a session signed in before the app asked for them, or of a grant that did not
    include them. The token answer's ``scope`` and ``accessible-resources`` say what was granted.
    """
    body = await _json_object(request)
    scopes = _scope_list(body.get("scopes")) if body is not None else None
    if scopes is None:
        return _bad('body must be {"scopes": [known scope names]}')
    store_of(request).withheld = scopes
    return web.json_response({"withheld": sorted(scopes)})


async def post_expire_tokens(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if body is None:
        return _bad("body must be a JSON object")
    store = store_of(request)
    token, account_id = body.get("access_token"), body.get("account_id")
    expired = 0
    for key, record in store.access.items():
        if token is not None and key != token:
            continue
        if account_id is not None and record.account_id != account_id:
            continue
        if record.expires_at > time.time():
            expired += 1
        record.expires_at = 0.0
    return web.json_response({"expired": expired})


async def post_revoke_tokens(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if body is None or not isinstance(body.get("account_id"), str):
        return _bad('body must be {"account_id": "..."}')
    revoked = 0
    for family in store_of(request).families.values():
        if family.account_id == body["account_id"] and not family.revoked:
            family.revoked = True
            revoked += 1
    return web.json_response({"revoked": revoked})


async def post_expire_codes(request: web.Request) -> web.Response:
    store = store_of(request)
    for grant in store.codes.values():
        grant.expires_at = 0.0
    return web.json_response({"expired": len(store.codes)})


def setup(app: web.Application, store: OAuthStore) -> None:
    app[STORE_KEY] = store
    app.router.add_get("/authorize", get_authorize)
    app.router.add_post("/authorize", post_authorize)
    app.router.add_post("/oauth/token", post_token)
    app.router.add_post("/_sandbox/clients", post_clients)
    app.router.add_post("/_sandbox/clients/{client_id}/scopes", post_client_scopes)
    app.router.add_post("/_sandbox/grants/withhold", post_withhold_scopes)
    app.router.add_post("/_sandbox/tokens/expire", post_expire_tokens)
    app.router.add_post("/_sandbox/tokens/revoke", post_revoke_tokens)
    app.router.add_post("/_sandbox/codes/expire", post_expire_codes)
