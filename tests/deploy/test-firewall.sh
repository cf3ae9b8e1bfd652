#!/usr/bin/env bash
# The segment firewall (deploy/nftables/hikae.nft), tested for real: network
# namespaces for the archive, a reference client, the admin, a source host,
# another host on the source segment (an EHR server) and a stranger, joined
# by veth pairs through a router namespace. The shipped ruleset is loaded in
# the archive's namespace with test variables, a listener answers on every
# port of every host, and each flow is tried:
#   control  no ruleset: every flow must connect (the network and the
#            listeners work, so a blocked flow below is the firewall's doing);
#   443      the ruleset: each allowed flow connects, each denied one fails;
#   8443     reloaded with the server on 8443 behind the 443 redirect, and a
#            reference subnet and admin address that overlap the source
#            segment by mistake: the source host is still dropped first.
# Needs root (network namespaces, nftables). Addresses (10.77.0.0/16 and
# TEST-NET-3 203.0.113.0/24) exist only inside the namespaces made here; no
# namespace or veth is ever created in the machine's own namespace, and
# every namespace is deleted on exit, even on failure.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (network namespaces, nftables)"
  exit 77
fi
. "$HK_SOURCE_DIR/tests/lib.sh"
NFT=$(command -v nft) || fail "missing: nft (Debian package nftables)"
IP=$(command -v ip) || fail "missing: ip (Debian package iproute2)"
PY=$(command -v python3) || fail "missing: python3"
RULES=$HK_SOURCE_DIR/deploy/nftables/hikae.nft
need "$RULES"

P=hkfw$$
ROOT_LINKS=$("$IP" -o link show | wc -l)
NSS="arch ref adm src ehr str rtr"
fw_cleanup() {
  local rc=$? n left
  jobs -p | xargs -r kill 2>/dev/null || true
  for n in $NSS; do
    "$IP" netns del "$P-$n" 2>/dev/null || true
  done
  # Deleting a namespace deletes the veth ends in it (and so their peers).
  left=$("$IP" netns list | grep -c "^$P-" || true)
  if [ "$left" != 0 ]; then
    echo "FAIL: $left test namespaces left behind" >&2
    rc=1
  fi
  if [ "$("$IP" -o link show | wc -l)" != "$ROOT_LINKS" ]; then
    echo "FAIL: the root namespace's links changed" >&2
    rc=1
  fi
  (exit $rc)
  hk_cleanup
}
trap fw_cleanup EXIT
# A timeout's SIGTERM (or ^C) must clean up too: exit, which runs the trap.
trap 'exit 143' TERM
trap 'exit 130' INT

ns() { "$IP" netns exec "$P-$1" "${@:2}"; }

# ---- topology -------------------------------------------------------------
declare -A ADDR=([arch]=10.77.1.2 [ref]=10.77.2.10 [adm]=10.77.3.5
  [src]=10.77.4.10 [ehr]=10.77.4.20 [str]=203.0.113.66)
declare -A GW=([arch]=10.77.1.1/24 [ref]=10.77.2.1/24 [adm]=10.77.3.1/24
  [src]=10.77.4.1/24 [ehr]=10.77.4.1/24 [str]=203.0.113.1/24)
for n in $NSS; do
  "$IP" netns add "$P-$n"
  ns "$n" "$IP" link set lo up
done
ns rtr sysctl -qw net.ipv4.ip_forward=1
# The source segment is one LAN (a bridge): the source host and the EHR.
"$IP" -n "$P-rtr" link add br-src type bridge
"$IP" -n "$P-rtr" addr add 10.77.4.1/24 dev br-src
"$IP" -n "$P-rtr" link set br-src up
for n in arch ref adm src ehr str; do
  # Created inside the router's namespace, the peer straight in the host's:
  # no end ever exists in the machine's own namespace.
  "$IP" -n "$P-rtr" link add "r-$n" type veth peer name eth0 netns "$P-$n"
  "$IP" -n "$P-$n" addr add "${ADDR[$n]}/24" dev eth0
  "$IP" -n "$P-$n" link set eth0 up
  "$IP" -n "$P-rtr" link set "r-$n" up
  if [ "$n" = src ] || [ "$n" = ehr ]; then
    "$IP" -n "$P-rtr" link set "r-$n" master br-src
  else
    "$IP" -n "$P-rtr" addr add "${GW[$n]}" dev "r-$n"
  fi
  "$IP" -n "$P-$n" route add default via "${GW[$n]%/*}"
done
ok "7 namespaces, 6 veth pairs, a bridge for the source segment"

