"""The ``imbachat`` command: run the server, manage widgets, try the demo."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from imbachat import __version__, render
from imbachat.config import DEFAULT_DATABASE_URL, Settings
from imbachat.domain import Widget
from imbachat.errors import ImbaError
from imbachat.numbers import MAX_ID, MIN_GUEST_ID
from imbachat.states import DeliveryStatus
from imbachat.store.db import Database, describe_url

if TYPE_CHECKING:
    from imbachat.services import Services

T = TypeVar("T")

database_option = click.option(
    "--database",
    "database_url",
    envvar="IMBACHAT_DATABASE_URL",
    default=DEFAULT_DATABASE_URL,
    show_default=True,
    metavar="URL",
    help="sqlite:///path.db or postgresql://user@host:5432/db (env IMBACHAT_DATABASE_URL).",
)


def run_with_database(database_url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open and migrate the database, run ``work``, and turn failures into clear messages."""

    async def main() -> T:
        db = Database(database_url)
        try:
            await db.migrate()
            return await work(db)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except ImbaError as exc:
        raise click.ClickException(exc.message) from None
    except (OSError, ConnectionError) as exc:
        raise click.ClickException(
            f"Cannot reach the database {describe_url(database_url)}: {exc}"
        ) from None


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="imbachat")
def main() -> None:
    """imbachat: a self-hostable chat server that speaks the ImbaChat API.

    \b
    Start here:
      imbachat demo                  a server with demo users and history
      imbachat widgets create ...    a widget for your own site
      imbachat serve                 run the server (migrates the database first)

    Every command takes --database (env IMBACHAT_DATABASE_URL); the default is a
    SQLite file ./imbachat.db in the current directory.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@database_option
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.option(
    "--log-format",
    envvar="IMBACHAT_LOG_FORMAT",
    default="text",
    show_default=True,
    type=click.Choice(["text", "json"]),
    help="Readable lines, or one JSON object a line (env IMBACHAT_LOG_FORMAT).",
)
@click.option(
    "--workers",
    envvar="IMBACHAT_WORKERS",
    default=1,
    show_default=True,
    type=click.IntRange(1, 512),
    metavar="N",
    help="Processes serving the port, to use N cores; more than 1 needs a PostgreSQL "
    "--database and IMBACHAT_BUS_URL (env IMBACHAT_WORKERS).",
)
def serve(
    host: str, port: int, database_url: str, log_level: str, log_format: str, workers: int
) -> None:
    """Run the chat server; the database is migrated at start.

    \b
    Several nodes: give each the same PostgreSQL --database and
    IMBACHAT_BUS_URL=redis://127.0.0.1:6379, and they behave as one server.
    One machine's cores: --workers N runs N such nodes on one port.

    \b
    SIGTERM (or Ctrl-C) stops gracefully: no new connections, sockets closed with
    1001 (clients resume on another node), requests and the message writer finished,
    webhook attempts in flight given IMBACHAT_SHUTDOWN_GRACE_SECONDS (10); exit 0.
    """
    from imbachat.server import WorkersRefused, run_server

    settings = Settings(
        database_url=database_url,
        host=host,
        port=port,
        log_level=log_level,
        log_format=log_format,  # type: ignore[arg-type]  # click checked the choice
        workers=workers,
    )
    try:
        run_server(settings)
    except WorkersRefused as exc:
        raise click.ClickException(str(exc)) from None
    except ImbaError as exc:
        raise click.ClickException(exc.message) from None
    except (OSError, ConnectionError) as exc:
        raise click.ClickException(
            f"Cannot reach the database {describe_url(database_url)}: {exc}"
        ) from None


@main.command()
@database_option
def migrate(database_url: str) -> None:
    """Bring the database schema up to date, then exit."""
    run_with_database(database_url, _noop)
    click.echo(f"Database {describe_url(database_url)} is up to date.", err=True)


async def _noop(_db: Database) -> None:
    return None


@main.group()
def widgets() -> None:
    """Create and inspect widgets (one per website)."""


@widgets.command("create")
@click.option(
    "--imba-id", type=click.IntRange(1, MAX_ID), help="Widget id; default: the next free one."
)
@click.option("--login", required=True, help="Owner login for the v1 API.")
@click.option("--password", required=True, help="Owner password for the v1 API.")
@click.option("--secret-key", help="Secret for v2 Basic auth and user JWTs; default: random.")
@click.option("--users-info-url", metavar="URL", help="Host site URL that answers user names.")
@click.option(
    "--users-search-url",
    metavar="URL",
    help="Host site URL that answers a name search (the text is appended or fills {text}).",
)
@click.option(
    "--api-login", help="Basic auth login the server uses on the host site's URLs (lowercase)."
)
@click.option("--api-password", help="Basic auth password for the host site's URLs.")
@click.option(
    "--guests/--no-guests",
    default=True,
    show_default=True,
    help="Visitors who are not logged in may chat with support and read public rooms.",
)
@click.option(
    "--guests-write-public/--no-guests-write-public",
    default=False,
    show_default=True,
    help="Guests may also write in public rooms.",
)
@database_option
def widgets_create(
    imba_id: int | None,
    login: str,
    password: str,
    secret_key: str | None,
    users_info_url: str | None,
    users_search_url: str | None,
    api_login: str | None,
    api_password: str | None,
    guests: bool,
    guests_write_public: bool,
    database_url: str,
) -> None:
    """Create a widget and its owner account; prints it as JSON."""
    from imbachat.services.widgets import NewWidget, WidgetService

    spec = NewWidget(
        login=login,
        password=password,
        imba_id=imba_id,
        secret_key=secret_key,
        users_info_url=users_info_url,
        users_search_url=users_search_url,
        api_login=api_login,
        api_password=api_password,
        guests_enabled=guests,
        guests_write_public=guests_write_public,
    )
    widget = run_with_database(database_url, lambda db: WidgetService(db).create(spec))
    print_json({"imba_id": widget.imba_id, "secret_key": widget.secret_key, "login": login,
                **render.widget_settings(widget)})  # fmt: skip


@widgets.command("set")
@click.option("--imba-id", required=True, type=click.IntRange(1, MAX_ID))
@click.option(
    "--users-info-url", metavar="URL", help='Host site URL that answers user names ("" clears it).'
)
@click.option(
    "--users-search-url",
    metavar="URL",
    help='Host site URL that answers a name search ("" clears it).',
)
@click.option("--api-login", help="Basic auth login on the host site's URLs (lowercase).")
@click.option("--api-password", help="Basic auth password for the host site's URLs.")
@click.option(
    "--guests/--no-guests",
    default=None,
    help="Let visitors who are not logged in chat with support.",
)
@click.option(
    "--guests-write-public/--no-guests-write-public",
    default=None,
    help="Let guests write in public rooms.",
)
@click.option(
    "--theme",
    type=click.Choice(["auto", "light", "dark"]),
    help="auto follows each visitor's light or dark preference.",
)
@click.option(
    "--accent-color", metavar="#RRGGBB", help='The widget\'s colour ("" for the default).'
)
@click.option(
    "--file-types",
    metavar="LIST",
    help="Files people may send: image,pdf,office,text,archive,audio,video,other, or none "
    '("" for the default: all but other).',
)
@click.option(
    "--files-quota-bytes",
    type=click.IntRange(min=0),
    metavar="BYTES",
    help="Storage for the widget's files (0: the server's IMBACHAT_FILES_QUOTA_BYTES).",
)
@click.option(
    "--sound/--no-sound",
    "notify_sound",
    default=None,
    help="Let the widget play a short sound for new messages (people may still turn it off).",
)
@click.option(
    "--away-notify-seconds",
    type=click.IntRange(min=0),
    metavar="SECONDS",
    help="How long a message waits unread before an away member is told (0: the default).",
)
@click.option(
    "--email-link-url",
    metavar="URL",
    help='Where e-mails lead; {room_id} is filled in ("" for the page the widget was on).',
)
@click.option(
    "--language",
    type=click.Choice(["en", "es", "ru", "fr", "it", "ar"]),
    help="The language of the widget's e-mails.",
)
@click.option(
    "--allowed-origins",
    metavar="ORIGINS",
    help='Pages the widget may be used from, e.g. "https://shop.example,https://*.shop.example"'
    ' ("" for any page).',
)
@click.option(
    "--retention-days",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Delete messages (and their files) older than this many days (0: keep them for ever).",
)
@database_option
def widgets_set(
    imba_id: int,
    users_info_url: str | None,
    users_search_url: str | None,
    api_login: str | None,
    api_password: str | None,
    guests: bool | None,
    guests_write_public: bool | None,
    theme: str | None,
    accent_color: str | None,
    file_types: str | None,
    files_quota_bytes: int | None,
    notify_sound: bool | None,
    away_notify_seconds: int | None,
    email_link_url: str | None,
    language: str | None,
    allowed_origins: str | None,
    retention_days: int | None,
    database_url: str,
) -> None:
    """Change a widget's settings (only those given); prints them as JSON. A running
    server sees the change within seconds."""
    from imbachat.services.widgets import WidgetService, WidgetSettings

    settings = WidgetSettings(
        users_info_url=users_info_url,
        users_search_url=users_search_url,
        api_login=api_login,
        api_password=api_password,
        guests_enabled=guests,
        guests_write_public=guests_write_public,
        theme=theme,
        accent_color=accent_color,
        file_types=file_types,
        files_quota_bytes=files_quota_bytes,
        notify_sound=notify_sound,
        away_notify_seconds=away_notify_seconds,
        email_link_url=email_link_url,
        language=language,
        allowed_origins=allowed_origins,
        retention_days=retention_days,
    )
    widget = run_with_database(database_url, lambda db: WidgetService(db).update(imba_id, settings))
    print_json({"imba_id": widget.imba_id, **render.widget_settings(widget)})


# `widgets update` is the same command under the name the dashboard's docs use.
widgets.add_command(widgets_set, "update")


@widgets.command("list")
@database_option
def widgets_list(database_url: str) -> None:
    """List every widget as JSON (secrets included: this is an admin tool)."""
    from imbachat.services.widgets import WidgetService

    found = run_with_database(database_url, lambda db: WidgetService(db).list())
    print_json(
        [
            {
                "imba_id": widget.imba_id,
                "login": login,
                "secret_key": widget.secret_key,
                **render.widget_settings(widget),
                "created_at": widget.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            }
            for widget, login in found
        ]
    )


@widgets.command("rotate-secret")
@click.option("--imba-id", required=True, type=click.IntRange(1, MAX_ID))
@click.option("--secret-key", help="The new secret; default: random.")
@database_option
def widgets_rotate_secret(imba_id: int, secret_key: str | None, database_url: str) -> None:
    """Replace a widget's secret key; user tokens signed with the old one stop working."""
    from imbachat.services.widgets import WidgetService

    widget = run_with_database(
        database_url, lambda db: WidgetService(db).rotate_secret(imba_id, secret_key)
    )
    print_json({"imba_id": widget.imba_id, "secret_key": widget.secret_key})


