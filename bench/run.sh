#!/usr/bin/env bash
# bench/run.sh: uvs side by side with the kernel's nftables DNAT and HAProxy (mode tcp), on one
# network-namespace topology, under the same loads; prints a markdown table with ratios.
#
#   sudo bench/run.sh                         # what `make bench` runs after the Go benchmarks
#   sudo DUR=2 bench/run.sh                   # `make bench-quick`
#   sudo MODES="nft uvs" LOADS="tcp udp-200k" bench/run.sh
#
# Modes: route (plain kernel forwarding, the baseline), nft (DNAT, numgen inc mod 2: the stand-in
# for IPVS NAT rr, since this kernel has no ip_vs), haproxy (mode tcp, roundrobin), uvs (uvs run,
# NAT rr, owning the lb's two veths over AF_PACKET), uvs-dr and uvs-tun (the same with
# lb_kind = "DR" / "TUN": the servers hold the VIP and reply to the client directly; for TUN
# they run `uvs realserver`, since this kernel has no ipip either).
# Loads: http-close, http-ka (wrk, 2 x -t1 -c32), tcp (iperf3, one stream), udp-over (60-byte
# UDP flat out), udp-2x (2x the saturating load), udp-200k (CPU per packet at 200 kpps), and,
# not by default, tcp-synflood (one iperf3 stream alone and during a spoofed SYN flood at the
# saturating rate; modes nft, haproxy and uvs only).
# uvs-dr and uvs-tun run the loads in METHOD_LOADS only (the UDP ones unless told).
#
# Environment: DUR (s per run, 5), RUNS (runs per cell, median reported; 1), MODES, LOADS,
# METHOD_LOADS (udp-over udp-2x udp-200k), TUN_TYPE (ipip or gue), GUE_PORT (6080),
# BENCH_WORK (/tmp/uvs-bench), UVS_BIN (default: build ./bin/uvs), NS_PREFIX (uvsb), FLOWS (1024),
# FIXED_RATE (200000), DUR_PROBE (3), SWEEP, QUIET_IDLE (85), QUIET_MAX_WAIT (20),
# FOREIGN_MAX (10), MAX_ATTEMPTS (2), FLOOD_RATE (peak, or pps; 0: flat out), FLOOD_PORT (80),
# FLOOD_SRC (198.18.0.0/15), TCP_RATE (tcp-synflood's stream paced, iperf3 -b; unpaced), UVS_IPVS (uvs's [ipvs] keys, ';'-separated, e.g.
# "size = 65536; drop_entry = 1"), UVS_SYN_RING (the interfaces' syn_ring: true, false; uvs's default). docs/bench.md
# explains the method and the figures.
#
# Needs root, 2+ CPUs, Go. Installs haproxy nginx-light iperf3 wrk nftables conntrack iproute2
# when missing. Everything it starts runs in namespaces named $NS_PREFIX-*, and is stopped,
# and the namespaces removed, when it exits, fails or is interrupted.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