# ---- listeners and prober -------------------------------------------------
cat > "$T/listen.py" <<'PY'
# listen.py READY_FILE LIFETIME_S SPEC...: SPEC is tcp:PORT or udp:PORT.
# Every TCP connection and every UDP datagram is answered "hk-ok PORT".
import selectors, socket, sys, time
ready, life, specs = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
sel = selectors.DefaultSelector()
for spec in specs:
    proto, port = spec.split(":")
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    if proto == "tcp":
        s.listen(64)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, (proto, port))
open(ready, "w").close()
end = time.monotonic() + life
while time.monotonic() < end:
    for key, _ in sel.select(timeout=1):
        proto, port = key.data
        msg = ("hk-ok %s\n" % port).encode()
        try:
            if proto == "tcp":
                c, _ = key.fileobj.accept()
                c.sendall(msg)
                c.close()
            else:
                _, peer = key.fileobj.recvfrom(2048)
                key.fileobj.sendto(msg, peer)
        except OSError:
            pass
PY
cat > "$T/flows.py" <<'PY'
# flows.py PREFIX PROBE_TIMEOUT FLOWS_FILE: each line "FROM TO ADDR PROTO PORT
# EXPECTED"; EXPECTED is open@PORT (connects, answered by the listener on
# PORT) or blocked (no answer at all, or EPERM when the archive's own output
# chain drops what it sends). Prints the flow table; exit 1 if any
# flow differs from what was expected.
import concurrent.futures, subprocess, sys
prefix, tmo, path = sys.argv[1], sys.argv[2], sys.argv[3]
PROBE = r'''
import socket, struct, sys
proto, host, port, tmo = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
try:
    if proto == "tcp":
        s = socket.create_connection((host, port), timeout=tmo)
        data = s.recv(64)
    elif proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(tmo)
        s.sendto(b"probe", (host, port)); data = s.recv(64)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        s.settimeout(tmo)
        h = struct.pack("!BBHHH", 8, 0, 0, 0x686b, 1) + b"hikae!"
        s.sendto(h[:2] + struct.pack("!H", csum(h)) + h[4:], (host, 0))
        while True:
            pkt, peer = s.recvfrom(2048)
            ihl = (pkt[0] & 15) * 4
            if peer[0] == host and pkt[ihl] == 0:
                data = b"hk-ok 0\n"; break
    parts = data.decode().split()
    print("open@" + parts[1] if len(parts) == 2 and parts[0] == "hk-ok" else "garbled")
except socket.timeout:
    print("blocked")
except ConnectionRefusedError:
    print("refused")
except PermissionError:
    # EPERM on send: the sender's own output chain dropped the packet.
    print("blocked")
except OSError as e:
    print("error:" + (e.strerror or str(e)).replace(" ", "_"))
'''
flows = [l.split() for l in open(path) if l.strip() and not l.startswith("#")]
def run(f):
    frm, to, addr, proto, port, _ = f
    r = subprocess.run(["ip", "netns", "exec", prefix + "-" + frm, sys.executable,
                        "-c", PROBE, proto, addr, port, tmo],
                       capture_output=True, text=True, timeout=60)
    return r.stdout.strip() or ("error:" + r.stderr.strip().replace(" ", "_"))[:60]
with concurrent.futures.ThreadPoolExecutor(max_workers=12) as ex:
    got = list(ex.map(run, flows))
bad = 0
print("%-5s %-5s %-15s %-5s %-6s %-10s %-10s" % ("from", "to", "address", "proto", "port", "expected", "got"))
for f, g in zip(flows, got):
    mark = "" if g == f[5] else "   <-- WRONG"
    bad += mark != ""
    print("%-5s %-5s %-15s %-5s %-6s %-10s %-10s%s" % (*f, g, mark))
print("%d flows, %d wrong" % (len(flows), bad))
sys.exit(1 if bad else 0)
PY

start_listener() { # NS SPEC...
  local n=$1
  shift
  rm -f "$T/ready-$n"
  timeout 600 "$IP" netns exec "$P-$n" "$PY" "$T/listen.py" "$T/ready-$n" 550 "$@" &
}
start_listener arch tcp:22 tcp:80 tcp:111 tcp:443 tcp:445 tcp:2049 tcp:8443 udp:111 udp:2049
start_listener ref tcp:22 tcp:443 tcp:445
start_listener adm tcp:22 tcp:443
start_listener src tcp:22 tcp:80 tcp:111 tcp:445 tcp:2049 tcp:20048 udp:111 udp:2049
start_listener ehr tcp:22 tcp:443 tcp:445 tcp:2049
start_listener str tcp:22 tcp:80 tcp:443 tcp:445 udp:53
for n in arch ref adm src ehr str; do
  i=0
  while [ ! -e "$T/ready-$n" ]; do
    i=$((i + 1))
    [ $i -le 300 ] || fail "the listener in $n did not start"
    sleep 0.1
  done