@main.group()
def webhooks() -> None:
    """Send chat events to your site or your bots, signed, retried for a day."""


def _with_widget(
    database_url: str, imba_id: int, work: Callable[[Services, Widget], Awaitable[T]]
) -> T:
    async def run(db: Database) -> T:
        from imbachat.bus.memory import InMemoryBus
        from imbachat.services import build_services

        services = build_services(db, InMemoryBus(), Settings())
        try:
            return await work(services, await services.widgets.get(imba_id))
        finally:
            await services.profiles.close()

    return run_with_database(database_url, run)


@webhooks.command("add")
@click.option("--imba-id", required=True, type=click.IntRange(1, MAX_ID))
@click.option("--url", required=True, help="http(s) URL that receives the events.")
@click.option("--secret", help="Signing secret (16-255 characters); default: random.")
@click.option("--events", help="Comma-separated events; default: all of them.")
@click.option("--bot-user-id", type=click.IntRange(1, MAX_ID), help="Make this host user a bot.")
@database_option
def webhooks_add(
    imba_id: int,
    url: str,
    secret: str | None,
    events: str | None,
    bot_user_id: int | None,
    database_url: str,
) -> None:
    """Register an endpoint; prints it as JSON, with its id and secret."""
    chosen = events.split(",") if events else None
    hook = _with_widget(
        database_url,
        imba_id,
        lambda s, w: s.webhooks.add(w, url, secret=secret, events=chosen, bot_user_id=bot_user_id),
    )
    print_json(hook)


