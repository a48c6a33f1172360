"""Secrets the server generates for an owner."""

from __future__ import annotations

import secrets

import pytest

from imbachat.services.widgets import new_secret_key


def test_a_generated_secret_never_starts_with_a_dash_so_it_pastes_after_an_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn = iter(["-looks-like-an-option", "--another", "a-usable-secret"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda nbytes: next(drawn))
    assert new_secret_key() == "a-usable-secret"


def test_a_generated_secret_carries_256_bits() -> None:
    keys = {new_secret_key() for _ in range(200)}
    assert len(keys) == 200
    assert all(len(key) == 43 and not key.startswith("-") for key in keys)
