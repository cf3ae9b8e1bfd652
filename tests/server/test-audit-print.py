#!/usr/bin/python3
"""Issue 10 item 9: every printed document ID is audited.

A 200-document transfer pack is posted over TLS (POST /api/v1/print-events
with 200 doc_ids); the audit log file and GET /api/v1/audit must then name
all 200. Before the fix the record's document list was cut at 1,024 bytes
(60 IDs). Also: a 1,000-ID print (the documented bound) is accepted and
recorded in full; 1,001 IDs are refused with 400; the chain verifies."""
import sys
import hk_it as hk

N = 200


def print_records(recs, print_id=None):
    return [r for r in recs if r["action"] == "print" and
            (print_id is None or r.get("print_id") == print_id)]


def ids_of(recs):
    out = []
    for r in recs:
        out += r.get("document", "").split(",")
    return out


def pack_of_200(fx):
    docs = fx.doc_ids()
    hk.check(len(docs) == N, "store holds %d documents" % len(docs))
    p, api = fx.start()
    fx.p, fx.api = p, api
    alice = api.token("alice")
    s, _, js = api.req("POST", "/api/v1/print-events",
                    {"patient_id": hk.PATIENT, "doc_ids": docs, "purpose": "transfer"},
                    token=alice)
    hk.check(s == 204, "200-document print: %d %s" % (s, js))
    # The file: linked parts, every ID once.
    recs = print_records(fx.records())
    hk.check(len(recs) >= 1, "no print record")
    pid = recs[-1].get("print_id")
    parts = print_records(recs, pid) if pid else recs[-1:]
    got = ids_of(parts)
    hk.check(sorted(got) == docs, "file holds %d of %d IDs" % (len(set(got) & set(docs)), N))
    hk.check(pid, "a 200-document print is not split: %s" % recs[-1])
    hk.check(sorted(r["part"] for r in parts) == list(range(1, len(parts) + 1)) and
             all(r["parts"] == len(parts) for r in parts), "parts: %s" %
             [(r.get("part"), r.get("parts")) for r in parts])
    hk.check(all(r["detail"] == "transfer" and r["patient"] == hk.PATIENT and
                 r["outcome"] == "success" for r in parts), "part fields")
    hk.check([r["seq"] for r in parts] == list(range(parts[0]["seq"], parts[0]["seq"] + len(parts))),
             "parts are not consecutive")
    # The API, as the auditor reads it.
    audrey = api.token("audrey")
    recs, pages = fx.audit_all(api, audrey, "patient=" + hk.PATIENT)
    got = ids_of(print_records(recs, pid))
    hk.check(sorted(got) == docs, "API shows %d of %d IDs" % (len(set(got) & set(docs)), N))
    fx.docs = docs
    return "%d IDs in %d linked records" % (N, len(parts))


def bounds(fx):
    api, alice = fx.api, fx.api.token("alice")
    thousand = (fx.docs * 5)[:1000]
    s, _, js = api.req("POST", "/api/v1/print-events",
                    {"patient_id": hk.PATIENT, "doc_ids": thousand, "purpose": "big"}, token=alice)
    hk.check(s == 204, "1,000-ID print: %d %s" % (s, js))
    recs = [r for r in fx.records() if r.get("detail") == "big"]
    hk.check(len(recs) == 20 and len(ids_of(recs)) == 1000, "1,000 IDs recorded: %d records, %d"
             % (len(recs), len(ids_of(recs))))
    s, _, js = api.req("POST", "/api/v1/print-events",
                    {"patient_id": hk.PATIENT, "doc_ids": thousand + [fx.docs[0]],
                     "purpose": "too big"}, token=alice)
    hk.check(s == 400 and "1000" in js["message"].replace(",", ""), "1,001 IDs: %d %s" % (s, js))
    hk.check(fx.stop(fx.p) == 0, "server exit status")
    r = fx.verify()
    hk.check(r.returncode == 0, "verify: " + r.stdout)


if __name__ == "__main__":
    sys.exit(hk.main([("200-document pack audited in full", pack_of_200),
                      ("1,000 IDs accepted, 1,001 refused", bounds)],
                     fixture_args={"ndocs": N}))
