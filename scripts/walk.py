#!/usr/bin/env python3
"""The journeys of the hotline's users, walked against a running release build.

Starts `target/release/hotline serve` on a free port (its own SQLite file, its own Redis key
prefix, JSON logs), with a stand-in for Twilio's REST API and recordings on another port, and
plays, through real HTTP in Twilio's exact wire format (signed form webhooks, TwiML followed
verb by verb):

1. a blind caller by keys: consult, a matter, a spoken description, the ticket read back;
2. a blind caller by voice (when the Whisper model is there): the main menu answered aloud;
3. a deaf texter through the whole legal-aid application by SMS;
4. a duty lawyer's shift through the JSON API: a phone case called back (both legs answered
   and completed), closed; an SMS case taken, replied to, closed; then another case — the
   lawyer must never be blocked;
5. a supervisor: the queue, the cases, the roster, the console pages; an admin signing in with
   a second factor, searching the audit trail of a case, signing the supervisor out everywhere;
6. every log line is JSON; /metrics is complete;
7. then the same binary on jambonz (`HOTLINE_PROVIDER=jambonz`), in jambonz's wire format
   (signed JSON webhooks, verb documents, the caller's speech streamed over the listen
   websocket): a blind caller by keys and by voice, and a lawyer's callback through jambonz's
   REST API into a conference, screened for an answering machine.

Exits non-zero on any 4xx/5xx where a 2xx was expected, any empty reply, any blocked lawyer.
Standard library only. Usage: scripts/walk (builds the release binary first).
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "hotline")
ACCOUNT_SID = "AC" + "0" * 31 + "1"
TOKEN = uuid.uuid4().hex
HOTLINE = "+862912348"
PASSWORD = "a long walk-through passphrase"
JAMBONZ_ACCOUNT = str(uuid.uuid4())
JAMBONZ_KEY = str(uuid.uuid4())
JAMBONZ_SECRET = uuid.uuid4().hex
MODEL = os.environ.get("HOTLINE_WHISPER_MODEL", os.path.join(ROOT, "data/models/ggml-base-q8_0.bin"))

failures = []
steps = 0
# The admin's second-factor secret (base32), as `hotline user totp` printed it.
ADMIN_TOTP = [None]


def check(ok, what):
    global steps
    steps += 1
    print(("  ok   " if ok else "  FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the provider's side -------------------------------------------------------------------
class Provider(http.server.BaseHTTPRequestHandler):
    """Twilio's REST API as far as the service uses it: calls, messages, recordings."""

    received = []
    recordings = {}

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        if self.path.startswith("/v1/"):
            return self.jambonz(self.rfile.read(length), 201)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        prefix = "CA" if "/Calls" in self.path else "SM"
        sid = prefix + uuid.uuid4().hex
        # The sid it answers with is kept beside the request (as "_sid"): its reports name it.
        Provider.received.append((self.path, dict({k: v[-1] for k, v in form.items()}, _sid=sid)))
        body = json.dumps({"sid": sid, "status": "queued"}).encode()
        self.send_response(201 if self.path.endswith("Calls.json") or self.path.endswith("Messages.json") else 200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        self.jambonz(self.rfile.read(int(self.headers.get("content-length", 0))), 202)

    def jambonz(self, raw, status):
        """jambonz's REST API: calls created (201 with a sid) and updated (202), Bearer auth."""
        if self.headers.get("authorization") != "Bearer " + JAMBONZ_KEY:
            self.send_response(401)
            self.end_headers()
            return
        sid = str(uuid.uuid4())
        Provider.received.append((self.path, dict(json.loads(raw or b"{}"), _sid=sid)))
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.end_headers()
        if status == 201:
            self.wfile.write(json.dumps({"sid": sid}).encode())

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        wav = Provider.recordings.get(name)
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{TOKEN}".encode()).decode()
        if wav is None or self.headers.get("authorization") != expected:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("content-type", "audio/x-wav")
        self.end_headers()
        self.wfile.write(wav)


def start_provider():
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}"


def caller_dials():
    """The calls placed to callers so far (answering-machine detection on), oldest first."""
    return [f for p, f in list(Provider.received) if p.endswith("Calls.json") and f.get("MachineDetection")]