DUR="${DUR:-5}"
RUNS="${RUNS:-1}"
MODES="${MODES:-route nft haproxy uvs uvs-dr uvs-tun}"
LOADS="${LOADS:-http-close http-ka tcp udp-over udp-2x udp-200k}"
METHOD_LOADS="${METHOD_LOADS:-udp-over udp-2x udp-200k}"   # what uvs-dr and uvs-tun run
TUN_TYPE="${TUN_TYPE:-ipip}"
GUE_PORT="${GUE_PORT:-6080}"
FLOWS="${FLOWS:-1024}"
FIXED_RATE="${FIXED_RATE:-200000}"
DUR_PROBE="${DUR_PROBE:-3}"
SWEEP="${SWEEP:-0.2 0.3 0.45 0.65 0.8}"   # the udp-2x sweep, fractions of the flat-out offered rate
QUIET_IDLE="${QUIET_IDLE:-85}"
QUIET_MAX_WAIT="${QUIET_MAX_WAIT:-20}"
FOREIGN_MAX="${FOREIGN_MAX:-10}"      # % of a core used by other tenants before a run is retried
MAX_ATTEMPTS="${MAX_ATTEMPTS:-2}"
FLOOD_RATE="${FLOOD_RATE:-peak}"      # tcp-synflood: the SYN rate; peak: the lb's saturating rate, found by a sweep
FLOOD_PORT="${FLOOD_PORT:-80}"        # ... the VIP's port it floods
FLOOD_SRC="${FLOOD_SRC:-198.18.0.0/15}"   # ... the prefix of its spoofed sources (RFC 2544's benchmarking range)
TCP_RATE="${TCP_RATE:-}"              # ... its iperf3 stream paced (-b, e.g. 2G); unpaced when empty
UVS_IPVS="${UVS_IPVS:-}"              # uvs's [ipvs] table, keys separated by ';'
UVS_SYN_RING="${UVS_SYN_RING:-}"      # uvs's interfaces' syn_ring (true, false; empty: uvs's default)
BENCH_WORK="${BENCH_WORK:-/tmp/uvs-bench}"
RUN="$BENCH_WORK/run"
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS="$BENCH_WORK/results-$STAMP.md"
TSV="$RUN/results.tsv"
PKTGEN_BIN="$ROOT/bin/pktgen"
DEPS="haproxy nginx-light iperf3 wrk nftables conntrack iproute2"

for m in $MODES; do case "$m" in route|nft|haproxy|uvs|uvs-dr|uvs-tun) ;; *) die "unknown mode $m (route nft haproxy uvs uvs-dr uvs-tun)" ;; esac; done
for l in $LOADS $METHOD_LOADS; do case "$l" in http-close|http-ka|tcp|udp-over|udp-2x|udp-200k|tcp-synflood) ;;
  *) die "unknown load $l (http-close http-ka tcp udp-over udp-2x udp-200k tcp-synflood)" ;; esac; done
[[ "$FLOOD_RATE" = peak || "$FLOOD_RATE" =~ ^[0-9]+$ ]] || die "FLOOD_RATE must be peak or a rate in pps (0: flat out)"
if ! [[ "$FLOOD_PORT" =~ ^[0-9]+$ ]] || [ "$FLOOD_PORT" -lt 1 ] || [ "$FLOOD_PORT" -gt 65535 ]; then die "FLOOD_PORT must be a port"; fi
[ -z "$TCP_RATE" ] || [[ "$TCP_RATE" =~ ^[0-9]+[KMG]?$ ]] || die "TCP_RATE must be a rate as iperf3 -b takes it (2G, 500M)"
[[ "$FLOOD_SRC" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$ ]] || die "FLOOD_SRC must be an IPv4 prefix"
case "$TUN_TYPE" in ipip|gue) ;; *) die "TUN_TYPE must be ipip or gue" ;; esac
[[ "$DUR" =~ ^[0-9]+$ ]] && [ "$DUR" -ge 2 ] || die "DUR must be a whole number of seconds >= 2"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, AF_PACKET, nftables): sudo $0"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: the UDP loads put the generator on CPU0 and the lb path on CPU1"

# ---- tools and binaries --------------------------------------------------------------------
missing=""
for p in $DEPS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  log "installing:$missing"
  apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2
fi
command -v go >/dev/null || die "needs Go to build bin/uvs and bin/pktgen"
if [ -z "${UVS_BIN:-}" ]; then
  log "building bin/uvs and bin/pktgen"
  go build -o bin/uvs ./cmd/uvs
  UVS_BIN="$ROOT/bin/uvs"
  # which uvs the figures are of (read-only git queries)
  UVS_REV="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  GIT_OPTIONAL_LOCKS=0 git diff --quiet HEAD -- 2>/dev/null || UVS_REV="$UVS_REV with uncommitted changes"
else
  UVS_REV="$UVS_BIN"
  log "building bin/pktgen (uvs: $UVS_BIN)"
fi
go build -o "$PKTGEN_BIN" ./bench/pktgen
[ -x "$UVS_BIN" ] || die "UVS_BIN=$UVS_BIN is not executable"

