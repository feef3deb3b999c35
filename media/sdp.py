"""SDP for the SFU (RFC 8866 syntax, JSEP/RFC 9429 usage, BUNDLE RFC 9143): parse the offers
Chromium, Firefox and aiortc send, decide what each audio section is for, and write answers
and offers. Pure: no I/O, no clock, no randomness (identifiers are passed in).

A participant's offer: one BUNDLE group of audio sections. Sections the client receives on
(``recvonly``/``sendrecv``) become the connection's audio slots (at most K, extra ones are
answered ``inactive``); the first section the client sends on (``sendonly``/``sendrecv``) is the
mic. Opus (48000/2) is the only codec; the RFC 6464 audio-level extension and the MID extension
are accepted with the offerer's IDs. Video and data-channel sections are rejected (port 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import SdpError
from .rtp import AUDIO_LEVEL_URI, MID_URI

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
REVERSE = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
           "inactive": "inactive"}


@dataclass
class Candidate:
    foundation: str
    component: int
    transport: str
    priority: int
    host: str
    port: int
    type: str
    related_address: str | None = None
    related_port: int | None = None
    tcptype: str | None = None

    @classmethod
    def parse(cls, value: str) -> Candidate:
        if value.startswith("candidate:"):
            value = value[len("candidate:"):]
        bits = value.split()
        if len(bits) < 8 or bits[6] != "typ":
            raise SdpError(f"malformed ICE candidate: {value!r}")
        try:
            c = cls(foundation=bits[0], component=int(bits[1]), transport=bits[2],
                    priority=int(bits[3]), host=bits[4], port=int(bits[5]), type=bits[7])
        except ValueError:
            raise SdpError(f"malformed ICE candidate: {value!r}") from None
        for i in range(8, len(bits) - 1, 2):
            if bits[i] == "raddr":
                c.related_address = bits[i + 1]
            elif bits[i] == "rport":
                c.related_port = int(bits[i + 1]) if bits[i + 1].isdigit() else None
            elif bits[i] == "tcptype":
                c.tcptype = bits[i + 1]
        return c

    def __str__(self) -> str:
        s = (f"{self.foundation} {self.component} {self.transport} {self.priority} "
             f"{self.host} {self.port} typ {self.type}")
        if self.related_address is not None:
            s += f" raddr {self.related_address} rport {self.related_port}"
        if self.tcptype:
            s += f" tcptype {self.tcptype}"
        return s


@dataclass
class Codec:
    payload_type: int
    name: str
    clock_rate: int
    channels: int = 1
    fmtp: str | None = None
    rtcp_fb: list[str] = field(default_factory=list)


@dataclass
class MediaSection:
    kind: str
    port: int
    proto: str
    formats: list[str]
    mid: str | None = None
    direction: str = "sendrecv"
    codecs: dict[int, Codec] = field(default_factory=dict)
    extmap: dict[str, int] = field(default_factory=dict)  # uri -> id
    ssrcs: list[int] = field(default_factory=list)
    ssrc_cname: str | None = None
    msid: str | None = None
    ice_ufrag: str | None = None
    ice_pwd: str | None = None
    ice_lite: bool = False
    fingerprints: list[tuple[str, str]] = field(default_factory=list)
    setup: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    end_of_candidates: bool = False
    rtcp_mux: bool = False
    rtcp_rsize: bool = False
    bundle_only: bool = False

    def opus(self) -> Codec | None:
        for pt in self.formats:
            codec = self.codecs.get(int(pt)) if pt.isdigit() else None
            if codec and codec.name.lower() == "opus" and codec.clock_rate == 48000:
                return codec
        return None

    def red(self, opus: Codec) -> Codec | None:
        """RFC 2198 RED over this section's Opus (``red/48000/2``, its fmtp naming only
        ``opus``'s payload type, e.g. ``111/111``), if offered."""
        for pt in self.formats:
            codec = self.codecs.get(int(pt)) if pt.isdigit() else None
            if codec is None or codec.name.lower() != "red" or codec.clock_rate != 48000 \
                    or codec.payload_type == opus.payload_type:
                continue
            blocks = (codec.fmtp or "").strip().split("/")
            if blocks == [""] or all(b == str(opus.payload_type) for b in blocks):
                return codec
        return None


