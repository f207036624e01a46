"""`make screenshot` never touches the user's own history, settings or keychain."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import pytest

from streamdesk.core.paths import HOME_ENV, data_dir
from streamdesk.ui import screenshots


def test_the_shots_run_on_a_throwaway_home_and_keychain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    own_home = tmp_path / "own"
    monkeypatch.setenv(HOME_ENV, str(own_home))
    seen: dict[str, object] = {}

    async def shoot(outdir: Path) -> list[Path]:
        seen["home"] = os.environ[HOME_ENV]
        seen["data"] = data_dir()
        seen["keychain"] = keyring.get_keyring()
        return []

    monkeypatch.setattr(screenshots, "shoot", shoot)
    users_keychain = keyring.get_keyring()
    try:
        assert screenshots.main([str(tmp_path / "shots")]) == 0
    finally:
        keyring.set_keyring(users_keychain)
    assert seen["home"] != str(own_home)
    assert not Path(str(seen["home"])).exists(), "the run's home is removed afterwards"
    assert not own_home.exists()
    assert Path(str(seen["data"])).is_relative_to(str(seen["home"]))
    assert isinstance(seen["keychain"], screenshots.SessionKeyring)


def test_session_keyring_holds_keys_for_the_run_only() -> None:
    ring = screenshots.SessionKeyring()
    ring.set_password("streamdesk", "openai", "sk-test")
    assert ring.get_password("streamdesk", "openai") == "sk-test"
    ring.delete_password("streamdesk", "openai")
    assert ring.get_password("streamdesk", "openai") is None
    with pytest.raises(keyring.errors.PasswordDeleteError):
        ring.delete_password("streamdesk", "openai")
