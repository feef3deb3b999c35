"""Faults: a server that is down catches up in order, exactly once; a sender killed with
events still queued delivers them after it restarts."""
import signal

from aiohttp.test_utils import unused_port

from tests.integration.federation_helpers import (
    bodies_once_all_in,
    eventually,
    restart,
    start_process,
    start_servers,
)
from tests.matrix_client import Client


async def test_stopped_server_receives_everything_it_missed_in_order(make_homeserver):
    hs = await start_servers(make_homeserver)
    alice = await hs["a"].user("alice")
    bob = await hs["b"].user("bob")
    carol = await hs["c"].user("carol")
    room = await alice.create_room(preset="public_chat")
    await bob.join(room)
    await carol.join(room)
    await alice.send(room, "before")
    await eventually(lambda: bodies_once_all_in(carol, room, ["before"]))

    await hs["c"].server.close()  # C goes down; A and B keep talking
    sent = []
    for i in range(15):
        sender = alice if i % 2 == 0 else bob
        body = f"{'a' if sender is alice else 'b'}{i}"
        await sender.send(room, body)
        sent.append(body)
    order_on_a = await eventually(lambda: bodies_once_all_in(alice, room, ["before"] + sent))
    assert hs["a"].hs.outbox.count(hs["c"].server_name) > 0  # waiting for C, not dropped

    hs["c"] = await restart(make_homeserver, hs["c"], "c")
    order_on_c = await eventually(lambda: bodies_once_all_in(carol, room, ["before"] + sent), timeout=20)
    assert order_on_c == order_on_a  # same order, each message exactly once
    assert await eventually(lambda: hs["a"].hs.outbox.count() == 0)




async def test_sender_killed_with_queued_events_delivers_after_restart(make_homeserver, tmp_path,
                                                                       http_session):
    port_a, port_b = unused_port(), unused_port()
    name_a, name_b = f"127.0.0.1:{port_a}", f"127.0.0.1:{port_b}"
    servers = {name_a: f"http://{name_a}", name_b: f"http://{name_b}"}
    proc = start_process(tmp_path, "a", port_a, servers)
    try:
        b = await make_homeserver("b", port=port_b, federation={
            "servers": servers, "retry_base_seconds": 0.05, "retry_max_seconds": 0.5})
        alice = Client(http_session, f"http://{name_a}")
        await alice.register("alice")
        bob = await b.user("bob")
        room = await alice.create_room(preset="public_chat")
        await bob.join(room)
        await b.server.close()  # B is down: A must queue
        sent = [f"m{i}" for i in range(20)]
        for body in sent:
            await alice.send(room, body)
        proc.send_signal(signal.SIGKILL)  # no clean shutdown; the queue is only on disk
        proc.wait(10)
        proc = start_process(tmp_path, "a", port_a, servers)
        b = await restart(make_homeserver, b, "b")
        got = await eventually(lambda: bodies_once_all_in(bob, room, sent), timeout=20)
        assert [x for x in got if x in sent] == sent  # in order, exactly once
    finally:
        proc.kill()
        proc.wait(10)
