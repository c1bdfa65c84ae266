#!/usr/bin/env python3
"""A plugctl source plugin written from docs/PROTOCOL.md alone, to show the
protocol can be spoken without the Go SDK. acceptance/python_test.go runs
the acceptance checks against it: python3 pytick.py speaks the protocol on
stdin and stdout, or on the Unix socket named by PLUGCTL_SOCKET."""
import os, sys, socket, struct, threading, time, signal, json, re

# ---- stream (§1.5) ----
sock_path = os.environ.get("PLUGCTL_SOCKET", "")
if sock_path:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock_path)
    except OSError as e:
        print("cannot connect:", e, file=sys.stderr)
        sys.exit(3)
    rfile = s.makefile("rb", buffering=0)
    wfile = s.makefile("wb", buffering=0)
else:
    rfile = os.fdopen(os.dup(0), "rb", buffering=0)
    wfile = os.fdopen(os.dup(1), "wb", buffering=0)
    os.set_inheritable(rfile.fileno(), False)
    os.set_inheritable(wfile.fileno(), False)
    null = os.open(os.devnull, os.O_RDONLY); os.dup2(null, 0); os.close(null)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

def log(*a):
    print("pytick:", *a, file=sys.stderr, flush=True)

# ---- primitives (§2) ----
def u8(v): return struct.pack("<B", v)
def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def i64(v): return struct.pack("<q", v)
def f64(v): return struct.pack("<d", v)
def boolean(v): return b"\x01" if v else b"\x00"
def string(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return u32(len(b)) + b
def strs(l): return u32(len(l)) + b"".join(string(x) for x in l)
def settings(m):
    out = u32(len(m))
    for k in sorted(m, key=lambda k: k.encode()):
        out += string(k) + string(m[k])
    return out

class Malformed(Exception): pass

class Dec:
    def __init__(self, b): self.b, self.o = b, 0
    def take(self, n):
        if n < 0 or len(self.b) - self.o < n:
            raise Malformed("truncated at byte %d (need %d, %d left)" % (self.o, n, len(self.b) - self.o))
        v = self.b[self.o:self.o + n]; self.o += n; return v
    def u8(self): return self.take(1)[0]
    def u16(self): return struct.unpack("<H", self.take(2))[0]
    def u32(self): return struct.unpack("<I", self.take(4))[0]
    def u64(self): return struct.unpack("<Q", self.take(8))[0]
    def i64(self): return struct.unpack("<q", self.take(8))[0]
    def bool(self):
        v = self.u8()
        if v > 1: raise Malformed("bool is %d" % v)
        return v == 1
    def str(self): return self.take(self.u32()).decode("utf-8", "replace")
    def count(self, minsize):
        n = self.u32()
        if n > (len(self.b) - self.o) // minsize: raise Malformed("count %d too big" % n)
        return n
    def settings(self):
        n = self.count(8); m = {}
        for _ in range(n):
            k = self.str(); m[k] = self.str()
        return m
    def end(self):
        if self.o != len(self.b): raise Malformed("%d trailing bytes" % (len(self.b) - self.o))

# ---- constants ----
HELLO, HELLO_ACK, REJECT, GOODBYE, ERROR, HEARTBEAT = 1, 2, 3, 4, 5, 6
SPEC_REQUEST, SPEC, SETUP, OPEN, STOP, CLOSE, REPLY = 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16
EVENTS, ACK, PROGRESS, WRITE, RESULT, END = 0x20, 0x21, 0x22, 0x23, 0x24, 0x25
KNOWN = {1, 2, 3, 4, 5, 6, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25}
E_MALFORMED, E_TOO_LARGE, E_UNEXPECTED, E_UNKNOWN_INSTANCE = 1, 2, 3, 4
E_WINDOW, E_HEARTBEAT = 5, 6
OK, INVALID, FAILED, UNSUPPORTED = 0, 1, 2, 3
REJECT_NAMES = {1: "unsupported_version", 2: "missing_id", 3: "not_enrolled", 4: "revoked",
                5: "hash_mismatch", 6: "identity_mismatch", 7: "wrong_role", 8: "bad_hello", 9: "policy"}

# ---- the plugin's own description ----
NAME, VERSION = "pytick", "0.1.0"
KINDS = ["tick"]
GLOBAL = [("region", "string", "eu", "where", False, [(5, "", ["xx"])])]
PARAMS = [
    ("interval", "duration", "50ms", "tick interval", False, [(2, "0s", []), (3, "2s", [])]),
    ("label", "string", "", "a label", False, [(1, "", []), (4, "", ["a", "b"])]),
    ("limit", "int", "0", "stop after this many ticks (0: never)", False, [(3, "1000000", [])]),
]

# ---- framing (§3) ----
wlock = threading.Lock()
max_frame = 65536
recv_count = 0
exiting = threading.Event()

def send(t, inst, body):
    if len(body) > max_frame:
        raise RuntimeError("body too large")
    with wlock:
        wfile.write(u32(len(body)) + bytes([t, 0]) + u16(inst) + body)

def send_quiet(t, inst, body):
    try: send(t, inst, body)
    except Exception: pass

def read_exact(n, first):
    buf = b""
    while len(buf) < n:
        chunk = rfile.read(n - len(buf))
        if not chunk:
            if first and not buf: return None
            raise EOFError("stream ended inside a frame")
        buf += chunk
    return buf

class TooLarge(Exception): pass

def recv():
    hdr = read_exact(8, True)
    if hdr is None: return None
    size, t, flags, inst = struct.unpack("<IBBH", hdr)
    if size > max_frame: raise TooLarge("frame announces %d bytes, limit %d" % (size, max_frame))
    if flags != 0: raise Malformed("flags 0x%02x" % flags)
    if t not in KNOWN: raise Malformed("unknown message type 0x%02x" % t)
    body = read_exact(size, False) if size else b""
    return t, inst, body

def die(code, errcode=None, msg=""):
    if errcode is not None:
        log("error:", msg)
        send_quiet(ERROR, 0, u16(errcode) + string(msg))
    else:
        log(msg)
    try: wfile.close()
    except Exception: pass
    os._exit(code)

# ---- config (§4.7) ----
UNITS = {"ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
def parse_duration(s):
    if s == "0": return 0
    m = re.fullmatch(r"([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+", s)
    if not m: raise ValueError(s)
    total = 0
    for num, unit in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", s):
        total += float(num) * UNITS[unit]
    return -total if s.startswith("-") else total

def parse(typ, s):
    if typ == "string": return s
    if typ == "int":
        if not re.fullmatch(r"[+-]?\d+", s): raise ValueError(s)
        return int(s)
    if typ == "float":
        v = float(s)
        if v != v or v in (float("inf"), float("-inf")): raise ValueError(s)
        return v
    if typ == "bool":
        if s in ("1", "t", "T", "TRUE", "true", "True"): return True
        if s in ("0", "f", "F", "FALSE", "false", "False"): return False
        raise ValueError(s)
    if typ == "duration": return parse_duration(s)
    if typ == "strings": return [x.strip() for x in s.split(",") if x.strip()]

def validate(params, given):
    problems, cfg = [], {}
    names = {p[0] for p in params}
    for name, typ, default, _d, secret, rules in params:
        s = given.get(name, "") or default
        if s == "":
            if any(r[0] == 1 for r in rules): problems.append((name, "is required"))
            continue
        try:
            v = parse(typ, s)
        except ValueError:
            problems.append((name, "not a valid %s" % typ)); continue
        items = v if typ == "strings" else [v]
        for it in items:
            text = it if typ == "strings" else s
            for rt, rv, rvs in rules:
                bad = None
                if rt == 2 and not it > parse(typ if typ != "strings" else "string", rv): bad = "must be greater than " + rv
                if rt == 3 and not it < parse(typ if typ != "strings" else "string", rv): bad = "must be less than " + rv
                if rt == 4 and it not in [parse(typ if typ != "strings" else "string", x) for x in rvs]: bad = "must be one of " + ", ".join(rvs)
                if rt == 5 and it in [parse(typ if typ != "strings" else "string", x) for x in rvs]: bad = "must not be one of the excluded values"
                if rt == 6 and not re.search(rv, text): bad = "must match " + rv
                if bad:
                    problems.append((name, bad if secret else "%s (got %r)" % (bad, s)))
        cfg[name] = v
    for k in sorted(given):
        if k not in names: problems.append((k, "unknown parameter"))
    return cfg, problems

def reply(inst, rid, status, message="", problems=(), pos=None):
    body = u32(rid) + u8(status) + boolean(pos is not None) + u64(pos or 0) + string(message)
    body += u32(len(problems)) + b"".join(string(p) + string(m) for p, m in problems)
    send(REPLY, inst, body)

def encode_params(ps):
    out = u32(len(ps))
    for name, typ, default, desc, secret, rules in ps:
        out += string(name) + string(typ) + string(default) + string(desc) + boolean(secret)
        out += u32(len(rules))
        for rt, rv, rvs in rules:
            out += u8(rt) + string(rv) + strs(rvs)
    return out

def spec_body(rid):
    b = u32(rid) + string(NAME) + string("ticks, from Python") + string("") + string(VERSION) + string("test") + u8(1)
    b += encode_params(GLOBAL) + encode_params(PARAMS)
    b += u32(1) + string("tick") + string("a tick") + u32(1) + string("n") + string("int")
    return b

# ---- instances (§6.3 - §6.5) ----
window = 1
class Instance:
    def __init__(self, iid, cfg, resume):
        self.id, self.cfg = iid, cfg
        self.next = resume + 1
        self.resume = resume
        self.sent_last = resume
        self.any_sent = False
        self.acked = resume
        self.inflight = []          # last position of each unacked batch
        self.cv = threading.Condition()
        self.stopping = False
        self.ended = False
        self.drained = threading.Event()
        self.count = 0

    def ack(self, pos):
        with self.cv:
            if pos > self.sent_last:
                return False
            if pos > self.acked:
                self.acked = pos
                self.inflight = [p for p in self.inflight if p > pos]
                self.cv.notify_all()
        return True

    def run(self):
        interval = self.cfg["interval"] / 1e9
        limit = self.cfg.get("limit", 0)
        try:
            while True:
                with self.cv:
                    while len(self.inflight) >= window and not exiting.is_set():
                        self.cv.wait(0.1)
                    if self.stopping or exiting.is_set():
                        break
                # collect events ready now: one per tick, batches of up to 3
                evs = []
                for _ in range(3):
                    if limit and self.count >= limit: break
                    pos = self.next; self.next += 1; self.count += 1
                    payload = json.dumps({"n": pos}, separators=(",", ":")).encode()
                    evs.append(u64(pos) + i64(time.time_ns()) + u16(0) + u16(0) + u32(len(payload)) + payload)
                if evs:
                    last = self.next - 1
                    with self.cv:
                        self.inflight.append(last)
                        self.sent_last, self.any_sent = last, True
                    send(EVENTS, self.id, u32(len(evs)) + b"".join(evs))
                if limit and self.count >= limit:
                    with self.cv:
                        self.ended = True
                    send(END, self.id, boolean(self.any_sent) + u64(self.sent_last if self.any_sent else 0))
                    break
                # wait one interval, or until stopped
                with self.cv:
                    self.cv.wait_for(lambda: self.stopping, timeout=interval)
        except Exception as e:
            log("instance", self.id, "failed:", e)
        finally:
            self.drained.set()

    def stop(self):
        with self.cv:
            self.stopping = True
            self.cv.notify_all()
        self.drained.wait(2)

instances = {}
ilock = threading.Lock()
configured = False
any_open = False

def position_of(inst):
    return inst.sent_last if inst.any_sent else None

def handle_open(iid, rid, cfg_in, has_resume, resume):
    global any_open
    any_open = True
    with ilock:
        if iid == 0 or iid in instances:
            reply(iid, rid, UNSUPPORTED, "instance %d is 0 or in use" % iid); return
    cfg, problems = validate(PARAMS, cfg_in)
    if problems:
        reply(iid, rid, INVALID, "invalid configuration", problems); return
    inst = Instance(iid, cfg, resume if has_resume else 0)
    with ilock:
        instances[iid] = inst
    reply(iid, rid, OK)
    threading.Thread(target=inst.run, daemon=True).start()

def handle_stop(iid, rid, close):
    with ilock:
        inst = instances.get(iid)
    if inst is None:
        reply(iid, rid, UNSUPPORTED, "instance %d is not open" % iid); return
    def job():
        inst.stop()
        if close:
            with ilock: instances.pop(iid, None)
            reply(iid, rid, OK)
        else:
            reply(iid, rid, OK, pos=position_of(inst))
    threading.Thread(target=job, daemon=True).start()

def shutdown(reason, code):
    exiting.set()
    with ilock: insts = list(instances.values())
    for inst in insts:
        with inst.cv:
            inst.stopping = True; inst.cv.notify_all()
    for inst in insts:
        inst.drained.wait(2)
    send_quiet(GOODBYE, 0, u16(reason) + string(""))
    try: wfile.close()
    except Exception: pass
    os._exit(code)

# ---- main ----
def main():
    global max_frame, window, recv_count, configured
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    handshake_done = threading.Event()
    def on_signal(signum, frame):
        if not handshake_done.is_set(): os._exit(0)
        threading.Thread(target=shutdown, args=(1, 0), daemon=True).start()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    hello = b"PLUG" + u32(1) + u16(1) + string(os.environ.get("PLUGCTL_PLUGIN_ID", ""))
    hello += string(NAME) + string(VERSION) + u8(1) + strs(KINDS)
    send(HELLO, 0, hello)

    timer = threading.Timer(10, lambda: die(3, msg="no answer to HELLO"))
    timer.daemon = True; timer.start()
    try:
        f = recv()
    except (Malformed, TooLarge) as e:
        die(4, E_TOO_LARGE if isinstance(e, TooLarge) else E_MALFORMED, str(e))
    except EOFError as e:
        die(3, msg=str(e))
    timer.cancel()
    if f is None: die(3, msg="host closed the stream")
    t, inst, body = f
    if t in (REJECT, ERROR):
        try:
            d = Dec(body); code = d.u16(); m = d.str(); d.end()
        except Malformed as e:
            die(4, E_MALFORMED, "type 0x%02x: %s" % (t, e))
        if t == REJECT:
            die(2, msg="rejected: %s: %s" % (REJECT_NAMES.get(code, "reject_%d" % code), m))
        die(3, msg="host error %d: %s" % (code, m))
    if t != HELLO_ACK:
        die(4, E_UNEXPECTED, "frame type 0x%02x before HELLO_ACK" % t)
    try:
        d = Dec(body); ver = d.u16(); mf = d.u32(); hb = d.u32(); win = d.u32(); d.end()
    except Malformed as e:
        die(4, E_MALFORMED, "HELLO_ACK: %s" % e)
    if not (65536 <= mf <= 67108864) or hb == 0 or win == 0:
        die(4, E_MALFORMED, "HELLO_ACK out of range")
    if ver != 1:
        die(4, E_UNEXPECTED, "HELLO_ACK chose version %d" % ver)
    max_frame, window = mf, win
    handshake_done.set()

    def heartbeat():
        seen, silent = -1, 0
        while not exiting.is_set():
            time.sleep(hb / 1000)
            send_quiet(HEARTBEAT, 0, i64(time.time_ns()))
            if recv_count != seen: seen, silent = recv_count, 0
            else:
                silent += 1
                if silent >= 3: die(3, E_HEARTBEAT, "host silent for 3 intervals")
    threading.Thread(target=heartbeat, daemon=True).start()

    while True:
        try:
            f = recv()
        except TooLarge as e: die(4, E_TOO_LARGE, str(e))
        except Malformed as e: die(4, E_MALFORMED, str(e))
        except (EOFError, OSError) as e: die(3, msg="host connection lost: %s" % e)
        if f is None:
            if exiting.is_set(): time.sleep(5)
            die(3, msg="host connection lost (EOF)")
        recv_count += 1
        t, iid, body = f
        try:
            d = Dec(body)
            if t == HEARTBEAT:
                d.i64(); d.end()
            elif t == ERROR:
                c = d.u16(); m = d.str(); die(3, msg="host error %d: %s" % (c, m))
            elif t == GOODBYE:
                d.u16(); d.str(); d.end()
                threading.Thread(target=shutdown, args=(2, 0), daemon=True).start()
            elif t == SPEC_REQUEST:
                rid = d.u32(); d.end(); send(SPEC, iid, spec_body(rid))
            elif t == SETUP:
                rid = d.u32(); m = d.settings(); d.end()
                if configured or any_open:
                    reply(iid, rid, UNSUPPORTED, "SETUP already done or after OPEN")
                else:
                    _, problems = validate(GLOBAL, m)
                    if problems: reply(iid, rid, INVALID, "invalid configuration", problems)
                    else:
                        configured = True; reply(iid, rid, OK)
            elif t == OPEN:
                rid = d.u32(); m = d.settings(); hr = d.bool(); r = d.u64(); d.end()
                handle_open(iid, rid, m, hr, r)
            elif t in (STOP, CLOSE):
                rid = d.u32(); d.end(); handle_stop(iid, rid, t == CLOSE)
            elif t == ACK:
                pos = d.u64(); d.end()
                with ilock: inst = instances.get(iid)
                if inst is None: die(4, E_UNKNOWN_INSTANCE, "ACK for instance %d, not open" % iid)
                if not inst.ack(pos): die(4, E_UNEXPECTED, "ACK %d beyond last sent" % pos)
            else:
                die(4, E_UNEXPECTED, "frame type 0x%02x from the host" % t)
        except Malformed as e:
            die(4, E_MALFORMED, "type 0x%02x: %s" % (t, e))

main()
