"""The service token as pure functions: issue, verify, rotation, failing closed."""

from __future__ import annotations

import pytest

from ai_service.contract.tokens import (
    InvalidServiceToken,
    service_token_issue,
    service_token_verify,
)


def test_a_token_carries_the_account_and_a_unique_id() -> None:
    first = service_token_issue(account_id="acc-42", secrets=["k1"])
    second = service_token_issue(account_id="acc-42", secrets=["k1"])

    caller = service_token_verify(token=first, secrets=["k1"], max_age=60)

    assert caller.account_id == "acc-42"
    assert (
        caller.token_id != service_token_verify(token=second, secrets=["k1"], max_age=60).token_id
    )


def test_the_first_secret_signs_and_all_verify() -> None:
    token = service_token_issue(account_id="acc-1", secrets=["new", "old"])

    assert (
        service_token_verify(token=token, secrets=["newer", "new"], max_age=60).account_id
        == "acc-1"
    )
    with pytest.raises(InvalidServiceToken):
        service_token_verify(token=token, secrets=["old"], max_age=60)


def test_no_secret_fails_closed() -> None:
    token = service_token_issue(account_id="acc-1", secrets=["k1"])

    with pytest.raises(InvalidServiceToken):
        service_token_verify(token=token, secrets=[], max_age=60)
    with pytest.raises(ValueError, match="no AI_SHARED_SECRET"):
        service_token_issue(account_id="acc-1", secrets=[])