# ---- set up, and tear everything down whatever happens ---------------------------------------
cleanup() {
  set +e
  trap - EXIT INT TERM
  local n
  for n in uvs uvs-timeout haproxy realserver1 realserver2 nginx1 nginx2 iperf3-1 iperf3-2; do stop "$n"; done
  topo_down
  local left=""; for n in "${NS_ALL[@]}"; do ns_exists "$n" && left="$left $n"; done
  [ -z "$left" ] || log "WARNING: namespaces left behind:$left"
}
# $RUN is ours to empty only if an earlier run of this script made it (it leaves a marker)
if [ -e "$RUN" ] && [ ! -e "$RUN/.uvs-bench" ]; then die "$RUN exists and was not made by bench/run.sh; set BENCH_WORK"; fi
rm -rf "$RUN"
mkdir -p "$RUN/pids"
touch "$RUN/.uvs-bench"
trap cleanup EXIT
trap 'log interrupted; exit 130' INT
trap 'log terminated; exit 143' TERM

log "topology $NS_PREFIX-{cli,lb,sw,rs1,rs2}; results under $BENCH_WORK"
topo_up
servers_up

# uvs_toml KIND: uvs's configuration with every service in forwarding method KIND (NAT, DR,
# TUN). DR and TUN cannot map ports: the servers listen on the VIP's (nginx on :80 too).
uvs_toml() {
  local kind=$1 web=":8080" tun=""
  [ "$kind" = NAT ] || web=""
  if [ "$kind" = TUN ]; then
    tun="tun_type = \"$TUN_TYPE\""
    [ "$TUN_TYPE" = gue ] && tun="$tun"$'\n'"tun_port = $GUE_PORT"
  fi
  cat <<EOF
# written by bench/run.sh: uvs owns ns $N_LB's l0 (client side, VIP home) and l1 (servers)
[[interface]]
name = "l0"
addresses = ["$LB_IP0/24"]
vnet_hdr = true
${UVS_SYN_RING:+syn_ring = $UVS_SYN_RING}
  # the SYN flood's spoofed sources (tcp-synflood): their replies go back to the client side
  [[interface.route]]
  prefix = "$FLOOD_SRC"
  via = "$CLI_IP"

[[interface]]
name = "l1"
addresses = ["$LB_IP1/24"]
vnet_hdr = true
${UVS_SYN_RING:+syn_ring = $UVS_SYN_RING}

[[virtual_server]]
address = "$VIP:80"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "$kind"
$tun
  [[virtual_server.real_server]]
  address = "$RS1$web"
  [[virtual_server.real_server]]
  address = "$RS2$web"

[[virtual_server]]
address = "$VIP:5201"
protocol = "tcp"
lb_algo = "rr"
lb_kind = "$kind"
$tun
  [[virtual_server.real_server]]
  address = "$RS1:5201"

[[virtual_server]]
address = "$VIP:9000"
protocol = "udp"
lb_algo = "rr"
lb_kind = "$kind"
$tun
  [[virtual_server.real_server]]
  address = "$RS1:9000"
  [[virtual_server.real_server]]
  address = "$RS2:9000"

[ipvs]
$(tr ';' '\n' <<<"$UVS_IPVS" | sed 's/^ *//')

# the harness's own socket (not /run/uvs/uvs.sock, which another uvs may hold), and the
# metrics that tcp-synflood reads, on ns lb's loopback
[control]
socket = "$RUN/uvs.sock"

[metrics]
listen = "127.0.0.1:9182"

[log]
level = "info"
format = "json"
EOF
}
# a uvs mode this uvs cannot run is left out, and the report says why
SKIPPED=""
skip_mode() {
  log "mode $1 left out: $2"; SKIPPED="$SKIPPED- $1: $2"$'\n'
  MODES=$(for m in $MODES; do [ "$m" = "$1" ] || printf '%s ' "$m"; done); MODES=${MODES% }
}
for m in $MODES; do
  case "$m" in uvs) k=NAT ;; uvs-dr) k=DR ;; uvs-tun) k=TUN ;; *) continue ;; esac
  uvs_toml "$k" >"$RUN/$m.toml"
  if ! "$UVS_BIN" conf check "$RUN/$m.toml" >"$RUN/$m.check" 2>&1; then
    [ "$m" = uvs ] && { cat "$RUN/$m.check" >&2; die "uvs refuses $RUN/$m.toml"; }
    skip_mode "$m" "uvs refuses lb_kind = \"$k\" ($(head -n1 "$RUN/$m.check"))"
  elif [ "$m" = uvs-tun ] && ! "$UVS_BIN" realserver -h >/dev/null 2>&1; then
    skip_mode "$m" "this uvs has no \`uvs realserver\` to terminate the tunnels (the kernel has no ipip)"
  fi
