#!/usr/bin/env bash
# Two ranks on two "hosts": network namespaces joined by a veth pair, so that
# MPI's TCP transport crosses a real (virtual) link instead of shared memory
# or loopback, as it does between machines.
#
#   netns_test.sh DIST_WORKER [MPIRUN]
#
# mpirun runs in namespace A. Its remote-shell agent, which would be ssh
# between machines, is a small script that starts Open MPI's daemon in
# namespace B. Each side gets its own hostname (a UTS namespace), as two
# machines would have; Open MPI names the nodes after the --host entries, so
# it would manage without, but nothing should be able to take them for one.
# Needs root and iproute2; without them the test is skipped (exit 77).
set -euo pipefail

worker=${1:?usage: netns_test.sh DIST_WORKER [MPIRUN]}
mpirun=${2:-mpirun}

skip() {
  echo "SKIP: $*"
  exit 77
}
[[ $(id -u) -eq 0 ]] || skip "creating network namespaces needs root"
command -v ip >/dev/null || skip "no 'ip' command (Debian package iproute2)"
command -v unshare >/dev/null || skip "no 'unshare' command (Debian package util-linux)"
command -v "$mpirun" >/dev/null || skip "no mpirun ($mpirun)"

# Names unique to this run, so that runs side by side do not collide;
# interface names are at most 15 characters.
ns_a=redes_a_$$
ns_b=redes_b_$$
veth_a=rdsa$$
veth_b=rdsb$$
addr_a=10.231.0.1
addr_b=10.231.0.2
work=$(mktemp -d)

# shellcheck disable=SC2317  # run by the trap
cleanup() {
  # Processes left in the namespaces (a daemon of a failed run) would keep
  # them alive; they are this script's own children.
  local ns pids
  for ns in "$ns_a" "$ns_b"; do
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
    if ((${#pids[@]} > 0)); then kill -9 "${pids[@]}" 2>/dev/null || true; fi
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
# A signal (ctest's timeout) ends the script through exit, so cleanup runs.
trap 'exit 143' INT TERM

if ! ip netns add "$ns_a" 2>"$work/err"; then
  skip "cannot create a network namespace: $(cat "$work/err")"
fi
ip netns add "$ns_b"
if ! ip link add "$veth_a" netns "$ns_a" type veth peer name "$veth_b" netns "$ns_b" 2>"$work/err"; then
  skip "cannot create a veth pair: $(cat "$work/err")"
fi
ip -n "$ns_a" addr add "$addr_a/24" dev "$veth_a"
ip -n "$ns_b" addr add "$addr_b/24" dev "$veth_b"
for ns in "$ns_a" "$ns_b"; do
  ip -n "$ns" link set lo up
done
ip -n "$ns_a" link set "$veth_a" up
ip -n "$ns_b" link set "$veth_b" up

# The stand-in for ssh. Open MPI calls it as `agent [options] HOST COMMAND...`
# and, like ssh, expects a shell on HOST to run COMMAND (one string).
agent=$work/netns_agent.sh
cat >"$agent" <<EOF
#!/usr/bin/env bash
while [[ \$1 == -* ]]; do shift; done
host=\$1
shift
[[ \$host == $addr_b ]] || { echo "netns_agent: unknown host \$host" >&2; exit 255; }
exec ip netns exec $ns_b unshare --uts bash -c 'hostname redes-host-b && exec bash -c "\$1"' agent "\$*"
EOF
chmod +x "$agent"

# "RX bytes TX bytes" of A's end of the link (ip netns exec mounts the
# namespace's own /sys).
link_bytes() {
  ip netns exec "$ns_a" cat "/sys/class/net/$veth_a/statistics/rx_bytes" "/sys/class/net/$veth_a/statistics/tx_bytes" |
    tr '\n' ' '
  echo
}
read -r rx_before tx_before < <(link_bytes)

# Only the TCP transport and only this link, for both MPI's messages and
# Open MPI's own control channel.
net=10.231.0.0/24
start=$(date +%s.%N)
set +e
timeout 120 ip netns exec "$ns_a" unshare --uts bash -c 'hostname redes-host-a && exec "$@"' mpirun \
  "$mpirun" --allow-run-as-root --oversubscribe \
  --host "$addr_a:1,$addr_b:1" -np 2 \
  --mca plm_rsh_agent "$agent" \
  --mca btl tcp,self --mca btl_tcp_if_include "$net" --mca oob_tcp_if_include "$net" \
  "$worker" allreduce >"$work/out" 2>"$work/err"
status=$?
set -e
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
read -r rx_after tx_after < <(link_bytes)

cat "$work/out"
sed 's/^/stderr: /' "$work/err"
rx=$((rx_after - rx_before))
tx=$((tx_after - tx_before))
echo "mpirun exited $status after ${elapsed} s; $veth_a received $rx bytes, sent $tx bytes"

failed=0
check() {
  if "${@:2}"; then echo "PASS: $1"; else echo "FAIL: $1"; failed=1; fi
}
check "mpirun exits 0" test "$status" -eq 0
# Local rank 0 on both: Open MPI took them for two hosts.
check "rank 0 of 2 ok, alone on its host" grep -q "^rank 0 of 2: ok (local rank 0)" "$work/out"
check "rank 1 of 2 ok, alone on its host" grep -q "^rank 1 of 2: ok (local rank 0)" "$work/out"
# Any all-reduce of 1000003 float32 between two ranks moves at least the
# 4 MB of one copy each way (half to reduce, half of the result back); the
# control channel is a few kB. More than that each way means the
# collectives took the link.
check "collective data crossed the veth pair (>4 MB each way)" test "$rx" -gt 4000000 -a "$tx" -gt 4000000
exit "$failed"