@webhooks.command("list")
@click.option("--imba-id", required=True, type=click.IntRange(1, MAX_ID))
@database_option
def webhooks_list(imba_id: int, database_url: str) -> None:
    """List a widget's endpoints as JSON."""
    print_json(_with_widget(database_url, imba_id, lambda s, w: s.webhooks.endpoints(w)))


@webhooks.command("deliveries")
@click.option("--imba-id", required=True, type=click.IntRange(1, MAX_ID))
@click.option("--webhook-id", type=click.IntRange(1, MAX_ID))
@click.option("--status", type=click.Choice([status.value for status in DeliveryStatus]))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
@database_option
def webhooks_deliveries(
    imba_id: int, webhook_id: int | None, status: str | None, limit: int, database_url: str
) -> None:
    """The delivery log, newest first: status, attempts, last error."""
    print_json(
        _with_widget(
            database_url,
            imba_id,
            lambda s, w: s.webhooks.deliveries(
                w, webhook_id=webhook_id, status=status, limit=limit
            ),
        )
    )


@webhooks.command("replay")
@click.option("--imba-id", required=True, type=click.IntRange(1, MAX_ID))
@click.option(
    "--delivery", "delivery", required=True, type=click.IntRange(1, MAX_ID), help="Row id."
)
@database_option
def webhooks_replay(imba_id: int, delivery: int, database_url: str) -> None:
    """Send a delivery again (a running server picks it up within a second)."""
    _with_widget(database_url, imba_id, lambda s, w: s.webhooks.replay(w, delivery))
    print_json({"id": delivery, "status": "pending"})


