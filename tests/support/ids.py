"""The sandbox's accounts and sites, as the tests name them (``sandbox.atlassian.data`` is the
source: its seeded dataset is what every suite runs against)."""

from __future__ import annotations

from sandbox.atlassian import data

# Canary buckets (AI_SERVICE_CANARY_PERCENT=50): Alice's is 21 (ai-service), Bruno's 76 and
# Chloé's 70 (local engine).
ALICE = data.ALICE.account_id  # ACME (PAY, MOB) and GLOBEX (OPS, DATA)
BRUNO = data.BRUNO.account_id  # ACME (MOB)
CHLOE = data.CHLOE.account_id  # GLOBEX (OPS, DATA)

ACME = data.ACME.cloud_id
GLOBEX = data.GLOBEX.cloud_id
ACME_URL = data.ACME.url
GLOBEX_URL = data.GLOBEX.url

# The secret the test processes share with ai-service (``AI_SHARED_SECRET``).
AI_SHARED_SECRET = "test-shared-secret-1"
