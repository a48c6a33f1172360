"""Tables of imbachat.

Counters that reads need (a room's member count and last ``seq``, a member's last
read ``seq``, a user's last message date) are columns maintained on write, so no
request ever counts rows. Unread = ``rooms.last_seq - members.last_read_seq``.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from imbachat.domain import Attachment, CallSummary, Reaction
from imbachat.states import (
    CallKind,
    CallOutcome,
    CallState,
    CopyState,
    DeliveryStatus,
    EmailChoice,
    MemberRole,
    MemberState,
    ReportOutcome,
    ReportStatus,
    RoomStatus,
    RoomType,
    UserStatus,
)


class IntState(TypeDecorator[IntEnum]):
    """A small integer column read as its ``IntEnum`` (the stored value is the same)."""

    impl = SmallInteger
    cache_ok = True

    def __init__(self, states: type[IntEnum]) -> None:
        super().__init__()
        self.states = states
        self._by_value: dict[Any, IntEnum] = {state.value: state for state in states}

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> IntEnum | None:
        return None if value is None else self._by_value[value]


class StrState(TypeDecorator[StrEnum]):
    """A short text column read as its ``StrEnum`` (the stored value is the same)."""

    impl = String(16)
    cache_ok = True

    def __init__(self, states: type[StrEnum]) -> None:
        super().__init__()
        self.states = states
        self._by_value: dict[Any, StrEnum] = {state.value: state for state in states}

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self._by_value[value]


class Attachments(TypeDecorator[tuple[Attachment, ...]]):
    """A message's files as a JSON list (without their links, which are signed
    when the message is sent to someone); NULL for a message without files."""

    impl = Text
    cache_ok = True
    _KEPT = ("id", "name", "size", "content_type", "width", "height", "thumbnail")

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if not value:
            return None
        kept = [{name: getattr(a, name) for name in self._KEPT} for a in value]
        return orjson.dumps(kept).decode()

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[Attachment, ...]:
        if not value:
            return ()
        return tuple(Attachment(**item) for item in orjson.loads(value))


class Reactions(TypeDecorator[tuple[Reaction, ...]]):
    """A message's reactions as they render (JSON), rebuilt from ``reactions`` rows on
    each change so reads never group them; NULL for none, as most messages."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if not value:
            return None
        return orjson.dumps([[r.emoji, r.count, list(r.user_ids)] for r in value]).decode()

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[Reaction, ...]:
        if not value:
            return ()
        return tuple(
            Reaction(emoji, count, tuple(ids)) for emoji, count, ids in orjson.loads(value)
        )


class CallRecord(TypeDecorator[CallSummary]):
    """A call's record message: ``{"kind", "outcome", "duration"}`` (JSON); NULL for
    every other message."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return orjson.dumps(
            {"kind": value.kind, "outcome": value.outcome, "duration": value.duration}
        ).decode()

    def process_result_value(self, value: Any, dialect: Dialect) -> CallSummary | None:
        if not value:
            return None
        found = orjson.loads(value)
        return CallSummary(
            CallKind(found["kind"]), CallOutcome(found["outcome"]), int(found["duration"])
        )


class HostIds(TypeDecorator[tuple[int, ...]]):
    """A list of host user ids (JSON); NULL for none."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return orjson.dumps(list(value)).decode() if value else None

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[int, ...]:
        return tuple(orjson.loads(value)) if value else ()


# SQLite only auto-increments an "INTEGER PRIMARY KEY"; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

