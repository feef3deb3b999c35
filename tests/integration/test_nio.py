"""matrix-nio's AsyncClient, unchanged, against the server: what a real SDK needs to work."""
from __future__ import annotations

from contextlib import asynccontextmanager

import nio


@asynccontextmanager
async def nio_clients(homeserver, *names):
    clients = [nio.AsyncClient(homeserver.url, name) for name in names]
    try:
        yield clients
    finally:
        for c in clients:
            await c.close()


async def register(client: nio.AsyncClient, name: str, password: str = "pw") -> None:
    resp = await client.register(name, password)
    assert isinstance(resp, nio.RegisterResponse), resp
    assert client.access_token and client.user_id == resp.user_id


async def sync_until(client: nio.AsyncClient, predicate, since=None, attempts: int = 10):
    """Long-poll sync (bounded) until ``predicate(response)`` holds; returns that response."""
    for _ in range(attempts):
        resp = await client.sync(timeout=2000, since=since or client.next_batch)
        assert isinstance(resp, nio.SyncResponse), resp
        if predicate(resp):
            return resp
        since = resp.next_batch
    raise AssertionError("condition not reached by sync")


async def account_data(client: nio.AsyncClient, etype: str):
    """GET /user/{id}/account_data/{type} through nio's own low-level transport."""
    path = nio.Api._build_path(["user", client.user_id, "account_data", etype])
    resp = await client.send("GET", path,
                             headers={"Authorization": f"Bearer {client.access_token}"})
    try:
        return resp.status, await resp.json()
    finally:
        resp.release()


async def test_register_login_logout(homeserver):
    async with nio_clients(homeserver, "alice", "alice") as (reg, other):
        await register(reg, "alice", "s3cret")
        assert reg.user_id == f"@alice:{homeserver.server_name}"
        login = await other.login("s3cret", device_name="second")
        assert isinstance(login, nio.LoginResponse), login
        assert login.user_id == reg.user_id
        assert login.access_token != reg.access_token
        who = await other.whoami()
        assert isinstance(who, nio.WhoamiResponse), who
        assert who.user_id == reg.user_id
        out = await other.logout()
        assert isinstance(out, nio.LogoutResponse), out
        # The registration token still works; the logged-out one does not.
        assert isinstance(await reg.whoami(), nio.WhoamiResponse)
        status, body = await homeserver.client(login.access_token).request(
            "GET", "/account/whoami")
        assert status == 401 and body["errcode"] == "M_UNKNOWN_TOKEN"


async def test_wrong_password_is_a_login_error(homeserver):
    async with nio_clients(homeserver, "bob", "bob") as (reg, other):
        await register(reg, "bob", "right")
        resp = await other.login("wrong")
        assert isinstance(resp, nio.LoginError), resp
        assert resp.status_code == "M_FORBIDDEN"


async def test_room_invite_join_and_message(homeserver):
    async with nio_clients(homeserver, "alice", "bob") as (alice, bob):
        await register(alice, "alice")
        await register(bob, "bob")
        await bob.sync(timeout=0)
        created = await alice.room_create(name="Nio room", topic="sdk test")
        assert isinstance(created, nio.RoomCreateResponse), created
        room_id = created.room_id
        invited = await alice.room_invite(room_id, bob.user_id)
        assert isinstance(invited, nio.RoomInviteResponse), invited

        resp = await sync_until(bob, lambda r: room_id in r.rooms.invite)
        assert room_id in bob.invited_rooms
        assert bob.invited_rooms[room_id].name == "Nio room"

        joined = await bob.join(room_id)
        assert isinstance(joined, nio.JoinResponse), joined
        assert joined.room_id == room_id
        await sync_until(bob, lambda r: room_id in r.rooms.join, since=resp.next_batch)
        assert room_id in bob.rooms
        assert bob.rooms[room_id].topic == "sdk test"

        await alice.sync(timeout=0)
        sent = await alice.room_send(room_id, "m.room.message",
                                     {"msgtype": "m.text", "body": "hello from nio"})
        assert isinstance(sent, nio.RoomSendResponse), sent

        def has_message(r):
            room = r.rooms.join.get(room_id)
            return room is not None and any(isinstance(e, nio.RoomMessageText)
                                            for e in room.timeline.events)
        got = await sync_until(bob, has_message)
        texts = [e for e in got.rooms.join[room_id].timeline.events
                 if isinstance(e, nio.RoomMessageText)]
        assert [(e.sender, e.body, e.event_id) for e in texts] == \
            [(alice.user_id, "hello from nio", sent.event_id)]

        members = await bob.joined_members(room_id)
        assert isinstance(members, nio.JoinedMembersResponse), members
        assert {m.user_id for m in members.members} == {alice.user_id, bob.user_id}
        names = {m.user_id: m.display_name for m in members.members}
        assert names[alice.user_id] == "alice"

        jr = await bob.joined_rooms()
        assert isinstance(jr, nio.JoinedRoomsResponse), jr
        assert jr.rooms == [room_id]

        left = await bob.room_leave(room_id)
        assert isinstance(left, nio.RoomLeaveResponse), left
        await sync_until(bob, lambda r: room_id in r.rooms.leave)


