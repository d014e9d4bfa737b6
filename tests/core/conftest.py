"""The core tests use the store suite's profile fixtures (real SQLCipher profiles in tmp
folders); they are shared from there until the suites' conftests become one."""

from __future__ import annotations

from tests.store.conftest import _private_env, password, profile, profile_dir, work

__all__ = ["_private_env", "password", "profile", "profile_dir", "work"]
