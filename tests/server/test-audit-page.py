#!/usr/bin/python3
"""Issue 10 item 10: GET /api/v1/audit reads a bounded page per request.

A state folder gets a valid chain of 6,000 records (written here, hashes
and all, so the log is big without 6,000 requests); then over TLS:
 - following next_cursor with limit=500 returns every record exactly once,
   at most 500 per page;
 - a filter that matches nothing still answers each request after reading
   at most 5,000 records, with a next_cursor to go on (bounded work);
 - from= starts at the first record at or after that time;
 - a cursor that is not the start of a record, or limit > 1000, is a 400."""
import datetime, hashlib, json, os, sys, time
import hk_it as hk

N = 6000


def write_chain(state, n, t0):
    os.makedirs(state, exist_ok=True)
    prev, out, times = "0" * 64, [], {}
    for i in range(1, n + 1):
        when = (t0 + datetime.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        times[i] = when
        body = json.dumps({"seq": i, "time": when, "prev": prev, "action": "patient.read",
                           "outcome": "success", "status": 200, "user": "u%d" % (i % 7),
                           "client": "127.0.0.1", "patient": hk.PATIENT},
                          separators=(",", ":"))[:-1]
        h = hashlib.sha256(body.encode()).hexdigest()
        out.append('%s,"hash":"%s"}\n' % (body, h))
        prev = h
    with open(os.path.join(state, "audit.log"), "w") as f:
        f.write("".join(out))
    with open(os.path.join(state, "audit.head"), "w") as f:
        f.write("%020d %s\n" % (n, prev))  # the pre-issue-10 anchor format, still read
    return times


def pages(fx):
    state = os.path.join(fx.tmp, "state-big")
    t0 = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=N + 3600)
    fx.times = write_chain(state, N, t0)
    hk.run(hk.ADMIN, "user", "add", "audrey", "--role", "auditor", "--state", state,
           stdin=hk.PW["audrey"] + "\n")
    p, api = fx.start(state=state)
    fx.api, fx.p, fx.big = api, p, state
    fx.tok = api.token("audrey")
    seen, npages, cursor = [], 0, None
    while True:
        q = "limit=500" + ("&cursor=" + cursor if cursor else "")
        s, _, js = api.req("GET", "/api/v1/audit?" + q, token=fx.tok)
        hk.check(s == 200 and "next_cursor" in js, "page: %d %s" % (s, js and list(js)))
        hk.check(len(js["records"]) <= 500, "page of %d records" % len(js["records"]))
        seen += [r["seq"] for r in js["records"]]
        npages += 1
        cursor = js["next_cursor"]
        hk.check(npages < 100, "pages do not end")
        if cursor is None:
            break
    hk.check(len(seen) == len(set(seen)), "a record came twice")
    hk.check(sorted(seen) == list(range(1, max(seen) + 1)) and max(seen) > N,
             "records missing: %d seen, max %d" % (len(seen), max(seen)))
    hk.check(npages >= N // 500, "%d pages" % npages)
    s, _, js = api.req("GET", "/api/v1/audit", token=fx.tok)
    hk.check(s == 200 and len(js["records"]) == 1000 and js["next_cursor"], "default page")
    return "%d records in %d pages of <= 500" % (len(seen), npages)


def bounded(fx):
    api, tok = fx.api, fx.tok
    t0 = time.monotonic()
    s, _, js = api.req("GET", "/api/v1/audit?user=nobody", token=tok)
    worst = time.monotonic() - t0
    hk.check(s == 200 and js["records"] == [] and js["next_cursor"],
             "a page that matches nothing still stops after 5,000 records: %s" % js)
    recs, npages = fx.audit_all(api, tok, "user=nobody")
    hk.check(recs == [] and npages == 2, "%d pages for %d+ records" % (npages, N))
    recs, npages = fx.audit_all(api, tok, "user=u3")
    hk.check(len(recs) == len([i for i in range(1, N + 1) if i % 7 == 3]) and
             all(r["user"] == "u3" for r in recs), "user filter over pages")
    # from=: the first record at or after that time comes first.
    s, _, js = api.req("GET", "/api/v1/audit?limit=3&from=" + fx.times[4321], token=tok)
    hk.check(s == 200 and [r["seq"] for r in js["records"]] == [4321, 4322, 4323],
             "from: %s" % [r["seq"] for r in js["records"]])
    for bad in ["cursor=7", "cursor=abc", "cursor=-1", "limit=1001", "limit=0",
                "cursor=99999999999"]:
        s, _, js = api.req("GET", "/api/v1/audit?" + bad, token=tok)
        hk.check(s == 400, "%s: %d" % (bad, s))
    t0 = time.monotonic()
    s, _, js = api.req("GET", "/api/v1/audit?limit=1000", token=tok)
    full = time.monotonic() - t0
    hk.check(fx.stop(fx.p) == 0, "server exit status")
    r = fx.verify(state=fx.big)
    hk.check(r.returncode == 0, "verify: " + r.stdout)
    # A figure, not a pass mark: one request's round trip over TLS.
    return "page of 1,000: %.0f ms; 5,000 read, none matching: %.0f ms" % (full * 1e3, worst * 1e3)


if __name__ == "__main__":
    sys.exit(hk.main([("every record once, pages of <= limit", pages),
                      ("bounded work, filters, from, bad cursors", bounded)],
                     fixture_args={"ndocs": 1}))
