"""The typed error family of the Jira client, each with the HTTP status and the stable code it is
answered with (``jira_ai.api`` maps every :class:`~core.errors.ApiError` in one place).

Messages are ours; Jira's own text is passed on only for bad JQL (its parser's messages are what the
user needs to fix the query), and then cleaned and truncated.
"""

from __future__ import annotations

from core.errors import ApiError, ErrorCode


class JiraError(ApiError):
    """Any failure talking to Jira."""

    status = 502
    code = ErrorCode.JIRA_UNAVAILABLE
    detail = "Jira failed to answer."


class JiraRetryable(JiraError):
    """A failure worth another attempt and counted by the circuit breaker (5xx, network)."""


class InvalidIssueKey(JiraError):
    status = 422
    code = ErrorCode.INVALID_INPUT
    detail = "Invalid issue key: expected a project key and a number, e.g. PAY-42."


class InvalidJql(JiraError):
    status = 422
    code = ErrorCode.INVALID_JQL
    detail = "Jira refused the JQL query."


class IssueNotFound(JiraError):
    status = 404
    code = ErrorCode.ISSUE_NOT_FOUND
    detail = "Issue does not exist or you do not have permission to see it."


class ProjectNotFound(JiraError):
    status = 404
    code = ErrorCode.PROJECT_NOT_FOUND
    detail = "Project does not exist or you do not have permission to see it."


class VersionNotFound(JiraError):
    status = 404
    code = ErrorCode.VERSION_NOT_FOUND
    detail = "The project has no version of that name."


class BoardNotFound(JiraError):
    status = 404
    code = ErrorCode.BOARD_NOT_FOUND
    detail = "Board does not exist or you do not have permission to see it."


class SprintNotFound(JiraError):
    status = 404
    code = ErrorCode.SPRINT_NOT_FOUND
    detail = "Sprint does not exist or you do not have permission to see it."


class JiraForbidden(JiraError):
    status = 403
    code = ErrorCode.SITE_FORBIDDEN
    detail = "Jira refused access to this site."


class JiraReauthRequired(JiraError):
    status = 401
    code = ErrorCode.ATLASSIAN_REAUTH_REQUIRED
    detail = "Atlassian refused the access token: sign in again."


class JiraScopeRefused(JiraReauthRequired):
    """A valid token without the route's scope (the gateway's "scope does not match"): the
    site's grant predates the Jira Software scopes or left them out; a new consent adds them."""

    detail = (
        "Your Atlassian authorization for this site does not cover Jira Software (boards and "
        "sprints): sign in again to grant it."
    )


class JiraRateLimited(JiraError):
    """429s beyond what we may wait; ``retry_after`` (seconds) goes out as ``Retry-After``."""

    status = 503
    code = ErrorCode.JIRA_RATE_LIMITED
    detail = "Jira is rate limiting requests: try again later."


class JiraUnavailable(JiraRetryable):
    status = 502
    code = ErrorCode.JIRA_UNAVAILABLE
    detail = "Jira is unavailable."


class JiraBadResponse(JiraError):
    status = 502
    code = ErrorCode.JIRA_UNAVAILABLE
    detail = "Jira sent a response that could not be read."


class JiraTimeout(JiraError):
    status = 504
    code = ErrorCode.JIRA_TIMEOUT
    detail = "Jira did not answer in time."


class JiraCircuitOpen(JiraError):
    """Answered at once, without calling Jira, while the site's breaker is open."""

    status = 503
    code = ErrorCode.JIRA_UNAVAILABLE
    detail = "Jira is failing for this site: requests are paused for a moment."
