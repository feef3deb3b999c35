"""The Matrix bridge: links audio rooms on our homeserver to existing Matrix rooms.

It runs as a Matrix application service (puppets and a bot on the Matrix homeserver) and as a
client (a bot user) of our homeserver. Pure logic lives in flat modules without I/O (ids,
commands, formatting, stage, backoff); ``store`` holds the SQLite state; ``matrix`` and
``appservice`` do the HTTP; ``core`` wires the two sides together.
"""
