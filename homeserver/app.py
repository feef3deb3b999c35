"""The one place where the server is wired together: ``make_app(config)``.

``Homeserver`` builds every object with its dependencies in the order below, stores first, then
the federation protocol objects, then the handlers, then the SFU; the listeners that let one
subsystem react to another's events are connected at the end, here and nowhere else.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import mimetypes
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry

from federation.client import FederationClient
from federation.keyring import Keyring
from federation.media import download as download_remote_media
from federation.queue import OutboundQueue
from federation.signing import SigningKey
from media.api import AudioSFU
from media.cluster import SFUCluster
from media.sfu import SFU

from .api.accounts import AccountServlets
from .api.admin import AccountDeactivationServlet, AdminServlets
from .api.admin_federation import AdminFederationServlets
from .api.admin_rooms import AdminRoomServlets
from .api.audio import AudioServlets, MediaServlets
from .api.client_misc import ClientMiscServlets
from .api.content_repo import ContentRepoServlets
from .api.devices import DeviceServlets
from .api.ephemeral import EphemeralServlets
from .api.federation import FederationServlets
from .api.http import (
    ACCOUNTS,
    DEVICES,
    TRUSTED_PROXIES,
    guest_gate,
    matrix_errors,
    request_metrics,
)
from .api.keys import KeyServlets
from .api.links import LinkServlets
from .api.log_filters import install_malformed_http_filter
from .api.metrics import MetricsListener
from .api.presence import PresenceServlets
from .api.push import PushServlets
from .api.recording import RecordingServlets
from .api.relations import RelationServlets
from .api.room_keys import RoomKeyServlets
from .api.rooms import RoomServlets
from .api.to_device import ToDeviceServlets
from .config import Config, RateLimit, media_store_path
from .handlers.account_data import AccountDataHandler
from .handlers.accounts import AccountHandler, PasswordHasher
from .handlers.admin import AdminHandler
from .handlers.admin_federation import AdminDestinations
from .handlers.admin_rooms import AdminRooms
from .handlers.audio import AudioRoomHandler, NoticeSender
from .handlers.content_repo import ContentRepository
from .handlers.context import ContextHandler
from .handlers.cross_signing import CrossSigning
from .handlers.device_lists import DeviceLists
from .handlers.devices import DeviceHandler
from .handlers.directory import DirectoryHandler
from .handlers.e2e_keys import E2EKeysHandler
from .handlers.ephemeral import EphemeralEvents
from .handlers.events import EventFactory
from .handlers.federation import FederationHandler
from .handlers.hallway_push import EDU_TYPE as HALLWAY_EDU
from .handlers.hallway_push import HallwayPublisher
from .handlers.inbound_limit import InboundGate
from .handlers.media import MediaHandler
from .handlers.membership import MembershipHandler
from .handlers.notifications import NotificationCounter
from .handlers.notifier import Notifier
from .handlers.presence import PresenceHandler
from .handlers.previews import RoomPreviews
from .handlers.process_bus import ProcessBus
from .handlers.process_follow import ProcessFollower
from .handlers.push import PushRulesHandler
from .handlers.pusher_delivery import DeliveryPolicy, PusherDelivery
from .handlers.ratelimit import RateLimiter, RemoteSenderLimit, SenderLimit
from .handlers.reactions import REACTION, ReactionGate
from .handlers.receipts import ReceiptHandler
from .handlers.recording import CLIP_LIMIT, RecordingHandler
from .handlers.registration_tokens import RegistrationTokens
from .handlers.relations import RelationsHandler
from .handlers.remote import RemoteQueries
from .handlers.reports import ReportHandler
from .handlers.room_host import RoomHost
from .handlers.room_keys import RoomKeysHandler
from .handlers.rooms import RoomHandler
from .handlers.server_acl import ServerAcls
from .handlers.sfu_hooks import SFUHooks
from .handlers.sync import SyncHandler
from .handlers.to_device import ToDeviceHandler
from .handlers.typing import TypingHandler
from .handlers.user_directory import UserDirectoryHandler
from .handlers.voip import TurnHandler
from .metrics import Metrics
from .push_client import HttpPushGateway
from .stage import StageRules
from .storage.admin import AdminStore, RegistrationTokenStore
from .storage.database import Database, open_database
from .storage.devices import DeviceStore
from .storage.e2e_keys import E2EKeyStore
from .storage.events import AccountDataStore, EventStore, FilterStore, StreamCounter
from .storage.federation import KeyCacheStore, OutboxStore, TransactionStore
from .storage.media_repo import MediaStore
from .storage.presence import PresenceStore
from .storage.push import PushStore
from .storage.receipts import ReceiptStore
from .storage.recordings import RecordingStore
from .storage.relations import RelationStore
from .storage.reports import ReportStore
from .storage.room_keys import RoomKeyStore
from .storage.to_device import ToDeviceStore
from .storage.user_directory import UserDirectoryStore
from .storage.users import KeyStore, UserStore

log = logging.getLogger(__name__)

HOMESERVER = web.AppKey("homeserver", object)


def load_signing_key(keys: KeyStore) -> SigningKey:
    """The server's ed25519 key: generated on first start, then kept in the database."""
    row = keys.current_key()
    if row is None:
        key = SigningKey.generate()
        keys.add_key(key.key_id, key.seed_base64)
        return key
    return SigningKey.from_seed_base64(row[0], row[1])


