"""Atlassian sign-in, the signed Redis session, the per-site token vault, session admin."""