done
ok "listeners up in 6 namespaces"

# ---- the flows --------------------------------------------------------------
A=${ADDR[arch]}
# FROM TO ADDR PROTO PORT EXPECTED-WITH-THE-RULESET
cat > "$T/flows-443" <<EOF
# inbound, allowed
ref  arch $A tcp 443 open@443
adm  arch $A tcp 22 open@22
# inbound, denied
ref  arch $A tcp 22 blocked
ref  arch $A tcp 445 blocked
ref  arch $A tcp 8443 blocked
ref  arch $A udp 2049 blocked
ref  arch $A icmp 0 blocked
adm  arch $A tcp 443 blocked
adm  arch $A tcp 80 blocked
str  arch $A tcp 443 blocked
str  arch $A tcp 22 blocked
src  arch $A tcp 443 blocked
src  arch $A tcp 22 blocked
src  arch $A tcp 445 blocked
src  arch $A tcp 2049 blocked
src  arch $A tcp 111 blocked
src  arch $A udp 111 blocked
src  arch $A icmp 0 blocked
ehr  arch $A tcp 443 blocked
ehr  arch $A tcp 22 blocked
ehr  arch $A tcp 445 blocked
# outbound, allowed: the indexer's pull from the source host
arch src  ${ADDR[src]} tcp 445 open@445
arch src  ${ADDR[src]} tcp 2049 open@2049
# outbound, denied
arch src  ${ADDR[src]} tcp 111 blocked
arch src  ${ADDR[src]} tcp 20048 blocked
arch src  ${ADDR[src]} tcp 22 blocked
arch src  ${ADDR[src]} tcp 80 blocked
arch src  ${ADDR[src]} udp 2049 blocked
arch src  ${ADDR[src]} udp 111 blocked
arch src  ${ADDR[src]} icmp 0 blocked
arch ehr  ${ADDR[ehr]} tcp 445 blocked
arch ehr  ${ADDR[ehr]} tcp 2049 blocked
arch ref  ${ADDR[ref]} tcp 443 blocked
arch ref  ${ADDR[ref]} tcp 22 blocked
arch adm  ${ADDR[adm]} tcp 22 blocked
arch str  ${ADDR[str]} tcp 443 blocked
arch str  ${ADDR[str]} tcp 80 blocked
arch str  ${ADDR[str]} udp 53 blocked
# loopback
arch arch 127.0.0.1 tcp 443 open@443
EOF
# The control pass expects every flow to connect to the port it names.
awk '/^#/ {print; next} NF {$6 = ($4 == "icmp" ? "open@0" : "open@" $5); print}' \
  "$T/flows-443" > "$T/flows-control"

echo "== control: no ruleset in the archive's namespace"
"$PY" "$T/flows.py" "$P" 3 "$T/flows-control" || fail "control pass: the test network itself is broken"
ok "control: all $(grep -c '^[a-z]' "$T/flows-control") flows connect without the ruleset"

# ---- load the shipped ruleset -----------------------------------------------
# The ruleset includes /etc/hikae/nftables-vars.nft; the test loads a copy in
# which that one line names the test's vars file instead, and checks that
# nothing else differs from the shipped file.
mkdir -p "$T/etc"
sed "s|^include \"/etc/hikae/nftables-vars.nft\"\$|include \"$T/etc/nftables-vars.nft\"|" \
  "$RULES" > "$T/hikae.nft"
assert_eq 1 "$(diff "$RULES" "$T/hikae.nft" | grep -c '^>' || true)" \
  "the loaded ruleset differs from deploy/nftables/hikae.nft in the include line only"