@dataclass
class SessionDescription:
    media: list[MediaSection] = field(default_factory=list)
    bundle: list[list[str]] = field(default_factory=list)
    ice_ufrag: str | None = None
    ice_pwd: str | None = None
    ice_lite: bool = False
    fingerprints: list[tuple[str, str]] = field(default_factory=list)
    setup: str | None = None

    @classmethod
    def parse(cls, text: str) -> SessionDescription:
        if not isinstance(text, str) or not text.strip():
            raise SdpError("empty SDP")
        desc = cls()
        current: MediaSection | None = None
        saw_version = False
        for raw in text.replace("\r\n", "\n").split("\n"):
            line = raw.strip()
            if not line:
                continue
            if len(line) < 2 or line[1] != "=":
                raise SdpError(f"malformed SDP line: {line[:80]!r}")
            kind, value = line[0], line[2:]
            if kind == "v":
                saw_version = True
            elif kind == "m":
                bits = value.split()
                if len(bits) < 3:
                    raise SdpError(f"malformed m= line: {value!r}")
                try:
                    port = int(bits[1].split("/")[0])
                except ValueError:
                    raise SdpError(f"malformed m= line: {value!r}") from None
                current = MediaSection(kind=bits[0], port=port, proto=bits[2],
                                       formats=bits[3:])
                desc.media.append(current)
            elif kind == "a":
                name, _, arg = value.partition(":")
                _attribute(desc, current, name, arg)
        if not saw_version:
            raise SdpError("SDP has no v= line")
        return desc

    # transport parameters: a media section's own, or else the session's
    def transport_of(self, m: MediaSection) -> tuple[str | None, str | None, list, str | None]:
        return (m.ice_ufrag or self.ice_ufrag, m.ice_pwd or self.ice_pwd,
                m.fingerprints or self.fingerprints, m.setup or self.setup)


def _attribute(desc: SessionDescription, m: MediaSection | None, name: str, arg: str) -> None:
    target = m if m is not None else desc
    if name == "group":
        bits = arg.split()
        if bits and bits[0] == "BUNDLE":
            desc.bundle.append(bits[1:])
    elif name == "ice-ufrag":
        target.ice_ufrag = arg.strip()
    elif name == "ice-pwd":
        target.ice_pwd = arg.strip()
    elif name == "ice-lite":
        target.ice_lite = True
    elif name == "fingerprint":
        alg, _, fp = arg.strip().partition(" ")
        target.fingerprints.append((alg.lower(), fp.strip()))
    elif name == "setup":
        target.setup = arg.strip()
    elif m is None:
        return
    elif name == "mid":
        m.mid = arg.strip()
    elif name in DIRECTIONS:
        m.direction = name
    elif name == "rtpmap":
        pt, _, enc = arg.partition(" ")
        parts = enc.strip().split("/")
        try:
            codec = Codec(int(pt), parts[0], int(parts[1]),
                          int(parts[2]) if len(parts) > 2 and parts[2] else 1)
        except (ValueError, IndexError):
            raise SdpError(f"malformed rtpmap: {arg!r}") from None
        if not 0 <= codec.payload_type <= 127:
            return  # not an RTP payload type (7 bits): a hostile PT would corrupt our headers
        old = m.codecs.get(codec.payload_type)
        if old is not None:
            codec.fmtp, codec.rtcp_fb = old.fmtp, old.rtcp_fb
        m.codecs[codec.payload_type] = codec
    elif name in ("fmtp", "rtcp-fb"):
        pt, _, rest = arg.partition(" ")
        if not pt.isdigit():
            return  # "rtcp-fb:* ..." applies to every codec; nothing we use
        codec = m.codecs.setdefault(int(pt), Codec(int(pt), "", 0))
        if name == "fmtp":
            codec.fmtp = rest.strip()
        else:
            codec.rtcp_fb.append(rest.strip())
    elif name == "extmap":
        ident, _, rest = arg.partition(" ")
        uri = rest.split()[0] if rest.split() else ""
        try:
            m.extmap[uri] = int(ident.split("/")[0])
        except ValueError:
            raise SdpError(f"malformed extmap: {arg!r}") from None
    elif name == "ssrc":
        ident, _, rest = arg.partition(" ")
        if not ident.isdigit():
            raise SdpError(f"malformed ssrc: {arg!r}")
        ssrc = int(ident)
        if ssrc not in m.ssrcs:
            m.ssrcs.append(ssrc)
        if rest.startswith("cname:") and m.ssrc_cname is None:
            m.ssrc_cname = rest[len("cname:"):]
    elif name == "msid":
        m.msid = arg.strip()
    elif name == "candidate":
        try:
            m.candidates.append(Candidate.parse(arg))
        except SdpError:
            pass  # an unusable candidate (e.g. an mDNS or TCP one) is skipped, not fatal
    elif name == "end-of-candidates":
        m.end_of_candidates = True
    elif name == "rtcp-mux":
        m.rtcp_mux = True
    elif name == "rtcp-rsize":
        m.rtcp_rsize = True
    elif name == "bundle-only":
        m.bundle_only = True


