"""The imbachat command as a site owner uses it, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def imbachat(*args: str, database: str | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--database", database] if database else []
    return subprocess.run(
        [sys.executable, "-m", "imbachat", *args, *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_help_lists_every_command() -> None:
    result = imbachat("--help")

    assert result.returncode == 0
    for command in ("serve", "demo", "widgets", "migrate", "token"):
        assert command in result.stdout


@pytest.mark.parametrize(
    "args", [("serve",), ("demo",), ("widgets",), ("widgets", "create"), ("token",)]
)
def test_every_command_has_help(args: tuple[str, ...]) -> None:
    result = imbachat(*args, "--help")

    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_widgets_create_prints_the_widget_as_json(database_url: str) -> None:
    result = imbachat(
        "widgets", "create", "--login", "cli-owner", "--password", "pw", database=database_url
    )

    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["login"] == "cli-owner"
    assert isinstance(created["imba_id"], int)
    assert len(created["secret_key"]) >= 32


def test_explicit_id_and_secret_then_list_and_rotate(sqlite_url: str) -> None:
    created = imbachat(
        "widgets", "create", "--imba-id", "627", "--login", "admin", "--password", "admin",
        "--secret-key", "a-secret-of-enough-length", database=sqlite_url,
    )  # fmt: skip
    second = imbachat(
        "widgets", "create", "--login", "admin", "--password", "admin", database=sqlite_url
    )
    listed = imbachat("widgets", "list", database=sqlite_url)
    rotated = imbachat("widgets", "rotate-secret", "--imba-id", "627", database=sqlite_url)

    assert json.loads(created.stdout)["secret_key"] == "a-secret-of-enough-length"
    assert json.loads(second.stdout)["imba_id"] == 628
    assert [w["imba_id"] for w in json.loads(listed.stdout)] == [627, 628]
    new_secret = json.loads(rotated.stdout)["secret_key"]
    assert new_secret != "a-secret-of-enough-length"
    assert (
        json.loads(imbachat("widgets", "list", database=sqlite_url).stdout)[0]["secret_key"]
        == new_secret
    )


def test_errors_are_clear_and_exit_non_zero(sqlite_url: str) -> None:
    imbachat(
        "widgets",
        "create",
        "--imba-id",
        "5",
        "--login",
        "a",
        "--password",
        "b",
        database=sqlite_url,
    )

    taken = imbachat(
        "widgets",
        "create",
        "--imba-id",
        "5",
        "--login",
        "a",
        "--password",
        "b",
        database=sqlite_url,
    )
    other_password = imbachat(
        "widgets", "create", "--login", "a", "--password", "not-b", database=sqlite_url
    )
    unknown = imbachat("widgets", "rotate-secret", "--imba-id", "77", database=sqlite_url)
    missing_login = imbachat("widgets", "create", "--password", "x", database=sqlite_url)

    assert taken.returncode == 1 and "imba_id 5 already exists" in taken.stderr
    assert other_password.returncode == 1 and "another password" in other_password.stderr
    assert unknown.returncode == 1 and "No widget with imba_id 77" in unknown.stderr
    assert missing_login.returncode == 2 and "--login" in missing_login.stderr
    assert "Traceback" not in taken.stderr + other_password.stderr + unknown.stderr


def test_an_unreachable_database_is_reported_plainly() -> None:
    result = imbachat("migrate", database="postgresql://nobody@127.0.0.1:1/none")

    assert result.returncode == 1
    assert "Cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_prints_a_jwt_the_api_accepts(sqlite_url: str) -> None:
    created = json.loads(
        imbachat("widgets", "create", "--login", "t", "--password", "t", database=sqlite_url).stdout
    )

    result = imbachat(
        "token", "--imba-id", str(created["imba_id"]), "--user-id", "7", database=sqlite_url
    )

    import jwt

    claims = jwt.decode(result.stdout.strip(), created["secret_key"], algorithms=["HS256"])
    assert claims["user_id"] == 7
    assert claims["exp"] > 0


def test_webhooks_add_list_deliveries_and_replay(sqlite_url: str) -> None:
    created = json.loads(
        imbachat("widgets", "create", "--login", "w", "--password", "w", database=sqlite_url).stdout
    )
    imba = str(created["imba_id"])

    added = imbachat(
        "webhooks", "add", "--imba-id", imba, "--url", "https://site.test/hook",
        "--events", "message.new,room.created", "--bot-user-id", "99", database=sqlite_url,
    )  # fmt: skip
    listed = imbachat("webhooks", "list", "--imba-id", imba, database=sqlite_url)
    deliveries = imbachat("webhooks", "deliveries", "--imba-id", imba, database=sqlite_url)
    unknown = imbachat(
        "webhooks", "replay", "--imba-id", imba, "--delivery", "5", database=sqlite_url
    )
    bad = imbachat(
        "webhooks", "add", "--imba-id", imba, "--url", "https://x.test", "--events", "nope",
        database=sqlite_url,
    )  # fmt: skip

    assert added.returncode == 0, added.stderr
    hook = json.loads(added.stdout)
    assert isinstance(hook["id"], int) and len(hook["secret"]) >= 32
    assert (hook["events"], hook["bot_user_id"]) == (["message.new", "room.created"], 99)
    assert [h["id"] for h in json.loads(listed.stdout)] == [hook["id"]]
    assert json.loads(deliveries.stdout) == []
    assert unknown.returncode == 1 and "No delivery 5" in unknown.stderr
    assert bad.returncode == 1 and "Unknown events" in bad.stderr


def test_the_host_sites_urls_are_checked_and_shown(sqlite_url: str) -> None:
    created = imbachat(
        "widgets", "create", "--login", "s", "--password", "p",
        "--users-info-url", "https://site/wp-json/imbachat/v1/getusers/",
        "--users-search-url", "https://site/wp-json/imbachat/v1/searchusers/",
        database=sqlite_url,
    )  # fmt: skip
    not_http = imbachat(
        "widgets", "create", "--login", "s", "--password", "p",
        "--users-search-url", "javascript:alert(1)", database=sqlite_url,
    )  # fmt: skip

    assert created.returncode == 0, created.stderr
    shown = json.loads(created.stdout)
    assert shown["users_search_url"] == "https://site/wp-json/imbachat/v1/searchusers/"
    [listed] = json.loads(imbachat("widgets", "list", database=sqlite_url).stdout)
    assert listed["users_search_url"] == shown["users_search_url"]
    assert not_http.returncode == 1
    assert "users_search_url must be an http(s) URL" in not_http.stderr
    assert "Traceback" not in not_http.stderr


def test_widgets_set_changes_only_what_is_given(sqlite_url: str) -> None:
    created = imbachat("widgets", "create", "--login", "o", "--password", "p", database=sqlite_url)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["guests"] is True

    changed = imbachat(
        "widgets", "set", "--imba-id", "1", "--no-guests",
        "--users-info-url", "https://site.example/wp-json/imbachat/v1/getusers/",
        "--theme", "dark", "--accent-color", "#0F766E",
        "--file-types", "pdf, image", "--files-quota-bytes", "5000000",
        "--no-sound", "--away-notify-seconds", "60",
        database=sqlite_url,
    )  # fmt: skip
    capitals = imbachat("widgets", "set", "--imba-id", "1", "--api-login", "Admin",
                        database=sqlite_url)  # fmt: skip
    listed = imbachat("widgets", "list", database=sqlite_url)

    assert changed.returncode == 0, changed.stderr
    [widget] = json.loads(listed.stdout)
    assert widget["guests"] is False and widget["guests_write_public"] is False
    assert widget["users_info_url"] == "https://site.example/wp-json/imbachat/v1/getusers/"
    assert (widget["theme"], widget["accent_color"]) == ("dark", "#0f766e")
    assert (widget["file_types"], widget["files_quota_bytes"]) == (["image", "pdf"], 5_000_000)
    assert (widget["notify_sound"], widget["away_notify_seconds"]) == (False, 60)
    unknown = imbachat("widgets", "set", "--imba-id", "1", "--file-types", "exe",
                       database=sqlite_url)  # fmt: skip
    assert unknown.returncode != 0 and "unknown file type exe" in unknown.stderr
    assert capitals.returncode != 0 and "lowercase" in capitals.stderr
