"""The typed error family of ``accounts``: each carries its HTTP status and stable code."""

from __future__ import annotations

from core.errors import ApiError, ErrorCode


class AccountsError(ApiError):
    pass


class NotAuthenticated(AccountsError):
    status = 401
    code = ErrorCode.NOT_AUTHENTICATED
    detail = "Not signed in."


class SessionExpired(AccountsError):
    status = 401
    code = ErrorCode.SESSION_EXPIRED
    detail = "Your session has expired: sign in again."


class CsrfFailed(AccountsError):
    status = 403
    code = ErrorCode.CSRF_FAILED
    detail = "CSRF check failed: send the X-CSRFToken header from the csrftoken cookie."


class SiteForbidden(AccountsError):
    status = 403
    code = ErrorCode.SITE_FORBIDDEN
    detail = "This Jira site is not one of yours."


class AtlassianReauthRequired(AccountsError):
    status = 401
    code = ErrorCode.ATLASSIAN_REAUTH_REQUIRED
    detail = "Atlassian access was revoked or expired: sign in again to re-consent."


class AtlassianUnavailable(AccountsError):
    status = 502
    code = ErrorCode.JIRA_UNAVAILABLE
    detail = "Atlassian did not answer: try again shortly."


class SessionStoreUnavailable(AccountsError):
    status = 503
    code = ErrorCode.SESSION_STORE_UNAVAILABLE
    detail = "The session store is unavailable: try again shortly."