# planning ------------------------------------------------------------------------------------

@dataclass
class SectionPlan:
    """What the answer does with one offered media section."""
    index: int
    mid: str | None
    kind: str
    accepted: bool
    direction: str = "inactive"  # the answer's direction
    slot: int | None = None  # we send audio slot `slot` on it
    mic: bool = False  # we receive the client's mic on it
    payload_type: int | None = None
    fmtp: str | None = None
    red_payload_type: int | None = None  # RFC 2198 RED over the Opus, when offered
    red_fmtp: str | None = None
    audio_level_id: int | None = None
    mid_id: int | None = None
    remote_ssrcs: list[int] = field(default_factory=list)
    rtcp_rsize: bool = False


@dataclass
class TransportParams:
    ice_ufrag: str
    ice_pwd: str
    ice_lite: bool
    fingerprints: list[tuple[str, str]]
    setup: str  # the remote's a=setup
    candidates: list[Candidate]
    end_of_candidates: bool


@dataclass
class OfferPlan:
    sections: list[SectionPlan]
    transport: TransportParams
    bundle: list[str]  # mids of the accepted sections, in offer order

    @property
    def slots(self) -> list[SectionPlan]:
        return sorted((s for s in self.sections if s.slot is not None),
                      key=lambda s: -1 if s.slot is None else s.slot)

    @property
    def mic(self) -> SectionPlan | None:
        return next((s for s in self.sections if s.mic), None)


def _transport(desc: SessionDescription, m: MediaSection,
               bundled: list[MediaSection]) -> TransportParams:
    ufrag, pwd, fps, setup = desc.transport_of(m)
    if not ufrag or not pwd:
        raise SdpError("the offer has no ICE credentials")
    if not fps:
        raise SdpError("the offer has no DTLS fingerprint")
    candidates: list[Candidate] = []
    seen = set()
    end = False
    for sec in bundled:  # candidates may be listed on the tagged section only, or on each
        for c in sec.candidates:
            key = (c.host, c.port, c.transport.lower(), c.component)
            if c.component == 1 and c.transport.lower() == "udp" and key not in seen:
                seen.add(key)
                candidates.append(c)
        end = end or sec.end_of_candidates
    return TransportParams(ufrag, pwd, m.ice_lite or desc.ice_lite, fps,
                           setup or "actpass", candidates, end)


def _bundled(desc: SessionDescription) -> list[MediaSection]:
    """The sections sharing the transport (the first BUNDLE group); without BUNDLE, a
    single-section offer is its own group."""
    if desc.bundle:
        mids = desc.bundle[0]
        sections = [m for m in desc.media if m.mid in mids and (m.port != 0 or m.bundle_only)]
        if not sections:
            raise SdpError("the BUNDLE group names no media section")
        sections.sort(key=lambda m: mids.index(m.mid or ""))  # every one is in mids
        return sections
    live = [m for m in desc.media if m.port != 0]
    if len(live) == 1:
        return live
    raise SdpError("offers with more than one media section must use BUNDLE")