done

# ---- measurements --------------------------------------------------------------------------
printf 'mode\tload\trun\tstatus\tresult\tidle_before\tforeign\tcpu\n' >"$TSV"
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$TSV"; }

# measure MODE LOAD RUN: one cell, retried once when other tenants disturbed it
measure() {
  local mode=$1 load=$2 run=$3 tag pin="" attempt=1 idle kv rc status fo cpu
  case "$load" in http-*) tag=http ;; tcp) tag=tcp ;; tcp-synflood) tag=syn-during ;; *) tag=udp ;; esac
  if [ "$mode" = haproxy ] && [ "$tag" = udp ]; then record "$mode" "$load" "$run" n/a "" "" "" ""; return; fi
  # the SYN flood compares the three that load-balance TCP by NAT or proxy
  if [ "$load" = tcp-synflood ] && [[ " nft haproxy uvs " != *" $mode "* ]]; then record "$mode" "$load" "$run" n/a "" "" "" ""; return; fi
  if [[ "$mode" == uvs-* && " $METHOD_LOADS " != *" $load "* ]]; then record "$mode" "$load" "$run" n/a "" "" "" ""; return; fi
  is_uvs "$mode" && [[ "$tag" = udp || "$tag" = syn-* ]] && pin=1
  while :; do
    idle=$(quiet_wait)
    rm -f "$RUN/acct.$tag"
    status=ok kv=""
    # mode_up and the load run in subshells with errexit on: a failure marks the cell FAIL
    # and the run goes on with the next one
    set +e
    (set -e; mode_up "$mode" "$pin"); rc=$?
    if [ $rc != 0 ]; then
      status="FAIL:start"
    else
      [[ "$tag" = udp || "$tag" = syn-* ]] && rps on
      kv=$(set -e; case "$load" in
        http-close) load_http close "$mode" ;;
        http-ka) load_http ka "$mode" ;;
        tcp) load_tcp "$mode" ;;
        udp-over) load_udp_over "$mode" ;;
        udp-2x) load_udp_2x "$mode" ;;
        udp-200k) load_udp_fixed "$mode" ;;
        tcp-synflood) load_tcp_synflood "$mode" ;;
      esac)
      rc=$?
      kv=$(tail -n1 <<<"$kv")
      [ $rc = 0 ] || status="FAIL:error"
      if is_uvs "$mode" && ! alive uvs; then status="FAIL:uvs exited"; fi
    fi
    set -e
    mode_down
    # nothing forwarded is a failure, not a figure (tcp-synflood: nothing forwarded without
    # the flood; a stream starved by the flood is a figure)
    if [ "$status" = ok ] && awk -v kv="$kv" 'BEGIN{ n=split(kv,a,";"); for(i=1;i<=n;i++){ split(a[i],p,"="); v[p[1]]=p[2] }
        z = ("delivered" in v) ? v["delivered"]+0 : ("alone" in v) ? v["alone"]+0 : v["value"]+0; exit !(z==0) }'; then status="FAIL:zero"; fi
    fo=$(acct "$tag" foreign 2>/dev/null || true); cpu=$(acct "$tag" cpu 2>/dev/null || true)
    log "$mode $load run $run: $status $kv | $cpu"
    if [ "$status" != ok ] && is_uvs "$mode"; then
      log "uvs log (last 15 lines of $RUN/uvs.log):"; tail -n 15 "$RUN/uvs.log" >&2 || true
    fi
    if [ "$status" = ok ] && [ -n "$fo" ] && [ "${fo%.*}" -gt "$FOREIGN_MAX" ] && [ $attempt -lt "$MAX_ATTEMPTS" ]; then
      log "  other tenants used ${fo}% of a core during the run: once more"
      attempt=$((attempt + 1)); continue
    fi
    record "$mode" "$load" "$run" "$status" "$kv" "$idle" "${fo:-}" "${cpu:-}"
    return
  done
}

