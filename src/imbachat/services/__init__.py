"""Domain services: each applies the rules of one noun and announces what changed."""

from __future__ import annotations

from dataclasses import dataclass

from imbachat.auth.owner import OwnerAuthenticator
from imbachat.bus.base import Bus
from imbachat.clock import SYSTEM_CLOCK, Clock
from imbachat.config import Settings
from imbachat.files.links import FileLinks
from imbachat.files.storage import open_storage
from imbachat.services.alerts import AlertService
from imbachat.services.audit import AuditService
from imbachat.services.blocks import BlockService
from imbachat.services.calls import CallService
from imbachat.services.dashboard_auth import DashboardAuth
from imbachat.services.directory import DirectoryService
from imbachat.services.files import FileService
from imbachat.services.guests import GuestService
from imbachat.services.members import MemberService
from imbachat.services.messages import MessageService
from imbachat.services.moderation import ModerationService
from imbachat.services.pins import PinService
from imbachat.services.privacy import PrivacyService
from imbachat.services.profiles import ProfileRefresher
from imbachat.services.ratelimit import SendLimiter
from imbachat.services.reactions import ReactionService
from imbachat.services.reports import ReportService
from imbachat.services.rooms import RoomService
from imbachat.services.search import SearchService
from imbachat.services.stats import StatsService
from imbachat.services.support import SupportService
from imbachat.services.users import UserService
from imbachat.services.webhooks import WebhookService
from imbachat.services.widgets import WidgetService
from imbachat.store.db import Database
from imbachat.store.search_index import SearchIndexer
from imbachat.store.writer import MessageWriter
from imbachat.unit_of_work import Changes
from imbachat.webhooks.host_site import HostSite


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    db: Database
    bus: Bus
    changes: Changes
    clock: Clock
    owners: OwnerAuthenticator
    profiles: ProfileRefresher
    widgets: WidgetService
    users: UserService
    rooms: RoomService
    messages: MessageService
    members: MemberService
    writer: MessageWriter
    webhooks: WebhookService
    moderation: ModerationService
    support: SupportService
    guests: GuestService
    files: FileService
    alerts: AlertService
    reactions: ReactionService
    blocks: BlockService
    reports: ReportService
    pins: PinService
    calls: CallService
    search: SearchService
    # The owner's dashboard: its sign-ins, its views and overview, its audit log.
    dashboard: DashboardAuth
    directory: DirectoryService
    stats: StatsService
    audit: AuditService
    # Privacy requests: a user's export and erasure.
    privacy: PrivacyService


def build_services(
    db: Database, bus: Bus, settings: Settings, clock: Clock = SYSTEM_CLOCK
) -> Services:
    """Every service, wired: one ``Changes`` (the write path) and one clock."""
    changes = Changes(db, bus)
    profiles = ProfileRefresher(
        changes,
        HostSite(settings.host_site_timeout_seconds),
        settings.host_site_cache_seconds,
        clock,
    )
    widgets = WidgetService(db, clock)
    moderation = ModerationService(db, changes, widgets, clock)
    limiter = SendLimiter(settings.send_rate_per_second, settings.send_burst, clock)
    files = FileService(
        db,
        changes,
        widgets,
        open_storage(settings.files_dir, settings.files_url),
        FileLinks(settings.public_url, settings.file_link_seconds, clock),
        settings,
        clock,
    )
    messages = MessageService(
        db,
        changes,
        widgets,
        moderation,
        limiter,
        clock,
        guest_sends_per_minute=settings.guest_sends_per_minute,
        files=files,
    )
    rooms = RoomService(db, changes, profiles, files, clock)
    owners = OwnerAuthenticator(
        db,
        settings.owner_auth_cache_seconds,
        failures_per_login=settings.owner_auth_failures_per_login,
        failures_per_address=settings.owner_auth_failures_per_address,
        window_seconds=settings.owner_auth_window_seconds,
        concurrent_checks=settings.password_checks_at_once,
        clock=clock,
    )
    audit = AuditService(db, clock)
    calls = CallService(db, changes, moderation, limiter, settings, clock)
    return Services(
        settings=settings,
        db=db,
        bus=bus,
        changes=changes,
        clock=clock,
        owners=owners,
        profiles=profiles,
        widgets=widgets,
        users=UserService(db, profiles, clock),
        rooms=rooms,
        messages=messages,
        members=MemberService(db, changes),
        writer=messages.writer,
        webhooks=WebhookService(db, changes, clock, settings.webhook_internal_targets),
        moderation=moderation,
        support=SupportService(changes, rooms),
        guests=GuestService(
            db, changes, clock, per_address_per_minute=settings.guests_per_address_per_minute
        ),
        files=files,
        alerts=AlertService(changes, clock),
        reactions=ReactionService(changes, moderation, files.links, clock),
        blocks=BlockService(db, changes, clock),
        reports=ReportService(db, changes, messages, moderation, files.links, clock),
        pins=PinService(changes, files.links, clock),
        calls=calls,
        search=SearchService(db, files, SearchIndexer(db), clock),
        dashboard=DashboardAuth(
            db,
            owners,  # the dashboard's wrong passwords are throttled with the API's
            secret=settings.dashboard_secret,
            session_seconds=settings.dashboard_session_seconds,
            link_seconds=settings.dashboard_link_seconds,
            clock=clock,
        ),
        directory=DirectoryService(db),
        stats=StatsService(db, clock),
        audit=audit,
        privacy=PrivacyService(db, changes, files, audit, calls, clock),
    )


async def close_services(services: Services) -> None:
    await services.writer.close()
    await services.files.storage.close()
    services.owners.close()
    await services.profiles.close()
    await services.bus.close()
    await services.db.close()
