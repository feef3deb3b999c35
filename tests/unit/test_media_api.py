"""media.api.AudioSFU, the protocol the homeserver types its SFU with: SFU and SFUCluster have
its methods, coroutines where it has coroutines, with the same parameter names."""
import inspect

from media.api import AudioSFU
from media.cluster import SFUCluster
from media.sfu import SFU


def test_sfu_and_cluster_offer_the_audio_sfu_protocol():
    members = [n for n in dir(AudioSFU) if not n.startswith("_")]
    assert {"open_session", "close_session", "open_relay", "set_may_send", "rooms"} <= \
        set(members)
    for cls in (SFU, SFUCluster):
        for name in members:
            ours = getattr(AudioSFU, name)
            if not inspect.isfunction(ours):
                continue  # rooms: SFU's is an attribute, SFUCluster's a property
            theirs = getattr(cls, name)
            assert inspect.isfunction(theirs), (cls, name)
            assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(theirs)
            assert list(inspect.signature(ours).parameters) == \
                list(inspect.signature(theirs).parameters), (cls, name)