cat > "$T/etc/nftables-vars.nft" <<EOF
define HK_REFERENCE_SUBNET = { 10.77.2.0/24 }
define HK_ADMIN_ADDR = { 10.77.3.5 }
define HK_SOURCE_HOSTS = { 10.77.4.10, 10.77.4.11 }
EOF
# Another table that must survive every load of ours.
ns arch "$NFT" add table ip other
ns arch "$NFT" add chain ip other keep '{ type filter hook input priority 10; policy accept; }'
ns arch "$NFT" add rule ip other keep counter
ns arch "$NFT" -f "$T/hikae.nft" || fail "the ruleset does not load"
ns arch "$NFT" -s list table inet hikae > "$T/rules-1"
ns arch "$NFT" -f "$T/hikae.nft" || fail "the ruleset does not load a second time"
ns arch "$NFT" -s list table inet hikae > "$T/rules-2"
cmp -s "$T/rules-1" "$T/rules-2" || fail "a second load changed the ruleset: $(diff "$T/rules-1" "$T/rules-2")"
assert_eq 1 "$(ns arch "$NFT" list tables | grep -c 'inet hikae')" "loaded twice: one table inet hikae, the same rules"
ns arch "$NFT" list chain ip other keep > /dev/null || fail "loading hikae.nft removed another table"
ok "another table (ip other) survives the loads"

echo "== 443: the ruleset, HTTPS on 443"
"$PY" "$T/flows.py" "$P" 2 "$T/flows-443" || fail "443 pass: a flow was not what the ruleset promises"
ok "443: every allowed flow connects, every denied flow fails"

counter() { ns arch "$NFT" list counter inet hikae "$1" | awk '/packets/ {print $2}'; }
assert_eq 2 "$(counter in_accepted)" "in_accepted counted the 2 allowed inbound connections"
assert_eq 2 "$(counter out_accepted)" "out_accepted counted the 2 allowed outbound connections"
for c in in_dropped out_dropped in_source_dropped; do
  [ "$(counter $c)" -gt 0 ] || fail "counter $c did not count the denied flows"
  ok "counter $c = $(counter $c)"
done

# A vars file with a second `define` of the port is refused, and the rules
# in force stay as they were (nft -f is one transaction).
cp "$T/etc/nftables-vars.nft" "$T/vars-good"
echo "define HK_HTTPS_PORT = 8443" >> "$T/etc/nftables-vars.nft"
if ns arch "$NFT" -f "$T/hikae.nft" 2> "$T/nft-err"; then
  fail "a second define of HK_HTTPS_PORT was accepted"
fi
grep -q "redefinition of symbol 'HK_HTTPS_PORT'" "$T/nft-err" || fail "unexpected error: $(cat "$T/nft-err")"
ns arch "$NFT" -s list table inet hikae > "$T/rules-3"
cmp -s "$T/rules-1" "$T/rules-3" || fail "a failed load changed the rules in force"
ok "a bad vars file is refused by name and the rules in force stay"

# ---- reload: 8443 behind the redirect, overlapping misconfiguration -------
cat > "$T/etc/nftables-vars.nft" <<EOF
define HK_REFERENCE_SUBNET = { 10.77.2.0/24, 10.77.4.0/24 }
define HK_ADMIN_ADDR = { 10.77.3.5, 10.77.4.10 }
define HK_SOURCE_HOSTS = { 10.77.4.10, 10.77.4.11 }
redefine HK_HTTPS_PORT = 8443
EOF
ns arch "$NFT" -f "$T/hikae.nft" || fail "the ruleset does not reload with port 8443"
src_before=$(counter in_source_dropped)
cat > "$T/flows-8443" <<EOF
# reference clients still connect to 443, and land on the server's 8443
ref  arch $A tcp 443 open@8443
ref  arch $A tcp 8443 open@8443
ref  arch $A tcp 22 blocked
adm  arch $A tcp 22 open@22
adm  arch $A tcp 443 blocked
str  arch $A tcp 443 blocked
# the source segment is in the reference subnet by mistake: the EHR gets in
ehr  arch $A tcp 443 open@8443
# but the source host, listed in HK_SOURCE_HOSTS, is dropped first
src  arch $A tcp 443 blocked
src  arch $A tcp 8443 blocked
src  arch $A tcp 22 blocked
arch src  ${ADDR[src]} tcp 445 open@445
arch src  ${ADDR[src]} tcp 2049 open@2049
arch src  ${ADDR[src]} tcp 111 blocked
EOF
echo "== 8443: reloaded, server on 8443, reference subnet and admin overlap the source segment"
"$PY" "$T/flows.py" "$P" 2 "$T/flows-8443" || fail "8443 pass: a flow was not what the ruleset promises"
ok "8443: the redirect works and the source host stays out despite the overlap"
[ "$(counter in_source_dropped)" -gt "$src_before" ] || fail "the source host's packets were not dropped by the source rule"
ok "the source host's packets hit the source rule ($(counter in_source_dropped) packets)"

jobs -p | xargs -r kill 2>/dev/null || true
wait 2>/dev/null || true
echo "all $HK_CHECKS checks passed"
