"""No table of our own: sessions live in Redis. ``LiveSession`` is an unmanaged model that only
gives the admin its "Sessions" page (accounts/admin.py)."""

from __future__ import annotations

from django.db import models


class LiveSession(models.Model):
    sid = models.CharField(max_length=100, primary_key=True)

    class Meta:
        managed = False
        verbose_name = "session"
        verbose_name_plural = "sessions"
        default_permissions = ()

    def __str__(self) -> str:
        return self.sid[:8]
