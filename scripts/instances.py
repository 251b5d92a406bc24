#!/usr/bin/env python3
"""Several instances proven together (issue 20): two `hotline serve` (background jobs on in
both, so both dispatch) and one `hotline worker` (speech recognition for both, through Redis)
against one PostgreSQL database and one Redis, reached as a load balancer would reach them.

- Calls by keys and by voice and texts run at once, every webhook sent to the instance other
  than the last one that call or text used (each call's turns alternate), signed over the one
  public URL both share, through a balancer that tries the other instance when one does not
  answer (as Caddy's lb_retries does).
- Mid-call, one web instance is killed (SIGKILL): the call goes on on the other.
- Two lawyers are on duty, so both dispatchers offer the waiting cases.

Passes when every turn was answered with TwiML, every call and text has exactly one
consultation, no consultation was offered twice at once and no lawyer held two offers, and
every spoken menu answer was recognised by the worker. Standard library and psql only; uses
the walk's provider stand-in and call follower (scripts/walk.py).
Usage: scripts/instances.py [binary] (default target/debug/hotline).
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import walk as w  # noqa: E402

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(w.ROOT, "target/debug/hotline"))
PUBLIC = "http://hotline.invalid"
PG = os.environ.get("HOTLINE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
local = threading.local()


def psql(db_url, sql):
    out = subprocess.run(["psql", db_url, "-Atqc", sql], check=True, capture_output=True, text=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


class Instances:
    """The web instances as a balancer sees them; a killed one is skipped."""

    def __init__(self, bases):
        self.bases, self.dead, self.lock = bases, set(), threading.Lock()

    def order(self):
        """The instances to try for the next request of this call or text: the other one
        first."""
        local.turn = getattr(local, "turn", 0) + 1
        first = local.turn % len(self.bases)
        return [self.bases[(first + i) % len(self.bases)] for i in range(len(self.bases))]


def balanced_webhook(instances):
    def webhook(base, path, params):
        assert base == PUBLIC, base
        body = urllib.parse.urlencode(params).encode()
        signature = w.sign(PUBLIC + path, params)
        hook = getattr(local, "before", None)
        if hook:
            hook(local.turn + 1)
        last = None
        for target in instances.order():
            request = urllib.request.Request(target + path, data=body, method="POST")
            request.add_header("content-type", "application/x-www-form-urlencoded")
            request.add_header("x-twilio-signature", signature)
            try:
                with urllib.request.urlopen(request, timeout=30) as r:
                    local.served = getattr(local, "served", []) + [target]
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()
            except OSError as e:
                last = e  # not answering: the balancer tries the other instance
        return 599, f"no instance answered: {last}"
    return webhook


def main():
    if not os.path.exists(BINARY):
        sys.exit(f"no binary at {BINARY}")
    speech = os.path.isfile(w.MODEL)
    db = "hotline_instances_" + uuid.uuid4().hex[:8]
    psql(PG, f"CREATE DATABASE {db}")
    db_url = PG.rsplit("/", 1)[0] + "/" + db
    work = tempfile.mkdtemp(prefix="hotline-instances-")
    provider = w.start_provider()
    common = dict(
        os.environ,
        HOTLINE_PUBLIC_URL=PUBLIC,
        HOTLINE_DATA_DIR=work,
        HOTLINE_DATA_KEY="ab" * 32,
        HOTLINE_DATABASE_URL=db_url,
        HOTLINE_REDIS_PREFIX="hotline-instances-" + uuid.uuid4().hex[:8],
        HOTLINE_HOTLINE_NUMBER=w.HOTLINE,
        HOTLINE_TWILIO_ACCOUNT_SID=w.ACCOUNT_SID,
        HOTLINE_TWILIO_AUTH_TOKEN=w.TOKEN,
        HOTLINE_TWILIO_API_BASE=provider,
        HOTLINE_WHISPER_RECORDING_HOSTS="127.0.0.1",
        HOTLINE_WHISPER_MODEL=w.MODEL if speech else "",
        HOTLINE_WHISPER_REMOTE="true",
        HOTLINE_SPEECH_ENGINE="none",
        HOTLINE_LOG_FORMAT="json",
        HOTLINE_USER_PASSWORD=w.PASSWORD,
        HOTLINE_JOBS_IN_SERVE="true",
        # A Redis failover is seen within this long (see the last part).
        HOTLINE_JOBS_RECONCILE_INTERVAL_SECS="2",
    )
    cli = dict(common, HOTLINE_WHISPER_MODEL="")
    run = lambda *a: subprocess.run([BINARY, *a], env=cli, check=True, capture_output=True, text=True).stdout
    run("migrate")
    roster = os.path.join(work, "roster.csv")
    with open(roster, "w") as f:
        f.write("name,phone,skills,regions,max_cases,shifts,exceptions\n")
        f.write("张明,+8613800000001,labour_wages;work_injury,610100,3,mon-sun 00:00-24:00,\n")
        f.write("王芳,+8613800000002,labour_wages;work_injury,610100,3,mon-sun 00:00-24:00,\n")
    run("roster", "import", roster)
    lawyers = [json.loads(line)["id"] for line in run("roster", "list").splitlines()]
    tokens = []
    for i, lawyer in enumerate(lawyers):
        run("user", "add", f"lawyer{i}", "--name", f"律师{i}", "--role", "lawyer", "--lawyer", lawyer)
        tokens.append(run("user", "token", f"lawyer{i}").strip())

    procs, logs, bases = [], [], []
    for name, args in [("web-a", ["serve"]), ("web-b", ["serve"]), ("worker", ["worker"])]:
        env = dict(common)
        if args == ["serve"]:
            port = w.free_port()
            env["HOTLINE_BIND"] = f"127.0.0.1:{port}"
            bases.append(f"http://127.0.0.1:{port}")
        else:
            env["HOTLINE_BIND"] = "127.0.0.1:1"
            # Two recognitions at a time, as deploy/compose.yaml runs it.
            env["HOTLINE_WHISPER_WORKERS"] = "2"
        log = open(os.path.join(work, name + ".log"), "w")
        logs.append(log)
        procs.append(subprocess.Popen([BINARY, *args], env=env, stdout=log, stderr=log))
    try:
        for base in bases:
            for _ in range(300):
                try:
                    with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.2)
        walk_together(bases, procs, provider, speech, db_url, tokens)
        consult = speech and w.add_recording(provider, os.path.join(w.ROOT, "tests/data/call-speech/consult-0-normal.wav"))
        fail_over(bases, common["HOTLINE_REDIS_PREFIX"], db_url, describe_url(provider), tokens, consult)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in logs:
            log.close()
        psql(PG, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    print(f"\n{w.steps - len(w.failures)} passed, {len(w.failures)} failed")
    sys.exit(1 if w.failures else 0)


def describe_url(provider):
    return w.add_recording(provider, os.path.join(w.ROOT, "tests/data/call-speech/description-0-normal.wav"))


def redis(*args):
    return subprocess.run(["redis-cli", *args], check=True, capture_output=True, text=True).stdout.split()


def fail_over(bases, prefix, db_url, describe, tokens, consult):
    """A Redis primary failing over to a replica that had not caught up looks to the service
    like a flush: the queue, offers, the dispatch lease and the menu states are gone. SQL is the
    record, so the reconcilers (in both instances and the worker) rebuild the queue."""
    print("== Redis fails over (every key of the service lost), also in the middle of a call")
    queued_key = f"{prefix}:v1:queue:all"
    lost = []

    def flush(turn=None):
        if turn is not None and turn != 3:
            return
        keys = redis("--scan", "--pattern", prefix + ":*")
        for i in range(0, len(keys), 100):
            redis("DEL", *keys[i:i + 100])
        lost.append(len(keys))

    # A caller at the matter question when it happens.
    local.before, local.turn, local.served = flush, 0, []
    said = w.call(PUBLIC, "+8613800139997", [("keys", "1"), ("keys", "1"), ("speak", describe)], "during the failover")
    local.before = None
    print("       heard: " + said[-160:])
    w.check(w.ticket_of(said) is not None, "a call in progress during the failover still registers its callback")
    waiting = int(psql(db_url, "SELECT COUNT(*) FROM consultations WHERE status = 'waiting_callback'")[0][0])
    before = int(redis("ZCARD", queued_key)[0])
    flush()
    w.check(int(redis("ZCARD", queued_key)[0]) == 0, f"the queue is gone ({before} entries, {lost} keys)")
    deadline, after = time.time() + 30, 0
    while time.time() < deadline:
        after = int(redis("ZCARD", queued_key)[0])
        if after >= before:
            break
        time.sleep(0.5)
    w.check(after >= before and after <= waiting, f"the reconcilers queued the waiting cases again ({after} in line, {before} before, {waiting} waiting in SQL)")
    local.turn, local.served = 0, []
    said = w.call(PUBLIC, "+8613800139998", [("keys", "1"), ("keys", "1"), ("speak", describe)], "after the failover")
    w.check(w.ticket_of(said) is not None, "a call after the failover registers its callback")
    # The lawyers, holding offers Redis forgot, ask for the next case (web-a: web-b was killed).
    for i, token in enumerate(tokens):
        for base in bases[:1]:
            status, offer = w.api(base, "POST", "/queue/claim", token, expect=(200, 204, 409))
            print(f"       lawyer{i} claims on {base[-5:]}: {status} {(offer or {}).get('ticket') if isinstance(offer, dict) else offer}")
    time.sleep(3)
    double = psql(db_url, "SELECT lawyer_id FROM assignments WHERE state = 'offered' GROUP BY 1 HAVING COUNT(*) > 1")
    w.check(not double, f"no lawyer holds two offers after the failover ({double})")
    double = psql(db_url, "SELECT consultation_id FROM assignments WHERE state = 'offered' GROUP BY 1 HAVING COUNT(*) > 1")
    w.check(not double, f"no case is offered to two lawyers after the failover ({double})")
    if consult:
        # The worker's job streams and their group went with the rest: it makes them again.
        time.sleep(2)
        local.turn, local.served = 0, []
        said = w.call(PUBLIC, "+8613800139996", [("answer", consult)], "voice after the failover")
        w.check("劳动和工资" in said or "您是要" in said, "a spoken answer after the failover is recognised by the worker")


def walk_together(bases, procs, provider, speech, db_url, tokens):
    instances = Instances(bases)
    w.webhook = balanced_webhook(instances)
    describe = w.add_recording(provider, os.path.join(w.ROOT, "tests/data/call-speech/description-0-normal.wav"))
    consult = w.add_recording(provider, os.path.join(w.ROOT, "tests/data/call-speech/consult-0-normal.wav"))
    for token in tokens:
        w.api(bases[0], "PUT", "/duty", token, {"on_duty": True})
    print("== calls and texts at once, each turn on the other instance")
    results, threads = {}, []

    def by_keys(i):
        said = w.call(PUBLIC, f"+86138001391{i:02d}", [("keys", "1"), ("keys", "1"), ("speak", describe)], f"keys {i}")
        results[("keys", i)] = (said, list(local.served))

    def by_voice(i):
        # One worker recognises for both instances: the spoken answers come a little apart,
        # as callers' do, rather than all in the same second.
        time.sleep(2 * i)
        said = w.call(PUBLIC, f"+86138001392{i:02d}", [("answer", consult)], f"voice {i}")
        results[("voice", i)] = (said, list(local.served))

    def by_text(i):
        me = f"+86137001393{i:02d}"
        first = w.text(PUBLIC, me, "你好，我想咨询法律问题", f"sms {i}")
        second = w.text(PUBLIC, me, "1", f"sms {i}")
        results[("sms", i)] = (first + " | " + second, list(local.served))

    jobs = [(by_keys, i) for i in range(4)] + [(by_text, i) for i in range(3)]
    if speech:
        jobs += [(by_voice, i) for i in range(3)]
    for fn, i in jobs:
        threads.append(threading.Thread(target=fn, args=(i,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (kind, i), (said, served) in sorted(results.items()):
        alternated = all(a != b for a, b in zip(served, served[1:]))
        w.check(len(set(served)) == 2 and alternated, f"{kind} {i}: {len(served)} turns alternated over both instances")
        if kind == "keys":
            w.check(w.ticket_of(said) is not None, f"keys {i}: a callback registered, its ticket read back")
        if kind == "voice":
            w.check("劳动和工资" in said or "您是要" in said, f"voice {i}: the spoken answer recognised by the worker")
    w.check(len(results) == len(jobs), f"every call and text finished ({len(results)} of {len(jobs)})")

    print("== one web instance killed mid-call")

    def kill_b(turn):
        if turn == 3 and procs[1].poll() is None:
            procs[1].kill()
            procs[1].wait()

    local.before, local.turn, local.served = kill_b, 0, []
    said = w.call(PUBLIC, "+8613800139999", [("keys", "1"), ("keys", "1"), ("speak", describe)], "killed mid-call")
    local.before = None
    w.check(procs[1].poll() is not None, "web-b was killed during the call")
    w.check(w.ticket_of(said) is not None, "the call went on on web-a: a callback registered, its ticket read back")

    print("== what the database holds")
    calls = len([k for k in results if k[0] != "sms"]) + 1
    # Every call and every texter has one consultation, none two (turns on both instances).
    dup = psql(db_url, "SELECT call_sid FROM consultations WHERE call_sid IS NOT NULL GROUP BY 1 HAVING COUNT(*) > 1")
    w.check(not dup, f"no call has two consultations ({dup})")
    dup = psql(db_url, "SELECT caller_id FROM consultations WHERE channel = 'sms' GROUP BY 1 HAVING COUNT(*) > 1")
    w.check(not dup, f"no texter has two consultations ({dup})")
    texters = psql(db_url, "SELECT COUNT(*) FROM consultations WHERE channel = 'sms'")[0][0]
    w.check(int(texters) == 3, f"each texter has a consultation ({texters} of 3)")
    keyed = psql(db_url, "SELECT COUNT(DISTINCT call_sid) FROM consultations WHERE call_sid IS NOT NULL")
    w.check(int(keyed[0][0]) >= calls - (3 if speech else 0), f"each call by keys has its consultation ({keyed[0][0]})")
    if speech:
        # The callers' descriptions, recorded on both instances, are transcribed by the worker
        # (the web instances load no model).
        deadline, left = time.time() + 180, None
        while time.time() < deadline:
            left = int(psql(db_url, "SELECT COUNT(*) FROM recordings WHERE transcript IS NULL")[0][0])
            if left == 0:
                break
            time.sleep(1)
        total = psql(db_url, "SELECT COUNT(*) FROM recordings")[0][0]
        w.check(left == 0, f"every description transcribed by the worker ({int(total) - (left or 0)} of {total})")
    # Both dispatchers offer the waiting cases to the two lawyers on duty (one each at a time).
    deadline = time.time() + 60
    while time.time() < deadline and int(psql(db_url, "SELECT COUNT(*) FROM assignments")[0][0]) < len(tokens):
        time.sleep(0.5)
    double = psql(db_url, "SELECT consultation_id FROM assignments WHERE state = 'offered' GROUP BY 1 HAVING COUNT(*) > 1")
    w.check(not double, f"no consultation offered twice at once ({double})")
    held = psql(db_url, "SELECT lawyer_id FROM assignments WHERE state = 'offered' GROUP BY 1 HAVING COUNT(*) > 1")
    w.check(not held, f"no lawyer holds two offers ({held})")
    twice = psql(db_url, "SELECT consultation_id, attempt FROM assignments GROUP BY 1, 2 HAVING COUNT(*) > 1")
    w.check(not twice, f"no callback attempt offered twice ({twice})")
    offered = psql(db_url, "SELECT COUNT(*) FROM assignments")
    w.check(int(offered[0][0]) >= len(tokens), f"the dispatchers offered cases to the lawyers on duty ({offered[0][0]})")


if __name__ == "__main__":
    main()
