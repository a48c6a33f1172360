"""The JSON shapes of users, rooms and messages, shared by every wire format:
REST envelopes, WebSocket frames, bus events and webhook bodies all embed these."""

from __future__ import annotations

from typing import Any

import orjson

from imbachat.clock import format_api, unix
from imbachat.domain import (
    Attachment,
    Call,
    CallSummary,
    Message,
    Reaction,
    ReportView,
    Room,
    User,
    Widget,
    is_erased_remote_id,
)
from imbachat.files.kinds import categories_of


def user(record: User) -> dict[str, Any]:
    return {
        "id": record.id,
        "deleted_at": format_api(record.deleted_at),
        "created_at": format_api(record.created_at),
        "updated_at": format_api(record.updated_at),
        "remote_user_id": str(record.remote_user_id),
        "user_data": orjson.loads(record.user_data) if record.user_data else None,
        "imba_id": record.imba_id,
        "login": record.name if record.name is not None else "NULL",
        "password": "NULL",
        "status": record.status,
        "avatar_url": record.avatar_url,
        # Ours, after the documented fields:
        "name": display_name(record),
        "banned": int(record.is_banned),
        "is_bot": int(record.is_bot),
        "last_message_date": format_api(record.last_message_at),
    }


def widget_settings(record: Widget) -> dict[str, Any]:
    """The settings an owner may change (never the API password)."""
    return {
        "users_info_url": record.users_info_url,
        "users_search_url": record.users_search_url,
        "api_login": record.api_login,
        "guests": record.guests_enabled,
        "guests_write_public": record.guests_write_public,
        "theme": record.theme,
        "accent_color": record.accent_color,
        "file_types": sorted(categories_of(record)),
        "files_quota_bytes": record.files_quota_bytes,
        "files_bytes": record.files_bytes,
        "notify_sound": record.notify_sound,
        "away_notify_seconds": record.away_notify_seconds,
        "email_link_url": record.email_link_url,
        "language": record.language,
        "allowed_origins": record.allowed_origins.split("\n") if record.allowed_origins else [],
        "retention_days": record.retention_days,
    }


ERASED_NAME = "Deleted user"


def display_name(record: User) -> str:
    return name_of(record.name, record.remote_user_id)


def name_of(name: str | None, remote_user_id: int) -> str:
    """The name shown: the host site's, else a placeholder (an erased user's says so)."""
    if name:
        return name
    return ERASED_NAME if is_erased_remote_id(remote_user_id) else f"User {remote_user_id}"


def room(record: Room) -> dict[str, Any]:
    return {
        "id": record.id,
        "pipe": record.pipe,
        "name": record.name,
        "admin_id": record.admin_id,
        "type": record.type,
        "tab": record.tab,
        "is_public": record.is_public,
        "created_at": format_api(record.created_at),
        "updated_at": format_api(record.updated_at),
        "deleted_at": format_api(record.deleted_at),
        "status": record.status,
        "imba_id": record.imba_id,
        # Ours, after the documented fields:
        "count_users": record.member_count,
        "last_seq": record.last_seq,
        "last_message_date": format_api(record.last_message_at),
    }


def message(record: Message) -> dict[str, Any]:
    return {
        "id": record.id,
        "uuid": record.uuid,
        "message": "" if record.deleted_at else record.body,
        "time": str(unix(record.created_at)),
        "answer_to": record.answer_to,
        "liked": str(record.liked),
        # Author and room fields:
        "seq": record.seq,
        "user_id": record.author_remote_id,
        "author_id": record.author_id,
        "user_name": name_of(record.author_name, record.author_remote_id),
        "is_bot": record.author_is_bot,
        "room_id": record.room_id,
        "room_type": record.room_type,
        "imba_id": record.imba_id,
        "client_id": record.client_id,
        "created_at": format_api(record.created_at),
        "edited_at": format_api(record.edited_at),
        "deleted_at": format_api(record.deleted_at),
        "attachments": [] if record.deleted_at else [attachment(a) for a in record.attachments],
        "reactions": [] if record.deleted_at else [reaction(r) for r in record.reactions],
        "mentions": [] if record.deleted_at else list(record.mentions),
        "call": call_summary(record.call) if record.call and not record.deleted_at else None,
    }


def call_summary(record: CallSummary) -> dict[str, Any]:
    """A call's record message: ``{"kind", "outcome", "duration"}`` (seconds)."""
    return {"kind": record.kind, "outcome": record.outcome, "duration": record.duration}


def call(record: Call) -> dict[str, Any]:
    """A call as sockets and webhooks show it (people by their host ids)."""
    return {
        "id": record.id,
        "room_id": record.room_id,
        "kind": record.kind,
        "state": record.state,
        "outcome": record.outcome,
        "caller_id": record.caller_remote_id,
        "callee_id": record.callee_remote_id,
        "started_at": format_api(record.started_at),
        "answered_at": format_api(record.answered_at),
        "ended_at": format_api(record.ended_at),
        "duration": record.duration,
    }


def reaction(record: Reaction) -> dict[str, Any]:
    return {"emoji": record.emoji, "count": record.count, "user_ids": list(record.user_ids)}


def attachment(record: Attachment) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "size": record.size,
        "content_type": record.content_type,
        "url": record.url,
        "thumbnail_url": record.thumbnail_url,
        "width": record.width,
        "height": record.height,
    }


def report(view: ReportView) -> dict[str, Any]:
    record = view.report
    return {
        "id": record.id,
        "room_id": record.room_id,
        "message": message(view.message),
        "reporter": {
            "user_id": view.reporter_remote_id,
            "name": view.reporter_name or f"User {view.reporter_remote_id}",
        },
        "reason": record.reason,
        "status": record.status,
        "outcome": record.outcome,
        "created_at": format_api(record.created_at),
        "resolved_at": format_api(record.resolved_at),
    }