@main.group()
def users() -> None:
    """Privacy requests: everything held about a user, or their erasure."""


host_user_option = click.option(
    "--user-id",
    required=True,
    type=click.IntRange(MIN_GUEST_ID, MAX_ID),
    help="The host site's user id (a guest's is negative).",
)


@users.command("export")
@click.option("--imba-id", required=True, type=click.IntRange(1, MAX_ID))
@host_user_option
@click.option(
    "--to",
    "target",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the zip; default: imbachat-<imba_id>-user-<user_id>.zip here.",
)
@database_option
def users_export(imba_id: int, user_id: int, target: Path | None, database_url: str) -> None:
    """Write everything held about a user as a zip: user.json (profile, rooms and read
    marks, messages, reactions, blocks, reports, files' records) and files/ (the files
    they uploaded)."""
    path = target or Path(f"imbachat-{imba_id}-user-{user_id}.zip")
    size = _with_widget(
        database_url,
        imba_id,
        lambda s, w: s.privacy.export(w, user_id, path, actor="cli"),
    )
    click.echo(f"Wrote {path} ({size} bytes).", err=True)


@users.command("erase")
@click.option("--imba-id", required=True, type=click.IntRange(1, MAX_ID))
@host_user_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@database_option
def users_erase(imba_id: int, user_id: int, yes: bool, database_url: str) -> None:
    """Erase a user: their messages show as deleted (text and files removed), they
    leave every room, their reactions, blocks and reports go, their profile is
    forgotten; webhook user.erased. Prints a summary as JSON. It cannot be undone."""
    if not yes:
        click.confirm(
            f"Erase user {user_id} of widget {imba_id}? This cannot be undone", abort=True
        )
    erasure = _with_widget(
        database_url, imba_id, lambda s, w: s.privacy.erase(w, user_id, actor="cli")
    )
    print_json(erasure.as_json())


@main.command("dashboard-link")
@click.option("--imba-id", required=True, type=click.IntRange(1, MAX_ID))
@click.option(
    "--url",
    "base_url",
    envvar="IMBACHAT_PUBLIC_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="This server's address as the owner's browser reaches it (env IMBACHAT_PUBLIC_URL).",
)
@database_option
def dashboard_link(imba_id: int, base_url: str, database_url: str) -> None:
    """Print a one-time link that signs the widget's owner in to the dashboard
    (single use; it expires after IMBACHAT_DASHBOARD_LINK_SECONDS, 15 minutes)."""

    async def make(services: Services, widget: Widget) -> tuple[str, int]:
        token = await services.dashboard.create_link(widget.imba_id)
        await services.audit.record(widget.imba_id, "cli", "sign-in link created")
        return token, services.dashboard.link_minutes

    token, minutes = _with_widget(database_url, imba_id, make)
    click.echo(f"{base_url.rstrip('/')}/dashboard/link/{token}")
    click.echo(f"Single use, valid for {minutes} minutes.", err=True)


@main.command()
@click.option("--imba-id", required=True, type=click.IntRange(1, MAX_ID))
@click.option("--user-id", required=True, type=click.IntRange(1, MAX_ID), help="Host site user id.")
@click.option("--ttl", default=86_400, show_default=True, type=click.IntRange(1), help="Seconds.")
@database_option
def token(imba_id: int, user_id: int, ttl: int, database_url: str) -> None:
    """Print a user JWT, as the host site would sign it (for trying the JWT header)."""
    from imbachat.auth.tokens import issue_user_token
    from imbachat.services.widgets import WidgetService

    widget = run_with_database(database_url, lambda db: WidgetService(db).get(imba_id))
    click.echo(issue_user_token(widget.secret_key, user_id, ttl))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--database",
    "database_url",
    default="sqlite:///./imbachat-demo.db",
    show_default=True,
    metavar="URL",
    help="Where the demo keeps its data.",
)
def demo(host: str, port: int, database_url: str) -> None:
    """Start a server with a demo widget, users Alice (1), Bob (2) and Carol (3),
    a conference and a support room with some history."""
    from imbachat.demo.seed import seed_demo
    from imbachat.server import run_server

    seeded = run_with_database(database_url, seed_demo)
    base = f"http://{host}:{port}"
    click.echo(seeded.instructions(base), err=True)
    sys.stderr.flush()
    run_server(Settings(database_url=database_url, host=host, port=port, demo=True, workers=1))


# Moving a whole database: copy-db, backup, restore (their own module: imbachat.cli_data).
from imbachat.cli_data import backup, copy_db, restore  # noqa: E402

main.add_command(copy_db)
main.add_command(backup)
main.add_command(restore)
