"""A DM's invite carries its first words (the invite's ``reason``) to another server, so the
invitee sees who wrote and what before accepting; a non-string reason is refused."""
from __future__ import annotations

from urllib.parse import quote

from tests.integration.federation_helpers import eventually, start_servers
from tests.integration.test_federation import _invited


async def test_remote_invite_reason_reaches_the_invitee(make_homeserver):
    hs = await start_servers(make_homeserver, names=("a", "b"))
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    dm = await alice.create_room(is_direct=True, preset="trusted_private_chat")
    await alice.send(dm, "Loved your set, can we talk?")
    status, body = await alice.request("POST", f"/rooms/{quote(dm)}/invite",
                                       {"user_id": bob.user_id, "reason": 42})
    assert status == 400 and body["errcode"] == "M_BAD_JSON"
    await alice.ok("POST", f"/rooms/{quote(dm)}/invite",
                   {"user_id": bob.user_id, "reason": "Loved your set, can we talk?"})
    sync = await eventually(lambda: _invited(bob, dm))
    events = sync["rooms"]["invite"][dm]["invite_state"]["events"]
    mine = [e for e in events if e["type"] == "m.room.member" and e["state_key"] == bob.user_id]
    assert mine[0]["sender"] == alice.user_id
    assert mine[0]["content"]["reason"] == "Loved your set, can we talk?"