def plan_offer(sdp: str, max_slots: int, accept_mic: bool = True) -> OfferPlan:
    """Decide the answer to a participant's offer (see the module docstring)."""
    desc = SessionDescription.parse(sdp)
    if not desc.media:
        raise SdpError("the offer has no media sections")
    bundled = _bundled(desc)
    transport = _transport(desc, bundled[0], bundled)
    in_group = {id(m) for m in bundled}
    plans: list[SectionPlan] = []
    next_slot = 0
    have_mic = False
    for i, m in enumerate(desc.media):
        plan = SectionPlan(index=i, mid=m.mid, kind=m.kind, accepted=False)
        plans.append(plan)
        opus = m.opus() if m.kind == "audio" else None
        if id(m) not in in_group or opus is None or "RTP" not in m.proto.upper():
            continue
        if m.mid is None and len(desc.media) > 1:
            continue
        plan.accepted = True
        plan.payload_type = opus.payload_type
        plan.fmtp = opus.fmtp
        red = m.red(opus)
        if red is not None:
            plan.red_payload_type = red.payload_type
            plan.red_fmtp = red.fmtp
        plan.audio_level_id = m.extmap.get(AUDIO_LEVEL_URI)
        plan.mid_id = m.extmap.get(MID_URI)
        plan.remote_ssrcs = list(m.ssrcs)
        plan.rtcp_rsize = m.rtcp_rsize
        client_sends = m.direction in ("sendrecv", "sendonly")
        client_receives = m.direction in ("sendrecv", "recvonly")
        we_send = client_receives and next_slot < max_slots
        we_receive = client_sends and accept_mic and not have_mic
        if we_send:
            plan.slot = next_slot
            next_slot += 1
        if we_receive:
            plan.mic = True
            have_mic = True
        plan.direction = ("sendrecv" if we_send and we_receive else "sendonly" if we_send
                          else "recvonly" if we_receive else "inactive")
    if not any(p.accepted for p in plans):
        raise SdpError("the offer has no usable Opus audio section in its BUNDLE group")
    bundle = [p.mid for p in plans if p.accepted and p.mid is not None]
    return OfferPlan(plans, transport, bundle)


def parse_answer(sdp: str) -> OfferPlan:
    """An answer to one of our offers (the relay): its transport and per-section choices."""
    desc = SessionDescription.parse(sdp)
    if not desc.media:
        raise SdpError("the answer has no media sections")
    bundled = _bundled(desc)
    transport = _transport(desc, bundled[0], bundled)
    plans = []
    for i, m in enumerate(desc.media):
        opus = m.opus() if m.kind == "audio" else None
        plan = SectionPlan(index=i, mid=m.mid, kind=m.kind,
                           accepted=m.port != 0 and opus is not None, direction=m.direction)
        if plan.accepted and opus is not None:
            plan.payload_type = opus.payload_type
            plan.fmtp = opus.fmtp
            plan.audio_level_id = m.extmap.get(AUDIO_LEVEL_URI)
            plan.mid_id = m.extmap.get(MID_URI)
            plan.remote_ssrcs = list(m.ssrcs)
            plan.rtcp_rsize = m.rtcp_rsize
        plans.append(plan)
    if not any(p.accepted for p in plans):
        raise SdpError("the answer accepted no Opus audio section")
    return OfferPlan(plans, transport, [p.mid for p in plans if p.accepted and p.mid])


def accepted_section(plan: OfferPlan) -> SectionPlan:
    """The first section of ``plan`` that we (or the peer's answer) accepted."""
    sec = next((s for s in plan.sections if s.accepted), None)
    if sec is None or sec.payload_type is None:  # plan_offer and parse_answer refuse these
        raise SdpError("no accepted Opus audio section")
    return sec


# writing -------------------------------------------------------------------------------------

@dataclass
class LocalTransport:
    ice_ufrag: str
    ice_pwd: str
    fingerprints: list[tuple[str, str]]
    candidates: list[Candidate]
    setup: str  # our a=setup: "active"/"passive" in answers, "actpass" in offers
    session_id: int = 1
    session_version: int = 1  # incremented by each renegotiation (RFC 3264 section 8)


DEFAULT_OPUS_FMTP = "minptime=10;useinbandfec=1"


def _session_header(local: LocalTransport, bundle: list[str]) -> list[str]:
    lines = ["v=0", f"o=- {local.session_id} {local.session_version} IN IP4 0.0.0.0", "s=-",
             "t=0 0"]
    if bundle:
        lines.append("a=group:BUNDLE " + " ".join(bundle))
    lines.append("a=msid-semantic: WMS *")
    return lines


def _transport_lines(local: LocalTransport) -> list[str]:
    lines = [f"a=ice-ufrag:{local.ice_ufrag}", f"a=ice-pwd:{local.ice_pwd}"]
    lines += [f"a=fingerprint:{alg} {value}" for alg, value in local.fingerprints]
    lines.append(f"a=setup:{local.setup}")
    return lines


def _candidate_lines(local: LocalTransport) -> list[str]:
    return [f"a=candidate:{c}" for c in local.candidates] + ["a=end-of-candidates"]


def _default_address(local: LocalTransport) -> tuple[int, str]:
    if local.candidates:
        c = local.candidates[0]
        return c.port, ("IN IP6 " if ":" in c.host else "IN IP4 ") + c.host
    return 9, "IN IP4 0.0.0.0"


