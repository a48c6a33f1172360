"""Domain services: each applies the rules of one noun and announces what changed."""

from __future__ import annotations

from dataclasses import dataclass

from imbachat.auth.owner import OwnerAuthenticator
from imbachat.bus.base import Bus
from imbachat.config import Settings
from imbachat.services.members import MemberService
from imbachat.services.messages import MessageService
from imbachat.services.moderation import ModerationService
from imbachat.services.profiles import ProfileRefresher
from imbachat.services.ratelimit import SendLimiter
from imbachat.services.rooms import RoomService
from imbachat.services.support import SupportService
from imbachat.services.users import UserService
from imbachat.services.webhooks import WebhookService
from imbachat.services.widgets import WidgetService
from imbachat.store.db import Database
from imbachat.store.writer import MessageWriter
from imbachat.webhooks.host_site import HostSite
from imbachat.webhooks.outbox import Outbox


@dataclass(frozen=True, slots=True)
class Services:
    db: Database
    bus: Bus
    owners: OwnerAuthenticator
    profiles: ProfileRefresher
    widgets: WidgetService
    users: UserService
    rooms: RoomService
    messages: MessageService
    members: MemberService
    writer: MessageWriter
    outbox: Outbox
    webhooks: WebhookService
    moderation: ModerationService
    support: SupportService


def build_services(db: Database, bus: Bus, settings: Settings) -> Services:
    profiles = ProfileRefresher(
        db, bus, HostSite(settings.host_site_timeout_seconds), settings.host_site_cache_seconds
    )
    outbox = Outbox()
    widgets = WidgetService(db)
    moderation = ModerationService(db, bus, outbox, widgets)
    limiter = SendLimiter(settings.send_rate_per_second, settings.send_burst)
    messages = MessageService(db, bus, outbox, widgets, moderation, limiter)
    rooms = RoomService(db, bus, profiles, outbox)
    return Services(
        db=db,
        bus=bus,
        owners=OwnerAuthenticator(db, settings.owner_auth_cache_seconds),
        profiles=profiles,
        widgets=widgets,
        users=UserService(db, profiles),
        rooms=rooms,
        messages=messages,
        members=MemberService(db, bus),
        writer=messages.writer,
        outbox=outbox,
        webhooks=WebhookService(db, outbox),
        moderation=moderation,
        support=SupportService(db, rooms, bus, outbox),
    )


async def close_services(services: Services) -> None:
    await services.writer.close()
    await services.profiles.close()
    await services.bus.close()
    await services.db.close()