def add_recording(provider, path):
    name = "RE" + uuid.uuid4().hex
    with open(path, "rb") as f:
        Provider.recordings[name] = f.read()
    return f"{provider}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{name}"


# --- webhooks --------------------------------------------------------------------------------
def sign(url, params):
    data = url + "".join(k + v for k, v in sorted(params))
    return base64.b64encode(hmac.new(TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()


def webhook(base, path, params):
    url = base + path
    body = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("content-type", "application/x-www-form-urlencoded")
    request.add_header("x-twilio-signature", sign(url, params))
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def call_params(call_sid, caller, extra=()):
    p = [
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", "in-progress"),
        ("Direction", "inbound"),
        ("From", caller),
        ("To", HOTLINE),
        ("Caller", caller),
    ]
    return p + list(extra)


def call(base, caller, script, name):
    """Follows the TwiML of one call. Script items: ("keys", "1"), ("speak", url) at a Record
    ending with #, ("answer", url) a spoken menu answer. Returns everything said."""
    sid = "CA" + uuid.uuid4().hex
    path, extra, said = "/twilio/voice", [], []
    script = list(script)
    while path:
        status, twiml = webhook(base, path, call_params(sid, caller, extra))
        if not check(status == 200 and twiml.startswith("<?xml"), f"{name}: {path.split('?')[0]} answered 200 with TwiML"):
            print("       " + twiml[:300])
            return " | ".join(said)
        root = ET.fromstring(twiml)
        path, extra = None, []
        for verb in root:
            if verb.tag in ("Say", "Play"):
                said.append("".join(verb.itertext()))
            elif verb.tag == "Gather":
                said.extend("".join(child.itertext()) for child in verb)
                nxt = script[0] if script else None
                falls_through = verb.get("actionOnEmptyResult") != "true"
                if nxt and nxt[0] in ("speak", "answer") and falls_through:
                    continue
                if not script:
                    # The caller stays silent: Twilio goes on to the next verb (a closing's hang-up).
                    if falls_through:
                        continue
                    break
                kind, value = script.pop(0)
                path, extra = verb.get("action")[len(base):], [("Digits", value)]
                break
            elif verb.tag == "Record":
                if not script:
                    break
                kind, value = script.pop(0)
                extra = [("RecordingUrl", value), ("RecordingSid", "RE" + uuid.uuid4().hex)]
                if kind == "speak":
                    extra += [("RecordingDuration", "6"), ("Digits", "#")]
                else:
                    extra += [("RecordingDuration", "2")]
                path = verb.get("action")[len(base):]
                break
            elif verb.tag in ("Hangup", "Dial"):
                said.append("<" + verb.tag + ">")
                break
    webhook(base, "/twilio/voice/status", call_params(sid, caller, [("CallStatus", "completed"), ("CallDuration", "60")]))
    return " | ".join(said)


def text(base, sender, body, name):
    sid = "SM" + uuid.uuid4().hex
    params = [
        ("AccountSid", ACCOUNT_SID),
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("From", sender),
        ("To", HOTLINE),
        ("Body", body),
        ("NumSegments", "1"),
    ]
    status, twiml = webhook(base, "/twilio/sms", params)
    replies = [m.text or "" for m in ET.fromstring(twiml).iter("Message")] if status == 200 else []
    joined = "".join(replies)
    check(status == 200 and joined != "", f"{name}: 「{body[:12]}」 answered ({len(replies)} SMS)")
    return joined


# --- the JSON API -------------------------------------------------------------------------------
def api(base, method, path, token=None, body=None, expect=(200, 201, 204)):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + "/api/v1" + path, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            status, raw = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read().decode()
    check(status in expect, f"{method} {path} → {status}")
    try:
        return status, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, raw


def totp(secret, at=None):
    """The current RFC 6238 code for a base32 secret, as an authenticator app computes it."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    step = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def ticket_of(said):
    digits = "零一二三四五六七八九"
    at = said.rfind("受理编号是：")
    if at < 0:
        return None
    run = re.match(r"[零一二三四五六七八九、]+", said[at + len("受理编号是："):])
    return "".join(str(digits.index(c)) for c in run.group(0) if c in digits) if run else None


def main():
    if not os.path.exists(BINARY):
        sys.exit(f"no release build at {BINARY}: cargo build --release")
    provider = start_provider()
    speech = os.path.isfile(MODEL)
    print("=== on Twilio")
    serve(provider, speech, {}, lambda base: walk(base, provider, speech))
    print("=== on jambonz")
    jambonz = {
        "HOTLINE_PROVIDER": "jambonz",
        "HOTLINE_JAMBONZ_API_BASE": provider,
        "HOTLINE_JAMBONZ_ACCOUNT_SID": JAMBONZ_ACCOUNT,
        "HOTLINE_JAMBONZ_API_KEY": JAMBONZ_KEY,
        "HOTLINE_JAMBONZ_WEBHOOK_SECRET": JAMBONZ_SECRET,
    }
    serve(provider, speech, jambonz, lambda base: walk_jambonz(base, speech))
    print(f"\n{steps - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


def serve(provider, speech, extra_env, journeys):
    """Runs the release binary with its own data and Redis prefix while `journeys(base)` walks
    it, then checks its log."""
    work = tempfile.mkdtemp(prefix="hotline-walk-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        HOTLINE_BIND=f"127.0.0.1:{port}",
        HOTLINE_PUBLIC_URL=base,
        HOTLINE_DATA_DIR=work,
        HOTLINE_DATABASE_URL=f"sqlite://{work}/hotline.db?mode=rwc",
        HOTLINE_REDIS_PREFIX="hotline-walk-" + uuid.uuid4().hex[:8],
        HOTLINE_HOTLINE_NUMBER=HOTLINE,
        HOTLINE_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        HOTLINE_TWILIO_AUTH_TOKEN=TOKEN,
        HOTLINE_TWILIO_API_BASE=provider,
        HOTLINE_WHISPER_RECORDING_HOSTS="127.0.0.1",
        HOTLINE_WHISPER_MODEL=MODEL if speech else "",
        HOTLINE_SPEECH_ENGINE="none",
        HOTLINE_LOG_FORMAT="json",
        HOTLINE_USER_PASSWORD=PASSWORD,
        **extra_env,
    )
    cli = dict(env, HOTLINE_WHISPER_MODEL="")
    run = lambda *args: subprocess.run([BINARY, *args], env=cli, check=True, capture_output=True, text=True).stdout
    run("migrate")
    roster = os.path.join(work, "roster.csv")
    with open(roster, "w") as f:
        f.write("name,phone,skills,regions,max_cases,shifts,exceptions\n")
        f.write("张明,+8613800000001,labour_wages;work_injury;family_maintenance,610100,3,mon-sun 00:00-24:00,\n")
    run("roster", "import", roster)
    lawyer = json.loads(run("roster", "list").splitlines()[0])["id"]
    run("user", "add", "zhang", "--name", "张明", "--role", "lawyer", "--lawyer", lawyer)
    run("user", "add", "sup", "--name", "王主任", "--role", "supervisor", "--region", "610100")
    run("user", "add", "admin", "--name", "李管理", "--role", "admin")
    ADMIN_TOTP[0] = json.loads(run("user", "totp", "admin"))["secret"]
    log_path = os.path.join(work, "server.log")
    log = open(log_path, "w")
    server = subprocess.Popen([BINARY, "serve"], env=env, stdout=log, stderr=log)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        journeys(base)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            check(False, "the server stopped within 15 s of SIGTERM")
        log.close()
    print("== the log")
    lines = [l for l in open(log_path).read().splitlines() if l.strip()]
    bad = [l for l in lines if not is_json_object(l)]
    check(not bad, f"every one of {len(lines)} log lines is a JSON object" + (f" (not: {bad[0][:120]})" if bad else ""))
    leaked = [l for l in lines if re.search(r"(?<![\d.])1[3-9]\d{9}(?!\d)", l)]
    check(not leaked, "no phone number in the log" + (f" (found: {leaked[0][:120]})" if leaked else ""))


def is_json_object(line):
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def walk(base, provider, speech):
    describe = add_recording(provider, os.path.join(ROOT, "tests/data/call-speech/description-0-normal.wav"))
    print("== a blind caller, by keys")
    said = call(base, "+8613800138101", [("keys", "1"), ("keys", "1"), ("speak", describe)], "keys")
    phone_ticket = ticket_of(said)
    check(phone_ticket is not None and "故障" not in said, f"keys: a callback registered, ticket {phone_ticket} read back")
    check(said.count("找人工请按0") == 1 and "请按0" not in said.split(" | ")[1], "keys: the keys' rules said once, not in the menu")
    check(said.endswith("<Hangup>") and "重听请按星号键" in said, "keys: the closing offers * and then hangs up")
    said = call(base, "+8613800138101", [("keys", "1"), ("speak", describe), ("keys", "*")], "keys, a second call")
    check(said.startswith("您好，欢迎再次来电") and "找人工请按0" not in said, "keys: a caller who has called before gets the short greeting")
    check(said.count("再说一遍，受理编号是：") == 2 and said.endswith("<Hangup>"), "keys: * at the closing says it all again, then hangs up")
    said = call(base, "+8613800138102", [("keys", "1"), ("keys", "2"), ("keys", "0")], "keys, 0 while describing")
    check(ticket_of(said) is not None and "故障" not in said, "keys: 0 pressed while describing is a normal turn")
    said = call(base, "anonymous", [("keys", "0"), ("keys", "0")], "withheld")
    check(said.count("来电号码没有显示") == 1 and said.endswith("<Hangup>"), "withheld number: told how to reach us, ended politely, no loop")

    print("== a blind caller, by voice")
    if speech:
        consult = add_recording(provider, os.path.join(ROOT, "tests/data/call-speech/consult-0-normal.wav"))
        said = call(base, "+8613800138103", [("answer", consult)], "voice")
        if not check("劳动和工资" in said or "您是要" in said, "voice: 我要法律咨询 heard (the matter list, or a confirmation)"):
            print("       heard: " + said[-300:])
    else:
        print("  skip (no Whisper model)")

    print("== a deaf texter: the whole application by SMS")
    me = "+8613700137101"
    first = text(base, me, "你好，我想申请法律援助", "sms")
    sms_ticket = (re.search(r"受理编号(\d{8})", first) or [None, None])[1]
    sent_at = {}
    for body in ["2", "1", "110105194912310 02x11", "1", "1", "1", "1", "1", "2", "2", "1", "2"]:
        # A person reads each question first; the same text within 3 s is taken for a resend.
        wait = sent_at.get(body, 0) + 3.2 - time.time()
        if wait > 0:
            time.sleep(wait)
        text(base, me, body, "sms")
        sent_at[body] = time.time()
    done = text(base, me, "老板拖欠我三个月工资，下周就要仲裁开庭", "sms")
    check("预审" in done and "受理编号" in done, "sms: the application is pre-assessed and registered")
    help_reply = text(base, me, "帮助", "sms")
    check("法律咨询" in help_reply, "sms: 帮助 is answered with the menu")

    print("== a duty lawyer's shift")
    _, tok = api(base, "POST", "/tokens", body={"username": "zhang", "password": PASSWORD})
    lawyer = tok["token"]
    api(base, "PUT", "/duty", lawyer, {"on_duty": True})
    handled = []
    for round_ in range(3):
        status, offer = api(base, "POST", "/queue/claim", lawyer)
        if not check(status == 200 and offer and offer.get("state") == "offered", f"round {round_ + 1}: the lawyer is offered a case, not blocked ({offer})"):
            break
        a, ticket = offer["assignment"], offer["ticket"]
        handled.append(ticket)
        dialled_before = len(caller_dials())
        _, taken = api(base, "POST", f"/offers/{a}/accept", lawyer)
        _, case = api(base, "GET", f"/consultations/{ticket}", lawyer)
        if case["channel"] == "voice":
            leg = [("AccountSid", ACCOUNT_SID), ("CallSid", "CA" + uuid.uuid4().hex), ("CallStatus", "in-progress")]
            s, twiml = webhook(base, f"/twilio/callback/lawyer?a={a}", leg)
            check(s == 200 and "律师回电" in twiml, "the lawyer hears the case whispered")
            caller_call = None
            # This round's dial, not an earlier round's: the caller's phone rings only after
            # the lawyer's leg has answered, and answering before that would join nobody.
            for _ in range(50):
                calls = caller_dials()
                if len(calls) > dialled_before:
                    caller_call = calls[-1]
                    break
                time.sleep(0.1)
            check(caller_call is not None, "the caller's phone rings (answering-machine detection on)")
            sid = caller_call["_sid"] if caller_call else "CA" + uuid.uuid4().hex
            time.sleep(0.3)
            s, twiml = webhook(base, f"/twilio/callback/caller?a={a}", [("AccountSid", ACCOUNT_SID), ("CallSid", sid), ("CallStatus", "in-progress"), ("AnsweredBy", "human")])
            check(s == 200 and "Conference" in twiml, "the caller joins the lawyer")
            webhook(base, f"/twilio/callback/caller/status?a={a}", [("AccountSid", ACCOUNT_SID), ("CallSid", sid), ("CallStatus", "completed"), ("CallDuration", "240")])
        else:
            check(taken["state"] == "connected", "an SMS case is the lawyer's thread at once")
            api(base, "POST", f"/consultations/{ticket}/messages", lawyer, {"text": "您好，我是值班律师张明。您的工资问题，请先准备劳动合同和工资条。"})
        api(base, "POST", f"/consultations/{ticket}/notes", lawyer, {"text": "已回电，已解答"})
        api(base, "POST", f"/consultations/{ticket}/close", lawyer, {"service_form": "legal_consultation", "outcome": "已解答并告知仲裁程序"})
        _, offers = api(base, "GET", "/offers", lawyer)
        check(offers == [], "after closing, the lawyer holds nothing")
    check(phone_ticket in handled and sms_ticket in handled, f"the lawyer handled the phone case and the SMS case ({handled})")
    closing = []
    for _ in range(30):  # the closing texts go out in the background
        closing = [f for p, f in Provider.received if "已办结" in f.get("Body", "")]
        if len(closing) >= len(handled):
            break
        time.sleep(0.1)
    check(len(closing) == len(handled), f"each closing is texted to the person ({len(closing)} of {len(handled)})")

    print("== a caller who cannot choose (three silent turns): a callback with no place")
    said = call(base, "+8613800138104", [("keys", ""), ("keys", ""), ("keys", "")], "silent")
    check(ticket_of(said) is not None, "silent: a callback is registered, never a hang-up without one")

    print("== a supervisor")
    _, tok = api(base, "POST", "/tokens", body={"username": "sup", "password": PASSWORD})
    sup = tok["token"]
    _, queue = api(base, "GET", "/queue", sup)
    check(isinstance(queue, list) and len(queue) >= 1, f"the default prefecture's supervisor sees the caller of no known place ({len(queue or [])})")
    _, cases = api(base, "GET", "/consultations", sup)
    check(isinstance(cases, list) and len(cases) >= 4, f"the supervisor sees the prefecture's cases ({len(cases or [])})")
    api(base, "GET", "/roster", sup)

    print("== an admin with a second factor")
    api(base, "POST", "/tokens", body={"username": "admin", "password": PASSWORD}, expect=(401,))
    _, tok = api(base, "POST", "/tokens", body={"username": "admin", "password": PASSWORD, "code": totp(ADMIN_TOTP[0])})
    admin = tok["token"]
    _, trail = api(base, "GET", f"/audit?ticket={handled[0]}", admin)
    reads = [e for e in trail or [] if e["action"] == "case.read" and e["who"] == "zhang"]
    check(len(reads) >= 1, f"the audit trail of case {handled[0]} shows the lawyer's reads ({len(reads)})")
    _, accounts = api(base, "GET", "/accounts", admin)
    check(any(a["username"] == "sup" and a["tokens"] >= 1 for a in accounts or []), "the accounts list the supervisor's token")
    api(base, "POST", "/accounts/sup/sign-out", admin)
    api(base, "GET", "/queue", sup, expect=(401,))
    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        metrics = r.read().decode()
    check("# TYPE hotline_webhooks_total counter" in metrics and "hotline_build_info" in metrics, "/metrics is complete")


# --- jambonz's wire ---------------------------------------------------------------------------
def jsign(body):
    t = int(time.time())
    mac = hmac.new(JAMBONZ_SECRET.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def jwebhook(base, url, body):
    """A signed JSON webhook to a path or to a URL the service gave out."""
    raw = json.dumps(body, ensure_ascii=False)
    request = urllib.request.Request(url if url.startswith("http") else base + url, data=raw.encode(), method="POST")
    request.add_header("content-type", "application/json")
    request.add_header("jambonz-signature", jsign(raw))
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def attributes(call_sid, caller, **extra):
    body = {
        "call_sid": call_sid, "account_sid": JAMBONZ_ACCOUNT, "direction": "inbound", "from": caller,
        "to": HOTLINE, "call_status": "in-progress", "sip_status": 200, "call_id": str(uuid.uuid4()),
    }
    body.update(extra)
    return body


def pcm_of(path):
    """A WAV file's audio as 16-bit little-endian PCM (µ-law decoded) and its rate."""
    data = open(path, "rb").read()
    fmt, rate = struct.unpack("<HHI", data[20:28])[0], struct.unpack("<I", data[24:28])[0]
    at = data.index(b"data") + 8
    audio = data[at:]
    if fmt == 1:
        return audio, rate
    out = bytearray()
    for b in audio:  # G.711 µ-law
        b = ~b & 0xFF
        sample = (((b & 0x0F) << 3) + 0x84) << ((b >> 4) & 7)
        out += struct.pack("<h", (0x84 - sample) if b & 0x80 else (sample - 0x84))
    return bytes(out), rate


def ws_frame(opcode, payload):
    n = len(payload)
    head = bytes([0x80 | opcode])
    head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def stream(url, base, meta, wav):
    """What jambonz does for a listen: a websocket (subprotocol audio.jambonz.org), the call's
    attributes as a text frame, 20 ms binary frames of PCM, then close."""
    parts = urllib.parse.urlsplit(url)
    host = urllib.parse.urlsplit(base)
    sock = socket.create_connection((host.hostname, host.port), timeout=20)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {host.netloc}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: audio.jambonz.org\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    if not check(answer.startswith(b"HTTP/1.1 101") and accept.encode() in answer, "jambonz: the listen websocket opens"):
        return
    pcm, rate = pcm_of(wav) if wav else (b"", 8000)
    sock.sendall(ws_frame(1, json.dumps(dict(meta, sampleRate=rate, mixType="mono")).encode()))
    step = rate // 50 * 2
    for at in range(0, len(pcm), step):
        sock.sendall(ws_frame(2, pcm[at:at + step]))
    sock.sendall(ws_frame(8, b""))
    while sock.recv(4096):
        pass
    sock.close()


def jcall(base, caller, script, name):
    """Follows the verb documents of one call on jambonz. Script items as in call(), with
    WAV file paths for "speak" and "answer". Returns everything said."""
    sid = str(uuid.uuid4())
    url, extra, said = "/jambonz/voice", {}, []
    script = list(script)
    while url:
        status, raw = jwebhook(base, url, attributes(sid, caller, **extra))
        try:
            verbs = json.loads(raw) if status == 200 else None
        except json.JSONDecodeError:
            verbs = None
        if not check(isinstance(verbs, list), f"{name}: {url.split('?')[0].replace(base, '')} answered 200 with verbs"):
            print("       " + raw[:300])
            return " | ".join(said)
        url, extra = None, {}
        for verb in verbs:
            kind = verb.get("verb")
            texts = lambda v: [v["text"]] if isinstance(v.get("text"), str) else v.get("text", [])
            if kind == "say":
                said.extend(texts(verb))
            elif kind == "gather":
                said.extend(texts(verb.get("say", {})))
                nxt = script[0] if script else None
                falls_through = "&rest=" in verb["actionHook"]
                if falls_through and (not script or nxt[0] in ("speak", "answer")):
                    url, extra = verb["actionHook"], {"reason": "timeout"}
                    break
                if not script:
                    break
                _, value = script.pop(0)
                url, extra = verb["actionHook"], ({"reason": "dtmfDetected", "digits": value} if value else {"reason": "timeout"})
                break
            elif kind == "listen":
                if not script:
                    break
                item, wav = script.pop(0)
                stream(verb["url"], base, {"callSid": sid, "from": caller, "to": HOTLINE}, wav)
                url, extra = verb["actionHook"], ({"digits": "#"} if item == "speak" else {})
                break
            elif kind in ("hangup", "dial"):
                said.append("<" + kind + ">")
                break
            elif kind == "redirect":
                url = verb["actionHook"]
                break
    jwebhook(base, "/jambonz/voice/status", attributes(sid, caller, call_status="completed", duration=60))
    return " | ".join(said)


def walk_jambonz(base, speech):
    describe = os.path.join(ROOT, "tests/data/call-speech/description-0-normal.wav")
    print("== a blind caller on jambonz, by keys")
    said = jcall(base, "+8613800138201", [("keys", "1"), ("keys", "1"), ("speak", describe)], "jambonz keys")
    ticket = ticket_of(said)
    check(ticket is not None and "故障" not in said, f"jambonz keys: a callback registered, ticket {ticket} read back")
    check(said.endswith("<hangup>") and "重听请按星号键" in said, "jambonz keys: the closing offers * and then hangs up")
    status, raw = jwebhook(base, "/jambonz/voice/menu?turn=2", attributes(str(uuid.uuid4()), "+8613800138201", digits="1"))
    check(status == 403, f"jambonz: a signed body at a URL the service never gave out is refused ({status})")
    print("== a blind caller on jambonz, by voice")
    if speech:
        consult = os.path.join(ROOT, "tests/data/call-speech/consult-0-normal.wav")
        said = jcall(base, "+8613800138203", [("answer", consult)], "jambonz voice")
        if not check("劳动和工资" in said or "您是要" in said, "jambonz voice: 我要法律咨询 heard through the listen stream"):
            print("       heard: " + said[-300:])
    else:
        print("  skip (no Whisper model)")
    print("== a duty lawyer calls back on jambonz")
    _, tok = api(base, "POST", "/tokens", body={"username": "zhang", "password": PASSWORD})
    lawyer = tok["token"]
    api(base, "PUT", "/duty", lawyer, {"on_duty": True})
    status, offer = api(base, "POST", "/queue/claim", lawyer)
    if not check(status == 200 and offer and offer.get("state") == "offered", f"jambonz: the lawyer is offered the case ({offer})"):
        return
    a = offer["assignment"]
    placed = len([p for p, _ in Provider.received if p.startswith("/v1/")])
    api(base, "POST", f"/offers/{a}/accept", lawyer)

    def jambonz_calls():
        for _ in range(50):
            calls = [(p, b) for p, b in list(Provider.received) if p == f"/v1/Accounts/{JAMBONZ_ACCOUNT}/Calls"]
            if len(calls) > placed:
                return calls
            time.sleep(0.1)
        return []

    calls = jambonz_calls()
    if not check(len(calls) > placed, "jambonz: the lawyer's phone is rung through jambonz's REST API"):
        return
    leg = calls[-1][1]
    lawyer_sid = leg["_sid"]
    time.sleep(0.3)
    body = {"call_sid": lawyer_sid, "account_sid": JAMBONZ_ACCOUNT, "direction": "outbound", "call_status": "in-progress"}
    s, raw = jwebhook(base, leg["call_hook"]["url"], body)
    check(s == 200 and "律师回电" in raw and '"conference"' in raw, "jambonz: the lawyer hears the case whispered, then waits in the conference")
    placed += 1
    calls = jambonz_calls()
    if not check(len(calls) > placed, "jambonz: then the caller's phone rings"):
        return
    caller_leg = calls[-1][1]
    caller_sid = caller_leg["_sid"]
    s, raw = jwebhook(base, caller_leg["call_hook"]["url"], dict(body, call_sid=caller_sid))
    check(s == 200 and '"endConferenceOnExit":true' in raw, "jambonz: the caller joins the lawyer's conference")
    verbs = json.loads(raw) if s == 200 else []
    amd = next((v["amd"]["actionHook"] for v in verbs if v.get("verb") == "config" and "amd" in v), None)
    if check(amd is not None, "jambonz: the caller's leg is screened for an answering machine"):
        event = dict(body, call_sid=caller_sid, type="amd_human_detected", reason="short greeting")
        s, raw = jwebhook(base, amd, event)
        check(s == 200 and json.loads(raw) == [], f"jambonz: a person's verdict leaves the call as it is ({raw})")


if __name__ == "__main__":
    main()