class Homeserver:
    """Holds the wired components, so tests and the CLI can reach them."""

    def __init__(self, config: Config, db: Database | None = None):
        name = config.server_name
        self.config = config
        # storage
        self.db = db or open_database(config.database)
        if self.db.engine == "postgres":
            _portals_for_running_loop()
        self.users = UserStore(self.db)
        self.keys = KeyStore(self.db)
        self.signing_key = load_signing_key(self.keys)
        self.stream = StreamCounter(self.db)
        self.relation_store = RelationStore(self.db)
        self.events = EventStore(self.db, self.stream, relations=self.relation_store)
        self.account_data = AccountDataStore(self.db, self.stream)
        self.filters = FilterStore(self.db)
        self.outbox = OutboxStore(self.db)
        self.notifier = Notifier()

        # the federation protocol: outbound HTTP, keys, the durable outbound queue
        fed = config.federation
        self.federation_client = FederationClient(
            name, self.signing_key, fed.servers, fed.ip_range_whitelist,
            fed.verify_certificates, fed.request_timeout_seconds)
        self.keyring = Keyring(name, self.signing_key, self.keys.old_keys(),
                               KeyCacheStore(self.db), self.federation_client)
        self.queue = OutboundQueue(name, self.outbox, self.federation_client,
                                   fed.retry_base_seconds, fed.retry_max_seconds)
        self.remote = RemoteQueries(self.federation_client)

        # handlers: accounts, rooms (under the stage's rules), sync, directory, federation
        self.accounts = AccountHandler(
            name, self.users, PasswordHasher(n=config.limits.password_scrypt_n),
            config.registration.open, config.registration.shared_secret, self.remote,
            devices=DeviceStore(self.db),
            guests_enabled=config.registration.open if config.registration.guests_enabled
            is None else config.registration.guests_enabled,
            guest_token_lifetime_ms=config.registration.guest_token_lifetime_seconds * 1000)
        self.devices = DeviceHandler(self.accounts.devices, self.accounts,
                                     RateLimiter(config.ratelimit.login))
        self.factory = EventFactory(name, self.signing_key, config.limits.max_event_bytes)
        self.rooms = RoomHandler(name, self.events, self.users, self.account_data,
                                 self.factory, self.notifier, StageRules(), self.queue,
                                 self.relation_store)
        # push rules, the unread counts they give sync, and HTTP pushers to push gateways
        push_store = PushStore(self.db)
        push = config.push
        self.push_gateway = HttpPushGateway(push.ip_range_whitelist, push.request_timeout_seconds)
        self.pushers = PusherDelivery(
            push_store, self.events, self.rooms, self.push_gateway,
            DeliveryPolicy(push.retry_base_seconds, push.retry_max_seconds,
                           push.give_up_after_seconds, push.concurrency,
                           push.group_unread_count_by_room))
        self.push_rules = PushRulesHandler(push_store, self.account_data, self.notifier,
                                           self.pushers.check_url, self.pushers.pushers_changed)
        self.notifications = NotificationCounter(push_store, self.events, self.rooms,
                                                 self.push_rules, self.relation_store,
                                                 self.pushers)
        # receipts and typing: shared with the room's members and its other servers
        self.receipts = ReceiptHandler(name, self.events, ReceiptStore(self.db, self.stream),
                                       self.account_data, self.notifier, self.queue,
                                       self.rooms.known_room, self.relation_store.receipt_fits)
        self.typing = TypingHandler(name, self.events, self.stream, self.notifier, self.queue,
                                    self.rooms.known_room)
        # relations: /relations, /threads, /context and the aggregations bundled in events
        self.relations = RelationsHandler(self.events, self.relation_store, self.rooms,
                                          self.stream)
        self.context = ContextHandler(self.events, self.rooms, self.relations, self.stream)
        self.presence = PresenceHandler(name, PresenceStore(self.db, self.stream), self.events,
                                        self.notifier, self.queue, config.presence.enabled)
        # to-device messages: device inboxes on the sync stream, m.direct_to_device EDUs
        self.to_device = ToDeviceHandler(name, ToDeviceStore(self.db, self.stream),
                                         self.accounts.devices, self.notifier, self.queue,
                                         RateLimiter(config.ratelimit.to_device))
        # end-to-end encryption keys and device lists (here and on other servers)
        self.e2e_keys = E2EKeysHandler(
            name, E2EKeyStore(self.db, self.stream), self.accounts.devices,
            self.federation_client, RateLimiter(RateLimit(per_second=1.0, burst=20)),
            RateLimiter(RateLimit(per_second=10.0, burst=200)), self.devices.authorise)
        self.device_lists = DeviceLists(name, self.e2e_keys.store, self.events, self.notifier,
                                        self.queue, self.federation_client,
                                        self.e2e_keys.render_device,
                                        self.e2e_keys.render_cross_signing)
        self.e2e_keys.attach(self.device_lists)
        self.cross_signing = CrossSigning(self.e2e_keys)
        self.room_keys = RoomKeysHandler(RoomKeyStore(self.db))  # server-side key backups
        self.sync = SyncHandler(self.events, self.account_data, self.stream, self.rooms,
                                self.notifier, config.limits.sync_timeline_limit,
                                EphemeralEvents(self.receipts, self.typing),
                                unread=self.notifications, bundle=self.relations.bundle,
                                presence=self.presence, to_device=self.to_device,
                                e2e_keys=self.e2e_keys)
        self.directory = DirectoryHandler(name, self.events, self.rooms, self.remote)
        self.server_acls = ServerAcls(name, self.events)  # m.room.server_acl, at the host
        self.room_host = RoomHost(name, self.rooms, self.events, self.keyring,
                                  acl=self.server_acls.check)
        self.federation = FederationHandler(
            name, self.signing_key, self.rooms, self.room_host, self.events, self.users,
            self.keyring, self.federation_client, self.queue, TransactionStore(self.db))
        self.membership = MembershipHandler(self.rooms, self.federation, self.remote,
                                            self.accounts.is_guest)
        # the user directory (kept by the database from memberships), TURN, event reports
        self.user_directory = UserDirectoryHandler(UserDirectoryStore(self.db))
        self.turn = TurnHandler(config.turn)
        self.reports = ReportHandler(self.events, ReportStore(self.db))
        # the media repository: uploads, downloads, thumbnails; other servers' media cached
        client = self.federation_client
        self.content_repo = ContentRepository(
            name, MediaStore(self.db), media_store_path(config),
            config.media_repository.max_upload_bytes,
            lambda origin, media_id, sink, limit: download_remote_media(
                client, origin, media_id, sink, limit))

        # audio rooms: the hallway and notices, then the SFU and the sessions it serves
        self.notices = NoticeSender(name, self.rooms, self.users, self.account_data)
        known_servers = lambda: set(config.federation.servers) | self.events.joined_servers()  # noqa: E731
        self.audio = AudioRoomHandler(
            name, self.events, self.rooms, self.directory, self.notices, self.remote,
            known_servers, config.audio.hallway_refresh_seconds)
        self.hallway_push = HallwayPublisher(name, self.directory, self.queue, known_servers)
        self.sfu = make_sfu(config, SFUHooks(self.rooms, self.federation_client))
        self.media = MediaHandler(name, self.events, self.rooms, self.sfu,
                                  self.accounts.is_guest, self.server_acls.allowed)
        if isinstance(self.sfu, SFUCluster) and self.sfu.shared:
            # several processes of this server share the workers: a session may be another's
            self.media.session_user = self.sfu.session_user
        # recording with consent: the host's SFU keeps the stage, replays and clips are media
        self.recording = RecordingHandler(
            name, self.events, self.rooms, RecordingStore(self.db), self.sfu, self.content_repo,
            self.notices, media_store_path(config) / "recordings", RateLimiter(CLIP_LIMIT),
            self.remote)

        # operators: Synapse's admin API, registration tokens
        self.admin_store = AdminStore(self.db)
        self.admin_store.fail_unfinished_deletions()
        self.registration_tokens = RegistrationTokens(RegistrationTokenStore(self.db),
                                                      config.registration.requires_token)
        if config.registration.requires_token:
            self.accounts.tokens = self.registration_tokens
        self.admin = AdminHandler(name, self.admin_store, self.accounts, self.devices,
                                  self.membership)
        self.admin_destinations = AdminDestinations(self.queue, self.admin_store.rooms_of_server)
        self.admin_rooms = AdminRooms(name, self.admin_store, self.events, self.membership,
                                      self.directory, self.media, self.notices)
        # blocked rooms: no joins or invites, ours or other servers', and listed nowhere
        self.membership.join_checks.append(self.admin_rooms.check_join)
        self.room_host.join_checks.append(self.admin_rooms.check_join)
        self.federation.invite_checks.append(self.admin_rooms.check_join)
        self.federation.pdu_admission.append(self.admin_rooms.admit_pdu)
        self.directory.hidden_checks.append(self.admin_rooms.is_blocked)
        self.media.room_checks.append(self.admin_rooms.check_join)  # no audio either

        # who reacts to what
        self.rooms.persist_listeners.append(self.federation.on_event_persisted)  # relay, in order
        self.rooms.event_listeners.append(self.federation.on_event_appended)
        self.rooms.event_listeners.append(self.audio.on_event)  # stage changes, live notices
        self.rooms.event_listeners.append(self.recording.on_event)  # recording on/off, notices
        self.rooms.event_listeners.append(self.notifications.on_event)  # unread counts
        self.rooms.event_listeners.append(self.membership.on_event)  # guests out when barred
        self.directory.summary_extenders.append(self.audio.summary_fields)
        self.audio.stage_changed_listeners.append(self.media.on_stage_changed)
        self.audio.room_ended_listeners.append(self.media.on_room_ended)
        self.accounts.profile_listeners.append(self.rooms.announce_profile)
        self.receipts.read_listeners.append(self.notifications.mark_read)  # unread counts reset
        self.federation.edu_handlers["m.receipt"] = self.receipts.on_edu
        self.federation.edu_handlers["m.typing"] = self.typing.on_edu
        self.rooms.event_listeners.append(self.typing.on_event)  # leaving stops typing
        self.rooms.event_listeners.append(self.presence.on_event)  # sending is activity
        self.federation.edu_handlers["m.presence"] = self.presence.on_edu
        self.federation.edu_handlers["m.direct_to_device"] = self.to_device.on_edu
        # device lists: our deletions told, other servers' updates followed
        self.devices.deletion_listeners.append(self.e2e_keys.device_deleted)
        self.accounts.device_deletion_listeners.append(self.e2e_keys.device_deleted)  # logout
        self.federation.edu_handlers["m.device_list_update"] = self.device_lists.on_edu
        self.federation.edu_handlers["m.signing_key_update"] = \
            self.device_lists.on_signing_key_edu
        # the hallway: our rooms' changes pushed to other servers, theirs laid over our cache
        self.rooms.event_listeners.append(self.hallway_push.on_event)
        self.directory.visibility_listeners.append(self.hallway_push.on_visibility)
        self.directory.pull_listeners.append(self.hallway_push.pulled_by)
        self.federation.edu_handlers[HALLWAY_EDU] = self.audio.on_hallway_edu
        # reactions: checked and rate-limited per user; floods from other servers dropped
        self.reactions = ReactionGate(name, self.events, config.ratelimit.reaction,
                                      config.ratelimit.reaction_per_origin)
        self.rooms.send_checks.append(self.reactions.check_send)
        # server ACLs: a denied server's PDUs and EDUs refused first, its relays closed
        self.federation.pdu_admission.append(self.server_acls.admit_pdu)
        self.federation.edu_filters.append(self.server_acls.filter_edu)
        self.rooms.event_listeners.append(self.server_acls.on_event)
        self.server_acls.change_listeners.append(self.media.on_acl_changed)
        # messages: one per-user limit for our users (/send) and, at the host, other servers'
        message_limiter = RateLimiter(config.ratelimit.message)
        self.rooms.send_checks.append(SenderLimit(message_limiter,
                                                  exempt=frozenset({REACTION})).check_send)
        self.remote_sender_limit = RemoteSenderLimit(name, message_limiter, self.events.has_event,
                                                     exempt=frozenset({REACTION}))
        self.federation.pdu_admission.append(self.reactions.admit_pdu)
        self.federation.pdu_admission.append(self.remote_sender_limit.admit_pdu)

        # several processes of one server (PostgreSQL): each follows what the others commit
        self.process_bus = ProcessBus(self.db)
        self.follower = ProcessFollower(self.process_bus, self.events, self.stream, self.rooms,
                                        self.notifier, self.accounts, self.queue,
                                        self.typing, self.push_rules, self.presence)
        self.follower.event_listeners += [
            self.audio.on_event_elsewhere,  # the SFU's stage rights, ended rooms
            self.server_acls.on_event,  # the ACL cache, relays of denied servers closed
            self.typing.on_event,  # leaving stops typing
            self.federation.on_event_elsewhere,  # our join, relayed back to another process
        ]
        self.follower.wire()

        # metrics (off by default): this server's own registry, read on a listener of its own
        self.metrics: Metrics | None = None
        self.metrics_listener: MetricsListener | None = None
        if config.metrics.enabled:
            self.metrics = Metrics(CollectorRegistry(), self.notifier,
                                   self.events, self.queue, self.keyring, self.sfu.get_stats)
            self.metrics_listener = MetricsListener(self.metrics, config.metrics.bind_address,
                                                    config.metrics.port)

    async def start(self) -> None:
        if self.db.engine == "postgres":
            _portals_for_running_loop()
            import greenback
            # start-up's own store calls wait without blocking the loop too: background
            # tasks started below may hold the write lock meanwhile
            await greenback.ensure_portal()
        self.process_bus.start()
        if isinstance(self.sfu, SFUCluster):
            await self.sfu.start()
        self.queue.start()  # catch up on whatever was queued before a restart
        self.pushers.start()  # the same for pushes
        self.devices.start()  # devices' last seen, flushed now and then
        self.presence.start()  # idle and offline timeouts
        self.recording.start()  # recordings a crash left unfinished are mixed
        if self.metrics_listener is not None:
            await self.metrics_listener.start()

    async def stop(self) -> None:
        if self.metrics_listener is not None:
            await self.metrics_listener.stop()
        await self.admin_rooms.stop()
        await self.recording.stop()
        await self.sfu.close()
        await self.hallway_push.stop()
        await self.queue.stop()
        await self.pushers.stop()
        await self.devices.stop()
        await self.presence.stop()
        await self.device_lists.stop()
        await self.federation_client.close()
        await self.push_gateway.close()
        self.db.close()


