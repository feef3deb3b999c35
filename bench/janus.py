"""Just enough of Janus for the fan-out benchmark (bench/fanout.py): its HTTP API for
VideoRoom publishers and subscribers, and the Debian ``janus`` binary started with only the
VideoRoom plugin and the HTTP transport."""
from __future__ import annotations

import os
import subprocess

JANUS_ROOM = 4242


class Janus:
    """Just enough of the Janus HTTP API for VideoRoom publishers and subscribers."""

    def __init__(self, http, base: str):
        self.http = http
        self.base = base
        self.session = None
        self.handle = None
        self._n = 0

    def _tx(self) -> str:
        self._n += 1
        return f"t{os.getpid()}-{id(self)}-{self._n}"

    async def _post(self, path: str, body: dict) -> dict:
        async with self.http.post(self.base + path, json=body) as r:
            return await r.json()

    async def attach(self) -> None:
        r = await self._post("", {"janus": "create", "transaction": self._tx()})
        self.session = r["data"]["id"]
        r = await self._post(f"/{self.session}", {"janus": "attach", "transaction": self._tx(),
                                                  "plugin": "janus.plugin.videoroom"})
        self.handle = r["data"]["id"]

    async def request(self, body: dict, jsep: dict | None = None) -> dict:
        msg = {"janus": "message", "transaction": self._tx(), "body": body}
        if jsep:
            msg["jsep"] = jsep
        r = await self._post(f"/{self.session}/{self.handle}", msg)
        if r.get("janus") == "success":
            return r
        if r.get("janus") != "ack":
            raise RuntimeError(f"janus: {r}")
        tx = msg["transaction"]
        while True:  # long poll for the plugin's asynchronous answer
            async with self.http.get(f"{self.base}/{self.session}?maxev=1") as resp:
                ev = await resp.json()
            if ev.get("transaction") == tx and ev.get("janus") == "event":
                return ev

    async def destroy(self) -> None:
        try:
            await self._post(f"/{self.session}", {"janus": "destroy", "transaction": self._tx()})
        except Exception:
            pass



def start_janus(workdir: str, http_port: int, nice: int) -> subprocess.Popen:
    """Janus serving its HTTP API on 127.0.0.1:``http_port``, at niceness ``nice``."""
    for sub in ("plugins", "transports", "events", "loggers"):
        os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    lib = "/usr/lib/x86_64-linux-gnu/janus"
    os.symlink(f"{lib}/plugins/libjanus_videoroom.so",
               os.path.join(workdir, "plugins", "libjanus_videoroom.so"))
    os.symlink(f"{lib}/transports/libjanus_http.so",
               os.path.join(workdir, "transports", "libjanus_http.so"))
    # Janus's default is one thread per handle; --janus-event-loops N shares N loops instead
    n_loops = int(os.environ.get("FANOUT_JANUS_EVENT_LOOPS", "0"))
    loops = f"    event_loops = {n_loops}" if n_loops else ""
    with open(os.path.join(workdir, "janus.jcfg"), "w") as f:
        f.write(f"""general: {{
    configs_folder = "{workdir}"
    plugins_folder = "{workdir}/plugins"
    transports_folder = "{workdir}/transports"
    events_folder = "{workdir}/events"
    loggers_folder = "{workdir}/loggers"
    debug_level = 2
    session_timeout = 0
{loops}
}}
certificates: {{}}
media: {{
    ipv6 = false
    rtp_port_range = "30000-60000"
}}
nat: {{
    nice_debug = false
    full_trickle = false
    ice_ignore_list = "vmnet"
}}
plugins: {{}}
transports: {{}}
events: {{ broadcast = false }}
loggers: {{}}
""")
    with open(os.path.join(workdir, "janus.transport.http.jcfg"), "w") as f:
        f.write(f"""general: {{
    json = "compact"
    base_path = "/janus"
    http = true
    port = {http_port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{ admin_http = false }}
cors: {{}}
""")
    with open(os.path.join(workdir, "janus.plugin.videoroom.jcfg"), "w") as f:
        f.write("general: {}\n")
    log = open(os.path.join(workdir, "janus.log"), "w")
    return subprocess.Popen(["nice", "-n", str(nice), "janus",
                             "-C", os.path.join(workdir, "janus.jcfg"),
                             "-F", workdir, "-N", "-L", os.path.join(workdir, "janus.out")],
                            stdout=log, stderr=subprocess.STDOUT)

