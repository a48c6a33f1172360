"""Domain services: each applies the rules of one noun and announces what changed."""

from __future__ import annotations

from dataclasses import dataclass

from imbachat.auth.owner import OwnerAuthenticator
from imbachat.bus.base import Bus
from imbachat.config import Settings
from imbachat.services.messages import MessageService
from imbachat.services.rooms import RoomService
from imbachat.services.users import UserService
from imbachat.services.widgets import WidgetService
from imbachat.store.db import Database


@dataclass(frozen=True, slots=True)
class Services:
    db: Database
    bus: Bus
    owners: OwnerAuthenticator
    widgets: WidgetService
    users: UserService
    rooms: RoomService
    messages: MessageService


def build_services(db: Database, bus: Bus, settings: Settings) -> Services:
    return Services(
        db=db,
        bus=bus,
        owners=OwnerAuthenticator(db, settings.owner_auth_cache_seconds),
        widgets=WidgetService(db),
        users=UserService(db),
        rooms=RoomService(db, bus),
        messages=MessageService(db, bus),
    )
