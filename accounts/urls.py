"""Sign-in pages: the sign-in page and start of the dance, the OAuth callback, sign-out."""

from __future__ import annotations

from django.urls import path

from accounts import views

urlpatterns = [
    path("login", views.login_view, name="login"),
    path("oauth/callback", views.oauth_callback, name="oauth-callback"),
    path("logout", views.logout_view, name="logout"),
]
