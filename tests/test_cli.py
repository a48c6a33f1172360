"""The imbachat command as a site owner uses it, run as a real subprocess."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
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
    "args",
    [
        ("serve",),
        ("demo",),
        ("widgets",),
        ("widgets", "create"),
        ("token",),
        ("copy-db",),
        ("backup",),
        ("restore",),
    ],
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


# ---- Moving a database: copy-db, backup, restore ----------------------------------------


def _seed_demo_with_reading(url: str) -> None:
    """The demo's widget, users, rooms and history; Bob has read some of it."""
    from imbachat.demo.seed import seed_demo
    from imbachat.store.db import Database
    from tests.inprocess import in_process

    async def seed() -> None:
        db = Database(url)
        try:
            await db.migrate()
            demo = await seed_demo(db)
        finally:
            await db.close()
        async with in_process(url) as chat:
            bob = await chat.user(demo.widget, 2)
            await chat.services.members.mark_read(demo.widget, bob, demo.conference_id, 2)

    asyncio.run(seed())


def _what_each_user_sees(url: str) -> dict[int, list[tuple[object, ...]]]:
    """Per demo user: each room's id, name, last seq, unread count and history."""
    from imbachat.demo.seed import DEMO_IMBA_ID, DEMO_USERS
    from tests.inprocess import in_process

    async def read() -> dict[int, list[tuple[object, ...]]]:
        seen: dict[int, list[tuple[object, ...]]] = {}
        async with in_process(url) as chat:
            widget = await chat.services.widgets.get(DEMO_IMBA_ID)
            for remote_id in DEMO_USERS:
                user = await chat.user(widget, remote_id)
                views = await chat.services.rooms.views(user)
                seen[remote_id] = []
                for view in sorted(views, key=lambda v: v.room.id):
                    history, _ = await chat.services.messages.history(
                        widget, user, view.room.id, None, 50
                    )
                    seen[remote_id].append(
                        (view.room.id, view.room.name, view.room.last_seq, view.unread,
                         [(m.id, m.seq, m.author_id, m.body, m.created_at) for m in history])
                    )  # fmt: skip
        return seen

    return asyncio.run(read())


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for the test."""
    import os

    import asyncpg

    from tests.conftest import create_scratch_database, drop_scratch_database, service_missing

    base = os.environ.get("IMBACHAT_TEST_DATABASE_URL", "")
    base = base if base.startswith("postgres") else "postgresql://127.0.0.1:5432/test"
    try:
        scratch = asyncio.run(create_scratch_database(base))
    except (OSError, asyncpg.PostgresError) as exc:
        service_missing(f"PostgreSQL at {base} is not usable: {exc}")
    yield scratch
    asyncio.run(drop_scratch_database(base, scratch))


def test_copy_db_moves_the_demo_to_postgresql_with_its_rooms_messages_and_unread_counts(
    sqlite_url: str, postgres_url: str
) -> None:
    _seed_demo_with_reading(sqlite_url)

    copied = imbachat("copy-db", "--from", sqlite_url, "--to", postgres_url, "--chunk-rows", "2")

    assert copied.returncode == 0, copied.stderr
    assert "every table's count matches" in copied.stderr
    assert "messages" in copied.stdout and "total" in copied.stdout
    before, after = _what_each_user_sees(sqlite_url), _what_each_user_sees(postgres_url)
    assert after == before
    bob_in_team_chat = before[2][0]
    assert bob_in_team_chat[1] == "Team chat" and bob_in_team_chat[3] == 2  # 4 sent, 2 read
    again = imbachat("copy-db", "--from", sqlite_url, "--to", postgres_url)
    assert again.returncode == 0 and "already a complete copy" in again.stderr


def test_a_half_copied_database_is_refused_until_copy_db_runs_again(
    sqlite_url: str, tmp_path: Path
) -> None:
    from imbachat.app import create_app
    from imbachat.cli_data import database_label
    from imbachat.config import Settings
    from imbachat.store.copy import copy_database
    from imbachat.store.copy_state import UnfinishedCopy
    from imbachat.store.db import Database

    _seed_demo_with_reading(sqlite_url)
    target = f"sqlite:///{tmp_path / 'copy.db'}"

    class Interrupted(Exception):
        pass

    def stop_in_messages(table_name: str, copied: int) -> None:
        if table_name == "messages":
            raise Interrupted

    async def interrupted_copy() -> None:
        source, into = Database(sqlite_url), Database(target)
        try:
            await copy_database(
                source.engine,
                into,
                source_label=database_label(sqlite_url),  # as copy-db names it
                chunk_rows=2,
                after_chunk=stop_in_messages,
            )
        finally:
            await source.close()
            await into.close()

    async def start_server() -> None:
        app = create_app(Settings(database_url=target))
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(Interrupted):
        asyncio.run(interrupted_copy())

    refused = imbachat("migrate", database=target)
    assert refused.returncode == 1
    assert "copy of" in refused.stderr and "still in progress" in refused.stderr
    assert "imbachat copy-db" in refused.stderr and "Traceback" not in refused.stderr
    not_served = imbachat("serve", "--port", "1", database=target)  # refused before binding
    assert not_served.returncode == 1
    assert "still in progress" in not_served.stderr and "Traceback" not in not_served.stderr
    with pytest.raises(UnfinishedCopy):
        asyncio.run(start_server())

    resumed = imbachat("copy-db", "--from", sqlite_url, "--to", target, "--chunk-rows", "2")

    assert resumed.returncode == 0, resumed.stderr
    assert "resumed where it stopped" in resumed.stderr
    assert imbachat("migrate", database=target).returncode == 0
    asyncio.run(start_server())
    assert _what_each_user_sees(target) == _what_each_user_sees(sqlite_url)


def test_backup_and_restore_from_the_command_line(sqlite_url: str, tmp_path: Path) -> None:
    _seed_demo_with_reading(sqlite_url)
    backup = tmp_path / "nightly.db"
    restored = f"sqlite:///{tmp_path / 'restored.db'}"
    occupied = f"sqlite:///{tmp_path / 'occupied.db'}"
    imbachat("widgets", "create", "--login", "other", "--password", "pw", database=occupied)

    taken = imbachat("backup", "--to", str(backup), database=sqlite_url)
    again = imbachat("backup", "--to", str(backup), database=sqlite_url)
    restore = imbachat("restore", "--from", str(backup), "--to", restored)
    refused = imbachat("restore", "--from", str(backup), "--to", occupied)
    forced = imbachat("restore", "--from", str(backup), "--to", occupied, "--force", "--yes")

    assert taken.returncode == 0, taken.stderr
    assert "It records 0 files" in taken.stderr and "back up the files directory" in taken.stderr
    assert again.returncode == 1 and "add --force" in again.stderr
    assert restore.returncode == 0, restore.stderr
    assert "every table's count matches" in restore.stderr
    assert refused.returncode == 1
    assert "already holds data" in refused.stderr and "--force" in refused.stderr
    assert forced.returncode == 0, forced.stderr
    seen = _what_each_user_sees(sqlite_url)
    assert _what_each_user_sees(restored) == seen == _what_each_user_sees(occupied)


def test_moving_databases_explains_bad_input(sqlite_url: str, tmp_path: Path) -> None:
    imbachat("migrate", database=sqlite_url)
    text = tmp_path / "notes.txt"
    text.write_text("not a backup")
    target = f"sqlite:///{tmp_path / 'target.db'}"

    missing = imbachat("copy-db", "--from", f"sqlite:///{tmp_path / 'none.db'}", "--to", target)
    unreachable = imbachat(
        "copy-db", "--from", sqlite_url, "--to", "postgresql://nobody@127.0.0.1:1/none"
    )
    same = imbachat("copy-db", "--from", sqlite_url, "--to", sqlite_url)
    wrong = imbachat("copy-db", "--from", "mysql://db/chat", "--to", target)
    not_backup = imbachat("restore", "--from", str(text), "--to", target)
    no_backup = imbachat("restore", "--from", str(tmp_path / "none.db"), "--to", target)

    assert missing.returncode == 1 and "There is no database file" in missing.stderr
    assert unreachable.returncode == 1 and "Cannot reach the database" in unreachable.stderr
    assert same.returncode == 2 and "the same database" in same.stderr
    assert wrong.returncode == 2 and "postgresql://user@host:5432/db" in wrong.stderr
    assert not_backup.returncode == 1 and "is not a backup" in not_backup.stderr
    assert no_backup.returncode == 1 and "There is no backup file" in no_backup.stderr
    for result in (missing, unreachable, same, wrong, not_backup, no_backup):
        assert "Traceback" not in result.stderr


def test_a_source_at_another_schema_is_refused_and_left_as_it_is(
    sqlite_url: str, tmp_path: Path
) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from imbachat.store.db import alembic_config, head_revision

    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0015")  # as an older imbachat left it, its server running
    backup = tmp_path / "nightly.db"

    taken = imbachat("backup", "--to", str(backup), database=sqlite_url)
    copied = imbachat("copy-db", "--from", sqlite_url, "--to", f"sqlite:///{tmp_path / 'c.db'}")

    for refused in (taken, copied):
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert "is at schema revision 0015" in refused.stderr
        assert f"expects {head_revision()}" in refused.stderr
        assert "imbachat migrate" in refused.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0015"
    engine.dispose()
    assert not backup.exists()


def test_users_export_and_erase(sqlite_url: str, tmp_path: Path) -> None:
    import asyncio
    import zipfile

    from tests.inprocess import in_process

    created = imbachat("widgets", "create", "--login", "u", "--password", "p", database=sqlite_url)
    assert created.returncode == 0, created.stderr
    imba = json.loads(created.stdout)["imba_id"]

    async def arrange() -> None:
        async with in_process(sqlite_url) as chat:
            widget = await chat.services.widgets.get(imba)
            room = await chat.room(widget, [7, 8])
            await chat.send(widget, 7, room, "written by seven")

    asyncio.run(arrange())
    target = tmp_path / "seven.zip"

    exported = imbachat(
        "users", "export", "--imba-id", str(imba), "--user-id", "7", "--to", str(target),
        database=sqlite_url,
    )  # fmt: skip
    declined = subprocess.run(
        [sys.executable, "-m", "imbachat", "users", "erase", "--imba-id", str(imba),
         "--user-id", "7", "--database", sqlite_url],
        input="n\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    erased = imbachat(
        "users", "erase", "--imba-id", str(imba), "--user-id", "7", "--yes", database=sqlite_url
    )
    unknown = imbachat(
        "users", "erase", "--imba-id", str(imba), "--user-id", "7", "--yes", database=sqlite_url
    )

    assert exported.returncode == 0, exported.stderr
    with zipfile.ZipFile(target) as archive:
        messages = json.loads(archive.read("user.json"))["messages"]
    assert [m["message"] for m in messages] == ["written by seven"]
    assert declined.returncode == 1 and "Aborted" in declined.stderr
    assert erased.returncode == 0, erased.stderr
    summary = json.loads(erased.stdout)
    assert (summary["user_id"], summary["messages"], summary["rooms"]) == (7, 1, 1)
    assert summary["compacted"] is True
    assert unknown.returncode == 1 and "No user with user_id 7" in unknown.stderr
    huge = imbachat(
        "users", "erase", "--imba-id", str(imba), "--user-id", str(2**70), "--yes",
        database=sqlite_url,
    )  # fmt: skip
    assert huge.returncode == 2 and "--user-id" in huge.stderr and "Traceback" not in huge.stderr
    assert b"written by seven" not in Path(sqlite_url.removeprefix("sqlite:///")).read_bytes()


def test_widgets_set_retention_days(sqlite_url: str) -> None:
    imbachat("widgets", "create", "--login", "r", "--password", "p", database=sqlite_url)

    kept = imbachat(
        "widgets", "set", "--imba-id", "1", "--retention-days", "30", database=sqlite_url
    )
    forever = imbachat(
        "widgets", "set", "--imba-id", "1", "--retention-days", "0", database=sqlite_url
    )

    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["retention_days"] == 30
    assert json.loads(forever.stdout)["retention_days"] is None