def write_answer(offer_sdp: str, plan: OfferPlan, local: LocalTransport,
                 slot_ssrcs: dict[int, int], cname: str, stream_id: str) -> str:
    """Our answer to a participant's offer, following ``plan`` (from ``plan_offer``).
    ``slot_ssrcs`` maps slot index to the SSRC we send that slot with."""
    desc = SessionDescription.parse(offer_sdp)
    lines = _session_header(local, plan.bundle)
    port, addr = _default_address(local)
    for p, m in zip(plan.sections, desc.media, strict=False):
        if not p.accepted:
            lines.append(f"m={m.kind} 0 {m.proto} {' '.join(m.formats) or '0'}")
            lines.append("c=IN IP4 0.0.0.0")
            if m.mid is not None:
                lines.append(f"a=mid:{m.mid}")
            lines.append("a=inactive")
            continue
        # with RED, listed first: Chromium sends RED only when it is the preferred codec
        pts = f"{p.payload_type}" if p.red_payload_type is None else \
            f"{p.red_payload_type} {p.payload_type}"
        lines.append(f"m=audio {port} {m.proto} {pts}")
        lines.append(f"c={addr}")
        lines.append("a=rtcp:9 IN IP4 0.0.0.0")
        lines += _transport_lines(local)
        if p.mid is not None:
            lines.append(f"a=mid:{p.mid}")
        if p.audio_level_id:
            lines.append(f"a=extmap:{p.audio_level_id} {AUDIO_LEVEL_URI}")
        if p.mid_id:
            lines.append(f"a=extmap:{p.mid_id} {MID_URI}")
        lines.append(f"a={p.direction}")
        lines.append("a=rtcp-mux")
        if p.rtcp_rsize:
            lines.append("a=rtcp-rsize")
        lines.append(f"a=rtpmap:{p.payload_type} opus/48000/2")
        lines.append(f"a=fmtp:{p.payload_type} {p.fmtp or DEFAULT_OPUS_FMTP}")
        if p.red_payload_type is not None:
            lines.append(f"a=rtpmap:{p.red_payload_type} red/48000/2")
            lines.append(f"a=fmtp:{p.red_payload_type} "
                         f"{p.red_fmtp or f'{p.payload_type}/{p.payload_type}'}")
        if p.slot is not None and p.slot in slot_ssrcs:
            ssrc = slot_ssrcs[p.slot]
            track = f"slot{p.slot}"
            lines.append(f"a=msid:{stream_id} {track}")
            lines.append(f"a=ssrc:{ssrc} cname:{cname}")
            lines.append(f"a=ssrc:{ssrc} msid:{stream_id} {track}")
        lines += _candidate_lines(local)
    return "\r\n".join(lines) + "\r\n"


RELAY_PT = 111
RELAY_AUDIO_LEVEL_ID = 1
RELAY_MID_ID = 2


def write_relay_offer(local: LocalTransport, cname: str) -> str:
    """The cascade relay's offer: one sendrecv Opus section carrying many SSRCs both ways."""
    lines = _session_header(local, ["0"])
    port, addr = _default_address(local)
    lines += [f"m=audio {port} UDP/TLS/RTP/SAVPF {RELAY_PT}", f"c={addr}",
              "a=rtcp:9 IN IP4 0.0.0.0"]
    lines += _transport_lines(local)
    lines += ["a=mid:0", f"a=extmap:{RELAY_AUDIO_LEVEL_ID} {AUDIO_LEVEL_URI}",
              f"a=extmap:{RELAY_MID_ID} {MID_URI}", "a=sendrecv", "a=rtcp-mux",
              f"a=rtpmap:{RELAY_PT} opus/48000/2", f"a=fmtp:{RELAY_PT} {DEFAULT_OPUS_FMTP}",
              f"a=msid:{cname} relay"]
    lines += _candidate_lines(local)
    return "\r\n".join(lines) + "\r\n"


def dtls_role_for_answer(remote_setup: str) -> tuple[str, str]:
    """(our a=setup, our DTLS role) answering an offer with ``remote_setup``."""
    if remote_setup == "active":
        return "passive", "server"
    if remote_setup in ("actpass", "passive", "holdconn"):
        return "active", "client"
    raise SdpError(f"unknown a=setup value {remote_setup!r}")


def dtls_role_for_offer(remote_setup: str) -> str:
    """Our DTLS role after offering actpass and receiving an answer with ``remote_setup``."""
    if remote_setup == "active":
        return "server"
    if remote_setup == "passive":
        return "client"
    raise SdpError(f"the answer must choose a=setup:active or passive, not {remote_setup!r}")