t_start=$SECONDS
for run in $(seq "$RUNS"); do
  rm -f "$RUN"/flat.* "$RUN"/flatd.*
  for load in $LOADS; do
    for mode in $MODES; do measure "$mode" "$load" "$run"; done
  done
done
elapsed=$((SECONDS - t_start))

# ---- the report ----------------------------------------------------------------------------
flood=()
if [[ " $LOADS " == *" tcp-synflood "* ]]; then
  flood=("FLOOD_RATE=$FLOOD_RATE" "FLOOD_PORT=$FLOOD_PORT" "FLOOD_SRC=$FLOOD_SRC")
  [ -z "$TCP_RATE" ] || flood+=("TCP_RATE=$TCP_RATE")
fi
{
  echo "# uvs side by side: $(date -u +'%Y-%m-%d %H:%M UTC')"
  echo
  echo "\`$(printf '%s ' "DUR=$DUR" "RUNS=$RUNS" "MODES=\"$MODES\"" "LOADS=\"$LOADS\"" "METHOD_LOADS=\"$METHOD_LOADS\"" "TUN_TYPE=$TUN_TYPE" ${flood[@]+"${flood[@]}"} ${UVS_IPVS:+"UVS_IPVS=\"$UVS_IPVS\""} ${UVS_SYN_RING:+"UVS_SYN_RING=$UVS_SYN_RING"})bench/run.sh\` ($((elapsed / 60)) min $((elapsed % 60)) s)"
  echo
  awk -F'\t' -v modes="$MODES" -v loads="$LOADS" -v fmax="$FOREIGN_MAX" -v fixed="$FIXED_RATE" -v tuntype="$TUN_TYPE" -v floodrate="$FLOOD_RATE" \
    -f "$ROOT/bench/report.awk" "$TSV"
  if [ -n "$SKIPPED" ]; then echo; echo "Not measured:"; echo; printf '%s' "$SKIPPED"; fi
  echo
  echo "uvs: $UVS_REV. Machine: $(nproc) × $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), Linux $(uname -r);" \
    "$(haproxy -v 2>/dev/null | awk 'NR==1{print "HAProxy", $3}'), nginx $(nginx -v 2>&1 | sed 's#.*/##'), $(wrk -v 2>&1 | awk 'NR==1{print "wrk", $2}')," \
    "$(iperf3 -v 2>/dev/null | awk 'NR==1{print "iperf3", $2}'), $(nft -v 2>/dev/null | awk '{print "nftables", $2}'), $(go version | awk '{print $3}')."
  echo
  echo "<details><summary>Every run: result and CPU split</summary>"
  echo
  echo '```'
  awk -F'\t' 'NR>1 && $4 != "n/a" { printf "%-8s %-10s run%s %-14s %s\n          idle before %s%%, foreign %s%% | %s\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$TSV"
  echo '```'
  echo "</details>"
  if grep -q $'\tFAIL' "$TSV"; then
    echo
    echo "## Failures"
    echo
    awk -F'\t' '$4 ~ /^FAIL/ { printf "- %s %s run %s: %s\n", $1, $2, $3, $4 }' "$TSV"
    if awk -F'\t' '$1 ~ /^uvs/ && $4 ~ /^FAIL/ {f=1} END{exit !f}' "$TSV"; then
      echo
      echo "uvs log ($RUN/uvs.log, last 40 lines):"
      echo
      echo '```'
      tail -n 40 "$RUN/uvs.log"
      echo '```'
    fi
  fi
} >"$RESULTS"
cp "$RESULTS" "$BENCH_WORK/results.md"
cp "$TSV" "$BENCH_WORK/results-$STAMP.tsv"
cat "$RESULTS"
log "results: $RESULTS (raw: $BENCH_WORK/results-$STAMP.tsv, logs: $RUN)"
