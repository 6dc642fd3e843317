"""Admin: the live sessions read from Redis, revocable one by one or per account (superusers).

social_django's own admin pages are removed: they display ``extra_data``, the habitual home of
tokens (ours holds none, but no page should invite one back).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone
from redis.exceptions import RedisError
from social_django.models import Association, Nonce, UserSocialAuth

from accounts.models import LiveSession
from accounts.selectors import sessions_list
from accounts.services import account_sessions_revoke, session_revoke

for model in (UserSocialAuth, Nonce, Association):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


def _when(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).astimezone(
        timezone.get_current_timezone()
    )


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self._revoke(request)
        try:
            sessions = sessions_list()
            unavailable = False
        except RedisError:
            sessions, unavailable = [], True
        rows = [
            {
                "sid": info.sid,
                "sid_prefix": info.sid[:8],
                "account_id": info.account_id,
                "display_name": info.display_name,
                "sites": ", ".join(info.sites),
                "created": _when(info.created),
                "last_seen": _when(info.last_seen),
                "expires_in": dt.timedelta(seconds=info.expires_in),
            }
            for info in sessions
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Sessions",
            "opts": self.model._meta,
            "rows": rows,
            "unavailable": unavailable,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/accounts/sessions.html", context)

    def _revoke(self, request: HttpRequest) -> HttpResponse:
        sid = request.POST.get("sid", "")
        account_id = request.POST.get("account_id", "")
        try:
            if sid:
                done = session_revoke(sid=sid)
                self.message_user(
                    request, "Session revoked." if done else "No such session.", messages.INFO
                )
            elif account_id:
                count = account_sessions_revoke(account_id=account_id)
                self.message_user(request, f"{count} session(s) of {account_id} revoked.")
        except RedisError:
            self.message_user(request, "The session store is unavailable.", messages.ERROR)
        return HttpResponseRedirect(request.path)
