"""One Settings object, read from IMBACHAT_* environment variables."""

from __future__ import annotations

from typing import Any, Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./imbachat.db"


class Settings(BaseSettings):
    """Runtime configuration; every field has a default so nothing is required to start."""

    model_config = SettingsConfigDict(env_prefix="IMBACHAT_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    # Largest request body accepted; anything bigger is refused with 413 before parsing.
    max_body_bytes: int = 1024 * 1024
    # Seconds a verified v1 owner password stays cached, so argon2 is not paid per request.
    owner_auth_cache_seconds: float = 60.0
    # Wrong owner passwords allowed per (widget, login) and per client address within
    # the window; beyond, 429 with Retry-After until the oldest failure is that old.
    owner_auth_failures_per_login: int = 5
    owner_auth_failures_per_address: int = 20
    owner_auth_window_seconds: float = 900.0
    # Password checks (argon2: 64 MiB, ~100 ms each) running at once; a few more wait.
    password_checks_at_once: int = 2
    # How long a call to a host site's Users info URL may take before it is given up.
    host_site_timeout_seconds: float = 3.0
    # How long a user's name and avatar from the host site are trusted before asking again.
    host_site_cache_seconds: float = 3600.0
    # Bus between nodes: empty for in-process (one node), or redis://host:6379.
    bus_url: str = ""
    # Frames, and bytes, queued for one socket before it is dropped as too slow (it
    # then resumes): a client that asks and does not read cannot grow the server.
    ws_max_queue: int = 2000
    ws_max_queue_bytes: int = 4 * 1024 * 1024
    # Frames one socket may send a second (every type), with bursts up to the burst;
    # beyond, each gets an error 429, and too many errors close the socket (4009).
    # 0: no limit.
    ws_frames_per_second: float = 30.0
    ws_frame_burst: int = 90
    # Requests that read (history pages, replays, searches, opening or joining rooms)
    # a user may make a second on this node, all sockets together, with bursts; beyond,
    # error 429 (counted like an invalid frame). 0: no limit.
    ws_reads_per_second: float = 5.0
    ws_read_burst: int = 30
    # Sockets open at once on this node: per user, and per client address (before
    # authentication; behind a proxy, run uvicorn with --forwarded-allow-ips).
    ws_max_sockets_per_user: int = 20
    ws_max_sockets_per_address: int = 500
    ws_max_frame_bytes: int = 64 * 1024
    ws_auth_timeout_seconds: float = 10.0
    # Sockets being welcomed (authenticated, sent ready, replayed) at once; the rest
    # wait their turn instead of all queuing for database connections at once.
    ws_concurrent_welcomes: int = 32
    # Protocol pings to idle sockets; a socket silent past the timeout is dropped.
    ws_ping_interval_seconds: float = 20.0
    ws_ping_timeout_seconds: float = 20.0
    # A user shows offline this long after their last socket closes.
    offline_grace_seconds: float = 5.0
    # Webhook URLs that point inside the server's network (loopback, private, link-local
    # addresses): "allow", "refuse", or "auto": refused once several owner accounts
    # share this server (one owner's webhook must not probe the server's neighbours).
    webhook_internal_targets: str = "auto"
    # Webhooks: how long a receiver may take, and the first retry delay (it doubles).
    webhook_timeout_seconds: float = 10.0
    webhook_retry_base_seconds: float = 5.0
    # Messages a user may send per second on one node, with bursts up to send_burst.
    send_rate_per_second: float = 5.0
    send_burst: int = 20
    # Guests (visitors without an account): new guests one client address may start
    # a minute, and messages a guest may send a minute (429 beyond either).
    guests_per_address_per_minute: int = 10
    guest_sends_per_minute: int = 10
    # Seconds a user token's times (exp, iat, nbf) may be off: host sites' clocks drift.
    token_leeway_seconds: float = 30.0
    # How often open sockets are checked against their credentials: a socket whose
    # token expired, or whose widget's secret was rotated, is closed with 4003.
    ws_credentials_check_seconds: float = 5.0
    # Files: kept in this directory (one node), or, when files_url is set, in
    # S3-compatible storage shared by several nodes: s3://bucket/prefix?endpoint=URL
    # &region=R (keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the URL's
    # user:password). Requires the s3 extra (pip install 'imbachat[s3]').
    files_dir: str = "./imbachat-files"
    files_url: str = ""
    # Largest file one upload may be (413 beyond), and what all of a widget's files
    # may take together unless the owner sets its own quota.
    max_upload_bytes: int = 25_000_000
    files_quota_bytes: int = 10_000_000_000
    # Files one user may upload a minute (429 beyond), and images decoded at once.
    uploads_per_minute: int = 20
    images_at_once: int = 2
    # What all uploads to one node may arrive at together, bytes a second (0: no
    # limit): large files never take the event loop from the messages.
    upload_bytes_per_second: int = 20_000_000
    # Largest image decoded, in pixels (larger ones are refused: decoding bombs).
    image_max_pixels: int = 50_000_000
    # How long a file link stays good (links are given out again with every message).
    file_link_seconds: int = 86_400
    # This server's address as browsers and bots reach it (https://chat.example.com):
    # file links in answers and webhooks are then absolute; else they are paths.
    public_url: str = ""
    # A message unread this long by a member with no open socket is told of once
    # (webhook message.unread; e-mail) for its quiet period; widgets may set their
    # own. Every node looks this often.
    away_notify_seconds: int = 600
    away_check_seconds: float = 15.0
    # How often each node deletes messages past their widget's retention_days.
    retention_check_seconds: float = 300.0
    # E-mail to away members (a digest per quiet period) through this SMTP server:
    # smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://...;
    # links in e-mails need public_url. Off when empty.
    smtp_url: str = ""
    email_from: str = ""
    # The owner's dashboard (/dashboard/): the key signing its cookies (empty: one made
    # at first start and kept in the database, shared by every node), how long a
    # sign-in lasts, and how long a one-time link from `imbachat dashboard-link` works.
    dashboard_secret: str = ""
    dashboard_session_seconds: float = 43_200.0
    dashboard_link_seconds: float = 900.0
    # Prometheus metrics at /metrics (IMBACHAT_METRICS=0: off, 404), and, when a
    # token is set, only for "Authorization: Bearer <token>" (401 otherwise).
    metrics: bool = True
    metrics_token: str = ""
    # On SIGTERM: how long open requests, and then webhook attempts in flight, may
    # take to finish before they are cut off (sockets are closed at once, 1001).
    shutdown_grace_seconds: float = 10.0
    # Processes serving one port on this machine (`serve --workers`); more than one
    # needs PostgreSQL and the Redis bus, as for several nodes.
    workers: int = 1
    # Calls in dialogs (docs/calls.md). The STUN and TURN servers browsers use, a JSON
    # list in the browsers' RTCIceServer form ([{"urls": "stun:stun.example.com"}]);
    # with turn_secret (coturn's static-auth-secret), TURN servers listed without a
    # username get credentials made per call, good for turn_ttl_seconds.
    ice_servers: list[dict[str, Any]] = []
    turn_secret: str = ""
    turn_ttl_seconds: int = 86_400
    # A call not answered within this many seconds ends as missed; a party whose socket
    # closed and did not come back within the grace ends it: completed if it had been
    # answered (it lasted until then), cancelled if it was still ringing. Every node looks
    # this often (the ringing and the grace are ended once, by whichever node sees it).
    call_ring_seconds: float = 45.0
    call_grace_seconds: float = 20.0
    call_check_seconds: float = 2.0
    log_level: str = "info"
    # Log lines as readable text, or as one JSON object a line ("json").
    log_format: Literal["text", "json"] = "text"
    # Serve the demo host site at / (set by `imbachat demo`).
    demo: bool = False