def _portals_for_running_loop() -> None:
    """PostgreSQL: tasks created from now on wait for the database without blocking the loop
    (homeserver/storage/postgres.py)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # not serving yet: start() installs them
    from .storage.postgres import install_portals
    install_portals(loop)


def make_sfu(config: Config, hooks: SFUHooks) -> AudioSFU:
    m = config.media
    udp = (m.udp_port_range[0], m.udp_port_range[1]) if m.udp_port_range else None
    if config.database.engine == "postgres" and not m.worker_hosts:
        log.info("this process's SFU is its own (media.workers: %d): several processes of one "
                 "server share audio only through media.worker_hosts (README)", m.workers)
    if m.workers or m.worker_hosts:
        # Forwarding on every core (or other hosts): same interface, worker processes.
        return SFUCluster(m.audio_slots, m.public_ip, udp,
                          workers=list(m.worker_hosts) or m.workers, secret=m.worker_secret,
                          server_name=config.server_name,
                          relay_signaller=hooks.relay_signaller,
                          stage_policy=hooks.may_publish, loss_feedback=m.loss_feedback)
    return SFU(m.audio_slots, m.public_ip, udp, server_name=config.server_name,
               relay_signaller=hooks.relay_signaller, stage_policy=hooks.may_publish,
               tcp_port=m.tcp_port, loss_feedback=m.loss_feedback)


STATIC_DIR = Path(__file__).parent / "static"


def add_web_client(app: web.Application) -> None:
    """The web client: static files, no build step, served at / by the homeserver."""
    # WebAssembly (the vendored crypto) must be application/wasm for instantiateStreaming;
    # not every system's MIME table says so.
    mimetypes.add_type("application/wasm", ".wasm")

    async def index(request):
        return web.FileResponse(STATIC_DIR / "index.html",
                                headers={"Cache-Control": "no-cache"})

    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC_DIR, append_version=False)


def make_app(config: Config, db: Database | None = None) -> web.Application:
    hs = Homeserver(config, db)
    install_malformed_http_filter()  # garbage from peers: a WARNING a minute, no traceback
    # request metrics outermost: they see the status matrix_errors answered with
    middlewares = [request_metrics(hs.metrics.observe_request)] if hs.metrics else []
    app = web.Application(middlewares=[*middlewares, matrix_errors, guest_gate],
                          client_max_size=max(config.limits.max_request_bytes,
                                              config.limits.max_event_bytes) + 1024)
    app[HOMESERVER] = hs
    app[ACCOUNTS] = hs.accounts
    app[DEVICES] = hs.devices
    app[TRUSTED_PROXIES] = [ipaddress.ip_network(n, strict=False)
                            for n in config.trusted_proxies]
    accounts = AccountServlets(
        config, hs.accounts, AccountDataHandler(hs.account_data, hs.filters, hs.notifier),
        RateLimiter(config.ratelimit.login), RateLimiter(config.ratelimit.register),
        RateLimiter(config.ratelimit.guest_register))
    rooms = RoomServlets(config, hs.rooms, hs.membership, hs.sync, hs.directory, hs.filters)
    federation = FederationServlets(config.server_name, hs.federation, hs.room_host,
                                    hs.keyring, hs.queue, hs.accounts, hs.directory,
                                    InboundGate(), config.limits.max_request_bytes,
                                    RateLimiter(config.ratelimit.notary_fetch))
    app.add_routes(accounts.routes())
    admin = AdminServlets(hs.admin, hs.admin_rooms, hs.registration_tokens,
                          RateLimiter(config.ratelimit.register), config.registration.open)
    app.add_routes(admin.routes())
    app.add_routes(AccountDeactivationServlet(hs.admin).routes())
    app.add_routes(AdminRoomServlets(hs.admin_rooms, admin.auth).routes())
    app.add_routes(AdminFederationServlets(hs.admin_destinations, admin.auth).routes())
    app.add_routes(rooms.routes())
    app.add_routes(EphemeralServlets(hs.receipts, hs.typing).routes())
    app.add_routes(federation.routes())
    app.add_routes(PushServlets(hs.push_rules).routes())
    app.add_routes(ClientMiscServlets(config, hs.user_directory, hs.turn, hs.reports).routes())
    app.add_routes(RelationServlets(hs.relations, hs.context).routes())
    app.add_routes(DeviceServlets(hs.devices).routes())
    app.add_routes(KeyServlets(hs.e2e_keys, hs.cross_signing, lambda: hs.stream.current,
                               federation.authenticate).routes())
    app.add_routes(RoomKeyServlets(hs.room_keys, config.limits.max_request_bytes).routes())
    app.add_routes(PresenceServlets(hs.presence).routes())
    app.add_routes(ToDeviceServlets(hs.to_device, config.limits.max_request_bytes).routes())
    app.add_routes(AudioServlets(hs.audio).routes())
    app.add_routes(MediaServlets(hs.media, federation).routes())
    app.add_routes(RecordingServlets(hs.recording, federation).routes())
    # Uploads stream to disk under media_repository.max_upload_bytes (client_max_size above
    # bounds only bodies read whole, so every other route keeps its small limit).
    app.add_routes(ContentRepoServlets(hs.content_repo, federation).routes())
    app.add_routes(LinkServlets(RoomPreviews(config.server_name, hs.directory, hs.audio),
                                STATIC_DIR / "index.html", config.public_baseurl).routes())
    add_web_client(app)

    async def on_startup(app):
        await hs.start()

    async def on_cleanup(app):
        await hs.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