async def test_direct_message(homeserver):
    async with nio_clients(homeserver, "alice", "bob") as (alice, bob):
        await register(alice, "alice")
        await register(bob, "bob")
        await bob.sync(timeout=0)
        created = await alice.room_create(is_direct=True, invite=[bob.user_id],
                                          preset=nio.RoomPreset.trusted_private_chat)
        assert isinstance(created, nio.RoomCreateResponse), created
        room_id = created.room_id

        resp = await sync_until(bob, lambda r: room_id in r.rooms.invite)
        invite_events = resp.rooms.invite[room_id].invite_state
        mine = [e for e in invite_events if isinstance(e, nio.InviteMemberEvent)
                and e.state_key == bob.user_id]
        assert mine and mine[0].content.get("is_direct") is True

        joined = await bob.join(room_id)
        assert isinstance(joined, nio.JoinResponse), joined

        # nio's own m.direct call, and the plain account-data endpoint through nio's transport.
        for me, other in ((alice, bob), (bob, alice)):
            direct = await me.list_direct_rooms()
            assert isinstance(direct, nio.DirectRoomsResponse), direct
            assert direct.rooms == {other.user_id: [room_id]}
            status, body = await account_data(me, "m.direct")
            assert status == 200 and body == {other.user_id: [room_id]}

        # m.direct also arrives in nio's sync as global account data.
        def has_direct(r):
            return any(getattr(e, "type", None) == "m.direct" for e in r.account_data_events)
        got = await sync_until(bob, has_direct, since=resp.next_batch)
        direct = [e for e in got.account_data_events if getattr(e, "type", "") == "m.direct"]
        assert direct and direct[0].content == {alice.user_id: [room_id]}

        sent = await bob.room_send(room_id, "m.room.message",
                                   {"msgtype": "m.text", "body": "psst"})
        assert isinstance(sent, nio.RoomSendResponse), sent
        await alice.sync(timeout=0)
        assert room_id in alice.rooms
        assert alice.rooms[room_id].member_count == 2


async def test_room_messages_pagination(homeserver):
    async with nio_clients(homeserver, "alice") as (alice,):
        await register(alice, "alice")
        created = await alice.room_create()
        room_id = created.room_id
        bodies = [f"line {i}" for i in range(15)]
        for i, body in enumerate(bodies):
            resp = await alice.room_send(room_id, "m.room.message",
                                         {"msgtype": "m.text", "body": body}, tx_id=f"tx{i}")
            assert isinstance(resp, nio.RoomSendResponse), resp
        sync = await alice.sync(timeout=0)
        start = sync.rooms.join[room_id].timeline.prev_batch

        collected, token = [], sync.next_batch
        for _ in range(10):
            page = await alice.room_messages(room_id, start=token, limit=4)
            assert isinstance(page, nio.RoomMessagesResponse), page
            collected += [e.body for e in page.chunk if isinstance(e, nio.RoomMessageText)]
            if not page.end or not page.chunk:
                break
            token = page.end
        assert list(reversed(collected)) == bodies
        assert start  # a sync's prev_batch is a usable token for nio too

        forward = await alice.room_messages(room_id, start="s0",
                                            direction=nio.MessageDirection.front, limit=100)
        assert isinstance(forward, nio.RoomMessagesResponse), forward
        assert [e.body for e in forward.chunk if isinstance(e, nio.RoomMessageText)] == bodies