owners = Table(
    "owners",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("login", String(255), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

widgets = Table(
    "widgets",
    metadata,
    Column("imba_id", BigInteger, primary_key=True, autoincrement=False),
    Column("owner_id", Id, ForeignKey("owners.id"), nullable=False, index=True),
    Column("secret_key", String(255), nullable=False),
    Column("users_info_url", String(2048)),
    Column("api_login", String(255)),
    Column("api_password", String(255)),
    # One word or phrase a line; messages containing any are refused.
    Column("blocked_words", Text),
    # Where the host site answers a name search (ours, like the WordPress plugin's).
    Column("users_search_url", String(2048)),
    # Visitors without an account may chat with support (and read public rooms);
    # with guests_write_public they may also write in public rooms.
    Column("guests_enabled", Boolean, nullable=False, default=True, server_default=true()),
    Column("guests_write_public", Boolean, nullable=False, default=False, server_default=false()),
    # How the widget looks: "auto" (the visitor's light or dark preference), "light"
    # or "dark"; and the owner's accent colour (#rrggbb), in both.
    Column("theme", String(8), nullable=False, default="auto", server_default="auto"),
    Column("accent_color", String(7)),
    # Files: the categories the widget takes (comma-separated; NULL: the default
    # list), its own quota (NULL: the server's), and what its files take now.
    Column("file_types", String(200)),
    Column("files_quota_bytes", BigInteger),
    Column("files_bytes", BigInteger, nullable=False, default=0, server_default="0"),
    # Alerts: may the widget play a sound; how long a message waits unread before its
    # member is told elsewhere (NULL: the server's default); where e-mails lead.
    Column("notify_sound", Boolean, nullable=False, default=True, server_default=true()),
    Column("away_notify_seconds", Integer),
    Column("email_link_url", String(2048)),
    Column("language", String(8), nullable=False, default="en", server_default="en"),
    # The host pages it may be used from (origins, one a line); NULL: any page.
    Column("allowed_origins", Text),
    # Messages older than this many days are deleted (NULL: kept for ever).
    Column("retention_days", Integer),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("imba_id", BigInteger, ForeignKey("widgets.imba_id"), nullable=False),
    Column("remote_user_id", BigInteger, nullable=False),
    Column("name", String(255)),
    Column("status", StrState(UserStatus), nullable=False, default=UserStatus.USER),
    Column("avatar_url", String(2048)),
    Column("profile_url", String(2048)),
    Column("user_data", Text),
    Column("is_banned", Boolean, nullable=False, default=False),
    Column("is_bot", Boolean, nullable=False, default=False, server_default=false()),
    Column("last_message_at", DateTime),
    Column("info_fetched_at", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("deleted_at", DateTime),
    Column(
        "email_notify",
        StrState(EmailChoice),
        nullable=False,
        default=EmailChoice.ALL,
        server_default=EmailChoice.ALL.value,
    ),
    # Erased on request: the row stays so history still names an author (a deleted
    # user), with nothing of the person left in it (services/privacy.py).
    Column("erased_at", DateTime),
    UniqueConstraint("imba_id", "remote_user_id", name="uq_users_imba_id_remote_user_id"),
    Index("ix_users_imba_id_status", "imba_id", "status"),
    Index("ix_users_imba_id_name", "imba_id", "name"),
    Index("ix_users_imba_id_last_message_at", "imba_id", "last_message_at"),
    Index("ix_users_imba_id_is_banned", "imba_id", "is_banned"),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("imba_id", BigInteger, ForeignKey("widgets.imba_id"), nullable=False),
    Column("pipe", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("admin_id", Id, ForeignKey("users.id")),
    Column("type", IntState(RoomType), nullable=False, default=RoomType.DIALOG),
    Column("tab", SmallInteger, nullable=False, default=0),
    Column("is_public", SmallInteger, nullable=False, default=0),
    Column("status", IntState(RoomStatus), nullable=False, default=RoomStatus.OPEN),
    Column("member_count", Integer, nullable=False, default=0),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("last_message_at", DateTime),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("deleted_at", DateTime),
    # A conference's pinned message (admins choose it), shown above its history.
    Column("pinned_message_id", Id),
    UniqueConstraint("imba_id", "pipe", name="uq_rooms_imba_id_pipe"),
    Index("ix_rooms_imba_id_type", "imba_id", "type"),
    Index("ix_rooms_imba_id_status", "imba_id", "status"),
    Index("ix_rooms_imba_id_member_count", "imba_id", "member_count"),
    Index("ix_rooms_imba_id_last_message_at", "imba_id", "last_message_at"),
    # Rooms with recent messages, across widgets: where away members are looked for.
    Index("ix_rooms_last_message_at", "last_message_at"),
)

members = Table(
    "members",
    metadata,
    Column("room_id", Id, ForeignKey("rooms.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("role", StrState(MemberRole), nullable=False, default=MemberRole.MEMBER),
    Column("status", IntState(MemberState), nullable=False, default=MemberState.ACTIVE),
    Column("is_banned", Boolean, nullable=False, default=False),
    Column("last_read_seq", BigInteger, nullable=False, default=0),
    Column("muted_until", DateTime),
    Column("joined_at", DateTime, nullable=False),
    # The member's own choice: no sound, notification or e-mail for this room.
    Column("alerts_muted", Boolean, nullable=False, default=False, server_default=false()),
    Column("updated_at", DateTime, nullable=False),
    Index("ix_members_user_id_room_id", "user_id", "room_id"),
    Index("ix_members_room_id_role", "room_id", "role"),
    Index("ix_members_room_id_is_banned", "room_id", "is_banned"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("imba_id", BigInteger, ForeignKey("widgets.imba_id"), nullable=False),
    Column("room_id", Id, ForeignKey("rooms.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("author_id", Id, ForeignKey("users.id"), nullable=False),
    Column("uuid", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("answer_to", BigInteger, nullable=False, default=0),
    Column("liked", Integer, nullable=False, default=0),
    Column("client_id", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("edited_at", DateTime),
    Column("deleted_at", DateTime),
    # The message's files as they render (JSON); NULL for none, as most messages.
    Column("attachments", Attachments),
    # Its reactions as they render, and the host ids of the members it mentions.
    Column("reactions", Reactions),
    Column("mentions", HostIds),
    # A call's record (kind, outcome, duration); NULL for every other message.
    Column("call", CallRecord),
    UniqueConstraint("room_id", "seq", name="uq_messages_room_id_seq"),
    UniqueConstraint("author_id", "client_id", name="uq_messages_author_id_client_id"),
    Index("ix_messages_imba_id_id", "imba_id", "id"),
    Index("ix_messages_imba_id_created_at", "imba_id", "created_at"),
)

# Calls in dialogs: one row per call, from ringing to its end (the record message
# is written when it ends). Every node reads and changes them, so a call placed on one
# node is answered, timed out or ended on another, once.
calls = Table(
    "calls",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("imba_id", BigInteger, nullable=False),
    Column("room_id", Id, ForeignKey("rooms.id"), nullable=False),
    Column("caller_id", Id, ForeignKey("users.id"), nullable=False),
    Column("callee_id", Id, ForeignKey("users.id"), nullable=False),
    Column("kind", StrState(CallKind), nullable=False),
    Column("state", StrState(CallState), nullable=False),
    Column("outcome", StrState(CallOutcome)),
    Column("started_at", DateTime, nullable=False),
    Column("answered_at", DateTime),
    Column("ended_at", DateTime),
    Index("ix_calls_state_started_at", "state", "started_at"),
    Index("ix_calls_room_id_id", "room_id", "id"),
)

# Who is in a call now, one row per user (the key: one call at a time), with the
# socket they are in it from ("node:socket"; NULL while a callee's tabs ring) and
# when that socket's node last said it is open. Rows go when the call ends.
call_parties = Table(
    "call_parties",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("call_id", Id, ForeignKey("calls.id"), nullable=False),
    Column("socket", String(64)),
    Column("seen_at", DateTime, nullable=False),
    Index("ix_call_parties_call_id", "call_id"),
    Index("ix_call_parties_socket", "socket"),
)

# Who reacted with what: the truth behind messages.reactions.
reactions = Table(
    "reactions",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("emoji", String(64), primary_key=True),
    Column("created_at", DateTime, nullable=False),
)

# A row per mentioned member and message: unread mentions are those past the
# member's read mark (the room list's "@" badge).
mentions = Table(
    "mentions",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("room_id", Id, ForeignKey("rooms.id"), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=False),
    Index("ix_mentions_message_id", "message_id"),
)

# A user who blocked another: no dialog messages between them.
blocks = Table(
    "blocks",
    metadata,
    Column("blocker_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("blocked_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("created_at", DateTime, nullable=False),
    Index("ix_blocks_blocked_id", "blocked_id"),
)

# Messages members reported, the owner's queue.
reports = Table(
    "reports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("imba_id", BigInteger, nullable=False),
    Column("room_id", Id, ForeignKey("rooms.id"), nullable=False),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=False),
    Column("reporter_id", Id, ForeignKey("users.id"), nullable=False),
    Column("author_id", Id, ForeignKey("users.id"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", StrState(ReportStatus), nullable=False, default=ReportStatus.OPEN),
    Column("outcome", StrState(ReportOutcome)),
    Column("created_at", DateTime, nullable=False),
    Column("resolved_at", DateTime),
    UniqueConstraint("message_id", "reporter_id", name="uq_reports_message_id_reporter_id"),
    Index("ix_reports_imba_id_status_id", "imba_id", "status", "id"),
    Index("ix_reports_room_id_status", "room_id", "status"),
)

files = Table(
    "files",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("imba_id", BigInteger, ForeignKey("widgets.imba_id"), nullable=False),
    Column("uploader_id", Id, ForeignKey("users.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(127), nullable=False),
    Column("category", String(16), nullable=False),
    Column("storage_key", String(255), nullable=False),
    Column("thumbnail_key", String(255)),
    Column("thumbnail_type", String(32)),
    Column("width", Integer),
    Column("height", Integer),
    # Set once, when a message of the uploader's takes the file; NULL until then.
    Column("message_id", Id, ForeignKey("messages.id")),
    Column("room_id", Id, ForeignKey("rooms.id")),
    Column("created_at", DateTime, nullable=False),
    Index("ix_files_message_id", "message_id"),
    Index("ix_files_created_at", "created_at"),
)

# Per user: until when their unread messages were told of (a message.unread notice).
# A node claims a notice by moving this mark; the one whose move lands sends it.
away_marks = Table(
    "away_marks",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("covered_until", DateTime, nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("imba_id", BigInteger, ForeignKey("widgets.imba_id"), nullable=False, index=True),
    Column("url", String(2048), nullable=False),
    Column("secret", String(255), nullable=False),
    # Comma-separated event names; empty means every event.
    Column("events", Text, nullable=False, default=""),
    # A bot's webhook: only events of the bot's rooms, never the bot's own messages.
    Column("bot_user_id", Id, ForeignKey("users.id")),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
)

# The outbox and the delivery log in one: a row per (event, webhook), written in the
# transaction that made the change, then delivered and updated by the dispatcher.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("webhook_id", Id, ForeignKey("webhooks.id"), nullable=False),
    Column("imba_id", BigInteger, nullable=False),
    Column("delivery_id", String(64), nullable=False, unique=True),
    Column("event", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", StrState(DeliveryStatus), nullable=False, default=DeliveryStatus.PENDING),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("delivered_at", DateTime),
    Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),
)

# The owner's dashboard. The audit log: who changed what in a widget, and when.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("imba_id", BigInteger, nullable=False),
    # "owner <login>" (signed in with the password), "owner <login> (link)" (a
    # one-time link from the CLI), or "cli".
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(255), nullable=False, default=""),
    Column("details", Text),
    Column("address", String(64)),
    Column("created_at", DateTime, nullable=False),
    Index("ix_audit_log_imba_id_id", "imba_id", "id"),
)

# Signed-in dashboard sessions and one-time sign-in links, each by the SHA-256 of its
# secret (a copy of the database signs nobody in). A session row is what sign-out
# deletes: a cookie copied before then is worth nothing after.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner_id", Id, ForeignKey("owners.id"), nullable=False),
    Column("login", String(255), nullable=False),
    Column("via_link", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Index("ix_dashboard_sessions_expires_at", "expires_at"),
)

dashboard_links = Table(
    "dashboard_links",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("imba_id", BigInteger, ForeignKey("widgets.imba_id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("used_at", DateTime),
)

# Keys the server makes once and every node shares (the dashboard's cookie key,
# unless IMBACHAT_DASHBOARD_SECRET gives one).
server_keys = Table(
    "server_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# A copy in progress into this database (``imbachat copy-db``, ``imbachat restore``):
# per table, the primary key of the last row copied (JSON), so an interrupted copy
# resumes there. Until every row is COMPLETE the server refuses to start on it.
copy_progress = Table(
    "copy_progress",
    metadata,
    Column("table_name", String(64), primary_key=True),
    # The source as shown to people (password hidden): a resumed copy must name it.
    Column("source", String(2048), nullable=False),
    Column("state", StrState(CopyState), nullable=False),
    Column("last_key", Text),
    Column("rows_copied", BigInteger, nullable=False),
    # The table in the source as the copy began (rows, highest key, latest change):
    # a resumed copy checks that the tables it copied already did not change since.
    Column("fingerprint", Text),
    Column("updated_at", DateTime, nullable=False),
)
