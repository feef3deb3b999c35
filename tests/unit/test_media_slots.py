"""media.slots: the K loudest eligible speakers with hysteresis, never one's own audio."""
from media.slots import SlotAllocator


def talk(alloc, levels: dict, start: float, seconds: float, step: float = 0.02):
    """Feed packets every 20 ms at the given -dBov levels, updating as the SFU does."""
    t = start
    while t < start + seconds - 1e-9:
        for user, level in levels.items():
            alloc.observe(user, level, t)
        alloc.update(t)
        t += step
    return t


def make(k=3, users=("a", "b", "c", "d")):
    alloc = SlotAllocator(slots=k)
    for u in users:
        alloc.set_eligible(u, True)
    return alloc


def test_fills_positions_and_spare_at_once():
    alloc = make()
    alloc.observe("a", 40, 0.0)
    assert alloc.update(0.0) is True
    assert alloc.top == ["a", None, None] and alloc.spare is None
    for u in "bcd":
        alloc.observe(u, 40, 0.01)
    alloc.update(0.01)
    assert sorted(alloc.top) == ["a", "b", "c"] and alloc.spare == "d"


def test_listener_never_gets_own_audio():
    alloc = make()
    talk(alloc, {"a": 20, "b": 30, "c": 40, "d": 50}, 0.0, 0.5)
    top = list(alloc.top)
    assert alloc.assignment("zed") == top
    for u in top:
        mine = alloc.assignment(u)
        assert u not in mine and alloc.spare in mine
        assert [x for x in mine if x != alloc.spare] == [x for x in top if x != u]
    assert alloc.assignment("zed", n_slots=2) == top[:2]


def test_louder_fourth_speaker_displaces_the_quietest_after_the_hold():
    alloc = make()
    t = talk(alloc, {"a": 20, "b": 25, "c": 40, "d": 70}, 0.0, 1.0)
    assert sorted(alloc.top) == ["a", "b", "c"] and alloc.spare == "d"
    pos_c = alloc.top.index("c")
    # d gets louder than c by far: not immediately...
    t2 = talk(alloc, {"a": 20, "b": 25, "c": 40, "d": 10}, t, 0.2)
    assert "d" not in alloc.top
    # ...but after the hold, on c's position; a and b do not move
    talk(alloc, {"a": 20, "b": 25, "c": 40, "d": 10}, t2, 0.6)
    assert alloc.top[pos_c] == "d" and alloc.spare == "c"
    assert alloc.top.index("a") == ["a", "b", "c"].index("a") or "a" in alloc.top


def test_no_flapping_between_similar_levels():
    alloc = make()
    t = talk(alloc, {"a": 20, "b": 20, "c": 40, "d": 44}, 0.0, 1.0)
    before = list(alloc.top)
    changes = 0
    for i in range(100):  # c and d alternate around each other, within the margin
        lv = {"a": 20, "b": 20, "c": 40 + (3 if i % 2 else -3), "d": 40 + (-3 if i % 2 else 3)}
        t = talk(alloc, lv, t, 0.1)
        changes += alloc.top != before
        before = list(alloc.top)
    assert changes == 0


def test_ineligible_speaker_leaves_at_once_and_the_spare_steps_in():
    alloc = make()
    t = talk(alloc, {"a": 20, "b": 25, "c": 30, "d": 60}, 0.0, 0.5)
    pos_a = alloc.top.index("a")
    alloc.set_eligible("a", False)  # muted
    assert alloc.update(t) is True
    assert alloc.top[pos_a] == "d" and "a" not in alloc.top and alloc.spare is None
    alloc.set_eligible("a", True)  # unmuted: back as the spare straight away, then a position
    t = talk(alloc, {"a": 20, "b": 25, "c": 30, "d": 60}, t, 1.0)
    assert "a" in alloc.top and alloc.spare == "d"


def test_stale_and_removed_speakers_are_dropped():
    alloc = make(k=2, users=("a", "b", "c"))
    t = talk(alloc, {"a": 20, "b": 25, "c": 30}, 0.0, 0.2)
    t = talk(alloc, {"a": 20, "c": 30}, t, 2.5)  # b stops sending
    assert "b" not in alloc.top and alloc.spare != "b"
    alloc.remove("a")
    alloc.update(t)
    assert "a" not in alloc.top


def test_talking_and_levels():
    alloc = make()
    talk(alloc, {"a": 20, "b": 127}, 0.0, 0.5)
    assert alloc.talking(0.5) == ["a"]
    assert -21 < alloc.level("a") < -19 and alloc.level("zzz") is None
    assert not alloc.eligible("zzz")


def test_not_eligible_speakers_are_never_placed():
    alloc = SlotAllocator(slots=3)
    alloc.observe("listener", 10, 0.0)
    assert alloc.update(0.0) is False
    assert alloc.top == [None, None, None]