async def test_profile_state_alias_and_moderation(homeserver):
    async with nio_clients(homeserver, "alice", "bob") as (alice, bob):
        await register(alice, "alice")
        await register(bob, "bob")
        assert isinstance(await alice.set_displayname("Alice A"), nio.ProfileSetDisplayNameResponse)
        name = await bob.get_displayname(alice.user_id)
        assert isinstance(name, nio.ProfileGetDisplayNameResponse), name
        assert name.displayname == "Alice A"
        profile = await bob.get_profile(alice.user_id)
        assert isinstance(profile, nio.ProfileGetResponse), profile
        assert profile.displayname == "Alice A"

        created = await alice.room_create(alias="niostage", name="Stage",
                                          visibility=nio.RoomVisibility.public,
                                          room_type="org.audiorooms.audio")
        assert isinstance(created, nio.RoomCreateResponse), created
        room_id = created.room_id
        alias = f"#niostage:{homeserver.server_name}"
        resolved = await bob.room_resolve_alias(alias)
        assert isinstance(resolved, nio.RoomResolveAliasResponse), resolved
        assert resolved.room_id == room_id
        joined = await bob.join(alias)
        assert isinstance(joined, nio.JoinResponse), joined
        assert joined.room_id == room_id

        put = await alice.room_put_state(room_id, "m.room.topic", {"topic": "tonight"})
        assert isinstance(put, nio.RoomPutStateResponse), put
        got = await bob.room_get_state_event(room_id, "m.room.topic")
        assert isinstance(got, nio.RoomGetStateEventResponse), got
        assert got.content == {"topic": "tonight"}
        create = await bob.room_get_state_event(room_id, "m.room.create")
        assert create.content["type"] == "org.audiorooms.audio"
        state = await bob.room_get_state(room_id)
        assert isinstance(state, nio.RoomGetStateResponse), state
        assert {e["type"] for e in state.events} >= {"m.room.create", "m.room.topic",
                                                     "m.room.power_levels"}
        missing = await bob.room_get_state_event(room_id, "m.room.avatar")
        assert isinstance(missing, nio.RoomGetStateEventError), missing
        assert missing.status_code == "M_NOT_FOUND"

        assert isinstance(await bob.room_typing(room_id, True), nio.RoomTypingResponse)
        assert isinstance(await alice.room_kick(room_id, bob.user_id, "bye"),
                          nio.RoomKickResponse)
        assert isinstance(await alice.room_ban(room_id, bob.user_id), nio.RoomBanResponse)
        refused = await bob.join(room_id)
        assert isinstance(refused, nio.JoinError), refused
        assert refused.status_code == "M_FORBIDDEN"
        assert isinstance(await alice.room_unban(room_id, bob.user_id), nio.RoomUnbanResponse)
        assert isinstance(await bob.join(room_id), nio.JoinResponse)

        vis = await bob.room_get_visibility(room_id)
        assert isinstance(vis, nio.RoomGetVisibilityResponse), vis
        assert vis.visibility == "public"
        public = await bob.list_public_rooms(limit=10, filter_generic_search_term="stage")
        assert isinstance(public, nio.responses.PublicRoomsResponse), public
        assert [(r.room_id, r.num_joined_members, r.name) for r in public.public_rooms] == \
            [(room_id, 2, "Stage")]

        other_alias = f"#othername:{homeserver.server_name}"
        assert isinstance(await alice.room_put_alias(other_alias, room_id),
                          nio.RoomPutAliasResponse)
        assert (await bob.room_resolve_alias(other_alias)).room_id == room_id
        assert isinstance(await alice.room_delete_alias(other_alias),
                          nio.RoomDeleteAliasResponse)
        gone = await bob.room_resolve_alias(other_alias)
        assert isinstance(gone, nio.RoomResolveAliasError), gone

        sent = await bob.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "hi"})
        ev = await alice.room_get_event(room_id, sent.event_id)
        assert isinstance(ev, nio.RoomGetEventResponse), ev
        assert isinstance(ev.event, nio.RoomMessageText) and ev.event.body == "hi"
        assert isinstance(await alice.room_read_markers(room_id, sent.event_id, sent.event_id),
                          nio.RoomReadMarkersResponse)
        assert isinstance(await alice.update_receipt_marker(room_id, sent.event_id),
                          nio.UpdateReceiptMarkerResponse)

        await alice.sync(timeout=0)
        room = alice.rooms[room_id]
        assert room.topic == "tonight" and room.name == "Stage"
        assert set(room.users) == {alice.user_id, bob.user_id}
        assert room.user_name(alice.user_id) == "Alice A"


async def test_uploaded_filter_limits_the_timeline(homeserver):
    async with nio_clients(homeserver, "alice") as (alice,):
        await register(alice, "alice")
        room_id = (await alice.room_create()).room_id
        for i in range(6):
            await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text",
                                                             "body": f"n{i}"})
        uploaded = await alice.upload_filter(room={"timeline": {"limit": 2}})
        assert isinstance(uploaded, nio.UploadFilterResponse), uploaded
        resp = await alice.sync(timeout=0, sync_filter=uploaded.filter_id)
        assert isinstance(resp, nio.SyncResponse), resp
        tl = resp.rooms.join[room_id].timeline
        assert [e.body for e in tl.events] == ["n4", "n5"]
        assert tl.limited is True
        inline = await alice.sync(timeout=0, full_state=True,
                                  sync_filter={"room": {"timeline": {"limit": 1}}})
        assert [e.body for e in inline.rooms.join[room_id].timeline.events] == ["n5"]
        # The room's state still reached nio's room model despite the short timeline.
        assert alice.rooms[room_id].users.keys() == {alice.user_id}
        forgot = await alice.room_leave(room_id)
        assert isinstance(forgot, nio.RoomLeaveResponse)
        assert isinstance(await alice.room_forget(room_id), nio.RoomForgetResponse)
