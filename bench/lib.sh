# bench/lib.sh: the topology, the modes, the loads and the CPU accounting of bench/run.sh.
# Sourced by run.sh, never run alone. docs/bench.md explains the method.
# shellcheck shell=bash disable=SC2034

# ---- names and addresses -------------------------------------------------------------------
NS_PREFIX="${NS_PREFIX:-uvsb}"
N_CLI="$NS_PREFIX-cli" N_LB="$NS_PREFIX-lb" N_SW="$NS_PREFIX-sw" N_RS1="$NS_PREFIX-rs1" N_RS2="$NS_PREFIX-rs2"
NS_ALL=("$N_CLI" "$N_LB" "$N_SW" "$N_RS1" "$N_RS2")
NS_MARK="uvs-bench-owned"   # alias on the lo of every namespace we create: proof of ownership
CLI_IP=10.0.1.2 LB_IP0=10.0.1.1 VIP=10.0.1.100 LB_IP1=10.0.2.1 RS1=10.0.2.11 RS2=10.0.2.12

# nsx NS CMD...: run CMD in NS. Background processes are started with `ip netns exec` itself,
# never through this function, so that $! is the command's PID (ip execs it) and not a subshell's.
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- process bookkeeping -------------------------------------------------------------------
# Every long-lived process we start has a file $RUN/pids/NAME holding "PID NAMESPACE". We stop
# them by PID, and only while the PID still lives in that namespace (a recycled PID is left alone).
pid_in_ns() { [ -e "/proc/$1" ] && [ "$(ip netns identify "$1" 2>/dev/null)" = "$2" ]; }
track() { echo "$2 $3" >"$RUN/pids/$1"; }           # track NAME PID NS
# stop NAME [SIG]: signal the tracked process, wait up to 5 s, then KILL it
stop() {
  local f="$RUN/pids/$1" sig=${2:-TERM} pid ns
  [ -f "$f" ] || return 0
  read -r pid ns <"$f"; rm -f "$f"
  pid_in_ns "$pid" "$ns" || return 0
  kill -s "$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 50); do pid_in_ns "$pid" "$ns" || return 0; sleep 0.1; done
  log "$1 (pid $pid) still alive 5 s after SIG$sig: KILL"
  kill -KILL "$pid" 2>/dev/null || true
}
alive() { local pid ns; [ -f "$RUN/pids/$1" ] && read -r pid ns <"$RUN/pids/$1" && pid_in_ns "$pid" "$ns"; }
pid_of() { local pid ns; read -r pid ns <"$RUN/pids/$1"; echo "$pid"; }

# ---- topology ------------------------------------------------------------------------------
#  ns cli              ns lb                        ns sw (bridge br0)        ns rs1 / rs2
#  c0 10.0.1.2/24 ──── l0 10.0.1.1/24 + VIP        ┌─ sw-rs1 ─────────────── eth0 10.0.2.11/24
#                      l1 10.0.2.1/24 ──── sw-lb ──┤
#  c1 (no address) ─────────────────────── sw-cli ─┴─ sw-rs2 ─────────────── eth0 10.0.2.12/24
# The kernel of ns lb holds 10.0.1.1, the VIP and 10.0.2.1 in modes route, nft and haproxy. In
# the uvs modes it holds nothing there: uvs owns l0 and l1 over AF_PACKET and takes those
# addresses. c1 is the direct return path of DR and TUN (the servers' replies to the client
# bypass the lb): in those modes only, the servers hold the VIP on lo and reach 10.0.1.0/24 on
# their own segment, where the client's kernel answers ARP for 10.0.1.2 on c1. Otherwise
# nothing is sent to c1.
ns_exists() { [ -e "/run/netns/$1" ]; }
ns_owned() { ip -n "$1" link show lo 2>/dev/null | grep -q "alias $NS_MARK\$"; }

topo_down() {
  local ns pid
  for ns in "${NS_ALL[@]}"; do
    ns_exists "$ns" || continue
    if ! ns_owned "$ns"; then log "namespace $ns is not ours (no $NS_MARK marker): left alone"; continue; fi
    # whatever still runs in a namespace of ours was started by us
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    for _ in $(seq 30); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.1; done
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}

topo_up() {
  local ns
  for ns in "${NS_ALL[@]}"; do
    if ns_exists "$ns" && ! ns_owned "$ns"; then
      die "namespace $ns exists and is not ours; remove it or set NS_PREFIX"
    fi
  done
  topo_down   # leftovers of an interrupted run of ours
  for ns in "${NS_ALL[@]}"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo alias "$NS_MARK"
    ip -n "$ns" link set lo up
    nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
      net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  done
  ip link add c0 netns "$N_CLI" type veth peer name l0 netns "$N_LB"
  ip link add l1 netns "$N_LB" type veth peer name sw-lb netns "$N_SW"
  ip link add eth0 netns "$N_RS1" type veth peer name sw-rs1 netns "$N_SW"
  ip link add eth0 netns "$N_RS2" type veth peer name sw-rs2 netns "$N_SW"
  ip link add c1 netns "$N_CLI" type veth peer name sw-cli netns "$N_SW"

  nsx "$N_SW" ip link add br0 type bridge forward_delay 0 stp_state 0
  local p
  for p in sw-lb sw-rs1 sw-rs2 sw-cli; do nsx "$N_SW" ip link set "$p" master br0 up; done
  nsx "$N_SW" ip link set br0 up

  nsx "$N_CLI" ip addr add "$CLI_IP/24" dev c0
  nsx "$N_CLI" ip link set c0 up
  nsx "$N_CLI" ip link set c1 up
  nsx "$N_CLI" ip route add default via "$LB_IP0"
  # tcp-synflood: the spoofed sources' replies (SYN-ACKs from the servers or from the lb's
  # kernel, routed back to the client side) end here, counted; and fsink, a veth whose peer
  # drops everything at ingress, where the generator sends the control run's frames (this
  # kernel has no dummy devices)
  nsx "$N_CLI" ip link add fsink type veth peer name fsink-end
  nsx "$N_CLI" ip link set fsink up
  nsx "$N_CLI" ip link set fsink-end up
  nsx "$N_CLI" nft -f - <<EOF
table netdev uvsb_absorb {
  counter replies { }
  chain c0 { type filter hook ingress device "c0" priority -300; policy accept;
    ip daddr $FLOOD_SRC counter name replies drop
  }
  chain sink { type filter hook ingress device "fsink-end" priority -300; policy drop; }
}
EOF
  nsx "$N_LB" sysctl -qw net.ipv6.conf.l0.disable_ipv6=1 net.ipv6.conf.l1.disable_ipv6=1
  nsx "$N_LB" ip link set l0 up
  nsx "$N_LB" ip link set l1 up
  lb_kernel_addrs on
  local i=0 rs
  for rs in "$N_RS1" "$N_RS2"; do
    i=$((i + 1))
    nsx "$rs" ip addr add "10.0.2.$((10 + i))/24" dev eth0
    nsx "$rs" ip link set eth0 up
    nsx "$rs" ip route add default via "$LB_IP1"
  done
  for ns in "$N_CLI" "$N_LB" "$N_RS1" "$N_RS2"; do
    nsx "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1 \
      net.core.somaxconn=16384 net.ipv4.tcp_max_syn_backlog=16384
  done
  L0_MAC=$(nsx "$N_LB" cat /sys/class/net/l0/address)
}

# lb_kernel_addrs on|off: the kernel of ns lb holds (or gives up) the lb's addresses
lb_kernel_addrs() {
  if [ "$1" = on ]; then
    nsx "$N_LB" ip addr replace "$LB_IP0/24" dev l0
    nsx "$N_LB" ip addr replace "$VIP/32" dev l0
    nsx "$N_LB" ip addr replace "$LB_IP1/24" dev l1
    # the SYN flood's spoofed sources live on the client side (their replies end in ns cli)
    nsx "$N_LB" ip route replace "$FLOOD_SRC" via "$CLI_IP"
    nsx "$N_LB" sysctl -qw net.ipv4.ip_forward=1
  else
    nsx "$N_LB" sysctl -qw net.ipv4.ip_forward=0
    nsx "$N_LB" ip addr flush dev l0
    nsx "$N_LB" ip addr flush dev l1
  fi
}

# rps on|off: steer ns lb's receive processing on l0 to CPU1 (the generator owns CPU0)
rps() { local m=0; [ "$1" = on ] && m=2; nsx "$N_LB" sh -c "echo $m >/sys/class/net/l0/queues/rx-0/rps_cpus"; }

# direct_return on|off: DR and TUN (see the topology): the servers hold the VIP on lo and
# reply to the client straight over their segment, to c1
direct_return() {
  local rs
  for rs in "$N_RS1" "$N_RS2"; do
    if [ "$1" = on ]; then
      nsx "$rs" ip addr replace "$VIP/32" dev lo
      nsx "$rs" ip route replace "${CLI_IP%.*}.0/24" dev eth0
    else
      nsx "$rs" ip route del "${CLI_IP%.*}.0/24" dev eth0 2>/dev/null || true
      nsx "$rs" ip addr del "$VIP/32" dev lo 2>/dev/null || true
    fi
  done
}

# ---- real servers --------------------------------------------------------------------------
# nginx (1 worker, a 64-byte body) on :8080 (and :80, for DR and TUN, which cannot map ports),
# iperf3 on :5201, and an nft counter + drop for udp/9000 at prerouting: the UDP packets that
# reach a server are counted there (for TUN: the inner packets, when uvs realserver hands
# them to the kernel through its TUN device).
servers_up() {
  local i=0 rs d
  for rs in "$N_RS1" "$N_RS2"; do
    i=$((i + 1)); d="$RUN/rs$i"; mkdir -p "$d"
    # tw_buckets=0: nginx closes first; a TIME_WAIT left by one mode would PAWS-reject the
    # SYNs of the next (same 4-tuple at the server, other timestamps)
    nsx "$rs" sysctl -qw net.ipv4.tcp_max_tw_buckets=0
    # as a DR / TUN real server must (the LVS howtos): never answer ARP for the VIP (held on
    # lo in those modes), never use it as an ARP source; nothing else here relies on either
    nsx "$rs" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    cat >"$d/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/nginx.err warn;
events { worker_connections 16384; multi_accept on; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $d; proxy_temp_path $d; fastcgi_temp_path $d; uwsgi_temp_path $d; scgi_temp_path $d;
  server {
    listen 8080 reuseport backlog=16384;
    listen 80 reuseport backlog=16384;
    default_type text/plain;
    location / { return 200 "rs$i: a 64-byte answer from the real server behind the VIP.....\n"; }
  }
}
EOF
    ip netns exec "$rs" nginx -c "$d/nginx.conf" </dev/null >>"$d/nginx.out" 2>&1 &
    track "nginx$i" $! "$rs"
    ip netns exec "$rs" iperf3 -s -p 5201 </dev/null >>"$d/iperf3.out" 2>&1 &
    track "iperf3-$i" $! "$rs"
    nsx "$rs" nft -f - <<EOF
table inet uvsb_sink {
  counter udp9000 { }
  chain pre { type filter hook prerouting priority -300; policy accept;
    udp dport 9000 counter name udp9000 drop
  }
}
EOF
  done
  sleep 0.5
  for i in 1 2; do alive "nginx$i" && alive "iperf3-$i" || die "a real server did not start; see $RUN/rs$i"; done
}

# ---- modes ---------------------------------------------------------------------------------
# is_uvs MODE: one of uvs's forwarding methods (uvs: NAT, uvs-dr: DR, uvs-tun: TUN)
is_uvs() { case "$1" in uvs|uvs-dr|uvs-tun) return 0 ;; esac; return 1; }

# realservers_up: `uvs realserver` in rs1 and rs2, terminating uvs's tunnels (this kernel has no
# ipip module) into a TUN device; pinned to CPU0, with the generator, so that CPU1 carries the
# lb path alone, as in the other modes. Ready when both TUN devices exist.
realservers_up() {
  local i=0 rs args=(--tun-type "$TUN_TYPE") pids=()
  [ "$TUN_TYPE" = gue ] && args+=(--gue-port "$GUE_PORT")
  for rs in "$N_RS1" "$N_RS2"; do
    i=$((i + 1))
    echo "--- uvs realserver --vip $VIP ${args[*]} at $(date +%T)" >>"$RUN/rs$i/realserver.log"
    ip netns exec "$rs" taskset -c 0 "$UVS_BIN" realserver --vip "$VIP" "${args[@]}" --log-format json \
      </dev/null >>"$RUN/rs$i/realserver.log" 2>&1 &
    track "realserver$i" $! "$rs"
    pids+=($!)
  done
  for _ in $(seq 50); do
    ip -n "$N_RS1" link show uvsrs0 >/dev/null 2>&1 && ip -n "$N_RS2" link show uvsrs0 >/dev/null 2>&1 && return 0
    # (not `alive`: a process just started may not have entered its namespace yet)
    kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null || break
    sleep 0.1
  done
  log "uvs realserver did not start (see $RUN/rs1/realserver.log, $RUN/rs2/realserver.log)"
  return 1
}

# mode_up MODE PIN: put ns lb in MODE. PIN is a CPU list for uvs (UDP loads) or empty.
mode_up() {
  local mode=$1 pin=$2
  case "$mode" in
    route) lb_kernel_addrs on ;;
    nft)
      lb_kernel_addrs on
      nsx "$N_LB" nft -f - <<EOF
table ip uvsb_nat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $VIP tcp dport 80 dnat to numgen inc mod 2 map { 0 : $RS1, 1 : $RS2 } : 8080
    ip daddr $VIP tcp dport 5201 dnat to $RS1 : 5201
    ip daddr $VIP udp dport 9000 dnat to numgen inc mod 2 map { 0 : $RS1, 1 : $RS2 } : 9000
  }
}
EOF
      ;;
    haproxy)
      lb_kernel_addrs on
      cat >"$RUN/haproxy.cfg" <<EOF
global
  maxconn 8000
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend http
  bind $VIP:80
  default_backend web
backend web
  balance roundrobin
  server rs1 $RS1:8080
  server rs2 $RS2:8080
frontend bulk
  bind $VIP:5201
  default_backend iperf
backend iperf
  server rs1 $RS1:5201
EOF
      ip netns exec "$N_LB" haproxy -db -f "$RUN/haproxy.cfg" </dev/null >>"$RUN/haproxy.log" 2>&1 &
      track haproxy $! "$N_LB"
      ;;
    uvs|uvs-dr|uvs-tun)
      if [ "$mode" != uvs ]; then direct_return on; fi
      if [ "$mode" = uvs-tun ]; then realservers_up; fi
      lb_kernel_addrs off
      # The kernel keeps out of uvs's interfaces: it drops everything at ingress. AF_PACKET
      # taps see frames before the ingress hook, so uvs still receives them all.
      nsx "$N_LB" nft -f - <<EOF
table netdev uvsb_keepout {
  chain l0 { type filter hook ingress device "l0" priority 0; policy drop; }
  chain l1 { type filter hook ingress device "l1" priority 0; policy drop; }
}
EOF
      local taskset=()
      [ -n "$pin" ] && taskset=(taskset -c "$pin")
      echo "--- uvs run -c $RUN/$mode.toml${pin:+ (cpus $pin)} at $(date +%T)" >>"$RUN/uvs.log"
      ip netns exec "$N_LB" ${taskset[@]+"${taskset[@]}"} timeout -k 5 900 "$UVS_BIN" run -c "$RUN/$mode.toml" \
        </dev/null >>"$RUN/uvs.log" 2>&1 &
      track uvs-timeout $! "$N_LB"
      # `timeout` forks uvs: track the child, which gets the SIGTERM
      local tp=$! up=""
      for _ in $(seq 50); do
        up=$(cat "/proc/$tp/task/$tp/children" 2>/dev/null | awk '{print $1}')
        [ -n "$up" ] && break; sleep 0.05
      done
      [ -n "$up" ] || { log "uvs did not start"; return 1; }
      track uvs "$up" "$N_LB"
      ;;
    *) die "unknown mode $mode" ;;
  esac
  vip_ready "$mode"
}

mode_down() {
  stop uvs; stop uvs-timeout; stop haproxy; stop realserver1; stop realserver2
  direct_return off
  nsx "$N_LB" nft delete table ip uvsb_nat 2>/dev/null || true
  nsx "$N_LB" nft delete table netdev uvsb_keepout 2>/dev/null || true
  nsx "$N_LB" conntrack -F >/dev/null 2>&1 || true
  lb_kernel_addrs on
  rps off
}

# http_get HOST PORT: one HTTP/1.0 GET from ns cli; prints the status line
http_get() {
  nsx "$N_CLI" timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "GET / HTTP/1.0\r\n\r\n" >&3 && head -n1 <&3' "$1" "$2" 2>/dev/null || true
}
# vip_ready MODE: wait (10 s at most) until the service answers four times in a row (rr: both servers)
vip_ready() {
  local host=$VIP port=80 ok=0 end=$((SECONDS + 10))
  [ "$1" = route ] && { host=$RS1; port=8080; }
  while [ $SECONDS -lt $end ]; do
    if is_uvs "$1" && ! alive uvs; then log "uvs exited during startup"; return 1; fi
    if http_get "$host" "$port" | grep -q ' 200'; then ok=$((ok + 1)); [ $ok -ge 4 ] && return 0; else ok=0; fi
    sleep 0.1
  done
  log "mode $1: $host:$port never answered"
  return 1
}

# ---- CPU accounting ------------------------------------------------------------------------
# From /proc/stat (per CPU: user+nice, system, irq+softirq, idle+iowait, steal) and from every
# process's utime+stime in /proc/PID/stat. The kernel samples both by tick (250 Hz here, in
# USER_HZ=100 units); softirq work that interrupts a process is charged to that process too.
# "foreign" is the CPU of processes that are neither ours (in our namespaces, or this script's
# helpers) nor kernel threads: other tenants of the machine.
OWN_HELPERS='bash|sh|sleep|awk|mawk|gawk|cat|stat|ip|nft|timeout|taskset|date|grep|sort|seq|sysctl|conntrack|head|tail|sed|paste|make|tee|env|run.sh'
_ns_inodes() { local ns; for ns in "${NS_ALL[@]}"; do stat -L -c %i "/run/netns/$ns"; done | paste -sd, -; }
_snapshot() {  # $1 = file prefix
  grep -E '^cpu[0-9]+ ' /proc/stat >"$1.stat"
  date +%s.%N >"$1.t"
  # "pid comm ticks is_kthread", then "ns pid inode"; cat skips processes that exit meanwhile
  cat /proc/[0-9]*/stat 2>/dev/null |
    awk '{ s=$0; i=index(s,"("); j=0; for(k=length(s);k>0;k--) if(substr(s,k,1)==")"){j=k;break}
           c=substr(s,i+1,j-i-1); gsub(/[ \t]/,"_",c); split(substr(s,j+2),a," ");
           print $1, c, a[12]+a[13], int(a[7]/2097152)%2 }' >"$1.ticks" || true
  stat -c '%N' /proc/[0-9]*/ns/net 2>/dev/null | tr -d "'" |
    awk '{ split($1,p,"/"); n=$3; gsub(/[^0-9]/,"",n); print "ns", p[3], n }' >>"$1.ticks" || true
}
acct_begin() { _snapshot "$RUN/acct.$1.0"; }
# acct_end TAG: writes $RUN/acct.TAG (k=v lines: secs busy0 busy1 sirq1 uvs foreign cpu) and
# prints the human summary ("cpu0 busy=..% (usr=..% sys=..% sirq=..%) | cpu1 ... | top: ... | foreign=..%")
acct_end() {
  local t=$1 a="$RUN/acct.$1.0" b="$RUN/acct.$1.1" uvs_pid=""
  _snapshot "$b"
  alive uvs && uvs_pid=$(pid_of uvs)
  awk -v t0="$(cat "$a.t")" -v t1="$(cat "$b.t")" -v own="^($OWN_HELPERS)\$" -v nsin="$(_ns_inodes)" \
      -v uvs="$uvs_pid" -v hz=100 -v out="$RUN/acct.$t" '
    FILENAME ~ /\.0\.stat$/ { for(i=2;i<=NF;i++) s0[$1,i]=$i; next }
    FILENAME ~ /\.1\.stat$/ { cpus[++nc]=$1; for(i=2;i<=NF;i++) s1[$1,i]=$i; next }
    # by PID: a kworker renames itself after the work it runs
    FILENAME ~ /\.0\.ticks$/ { if($1=="ns") next; k0[$1]=$3; next }
    FILENAME ~ /\.1\.ticks$/ { if($1=="ns"){ nsof[$2]=$3; next } comm[$1]=$2; k1[$1]=$3; kth[$1]=$4; next }
    END {
      secs=t1-t0; if(secs<=0) secs=1
      split(nsin, ni, ","); for(i in ni) ours[ni[i]]=1
      line=""
      # busy = 1 - (idle+steal)/elapsed: idle is measured exactly (NOHZ idle sleep time), while the
      # user/system/softirq split is sampled by the tick, which is off while a CPU idles, so
      # softirq work run straight out of idle (RPS IPIs) would go unsampled
      tot=secs*hz
      for(c=1;c<=nc;c++){ n=cpus[c]
        d[2]=0; for(i=2;i<=11;i++) d[i]=s1[n,i]-s0[n,i]
        u=d[2]+d[3]; sy=d[4]; id=d[5]+d[6]; si=d[7]+d[8]
        b=1-(id+d[9])/tot; if(b<0) b=0; if(b>1) b=1   # d[9]: steal time
        busy[n]=b; sirq[n]=si/tot
        ts=u+sy+id+si+d[9]; sbusy[n]=(ts>0)?(u+sy+si)/ts:0   # the tick-sampled share, for comparison
        line=line sprintf("%s busy=%.0f%% (usr=%.0f%% sys=%.0f%% sirq=%.0f%%) | ", n, 100*b, 100*u/tot, 100*sy/tot, 100*si/tot)
      }
      foreign=0; uvsd=0
      for(p in k1){ dt=k1[p]-((p in k0)?k0[p]:0); if(dt<=0) continue
        c=comm[p]; if(kth[p]==1) sub(/-.*/,"",c)   # kworker/1:1H-kblockd -> kworker/1:1H
        if(p==uvs) uvsd+=dt
        if(kth[p]==1 || (nsof[p] in ours) || c ~ own) { top[c]+=dt } else { foreign+=dt; top[c "*"]+=dt }
      }
      nt=0; for(c in top){ nt++; tc[nt]=c; tv[nt]=top[c] }
      for(i=1;i<=nt;i++) for(j=i+1;j<=nt;j++) if(tv[j]>tv[i]){ x=tv[i]; tv[i]=tv[j]; tv[j]=x; x=tc[i]; tc[i]=tc[j]; tc[j]=x }
      line=line "top:"; for(i=1;i<=nt && i<=7;i++) if(100*tv[i]/hz/secs>=3) line=line sprintf(" %s=%.0f%%", tc[i], 100*tv[i]/hz/secs)
      line=line sprintf(" | foreign=%.0f%%", 100*foreign/hz/secs)
      printf "secs=%.3f\nbusy0=%.4f\nbusy1=%.4f\nsbusy1=%.4f\nsirq1=%.4f\nuvs=%.4f\nforeign=%.1f\ncpu=%s\n", secs, busy["cpu0"], busy["cpu1"], sbusy["cpu1"], sirq["cpu1"], uvsd/hz/secs, 100*foreign/hz/secs, line > out
      print line
    }' "$a.stat" "$b.stat" "$a.ticks" "$b.ticks"
  rm -f "$a".* "$b".*
}
acct() { sed -n "s/^$2=//p" "$RUN/acct.$1"; }   # acct TAG KEY

# ---- the quiet machine ---------------------------------------------------------------------
# Before each measurement, wait (QUIET_MAX_WAIT s at most) until the machine is QUIET_IDLE %
# idle over one second: other tenants' builds would otherwise land in our numbers.
idle_1s() {
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat); sleep 1
  b=$(awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat)
  echo "$a $b" | awk '{t=$3-$1; if(t<=0)t=1; printf "%.0f\n", 100*($4-$2)/t}'
}
quiet_wait() {
  local start=$SECONDS idle
  while :; do
    idle=$(idle_1s)
    [ "$idle" -ge "$QUIET_IDLE" ] && { echo "$idle"; return 0; }
    if [ $((SECONDS - start)) -ge "$QUIET_MAX_WAIT" ]; then
      log "machine still busy (idle $idle %) after ${QUIET_MAX_WAIT}s: measuring anyway"; echo "$idle"; return 0
    fi
  done
}

# window DUR: prints "begin end", the part of a run measured (ramp-up and tail left out)
window() { awk -v d="$1" 'BEGIN{ if(d>=4) printf "1 %.2f\n", d-0.5; else printf "0.5 %.2f\n", d-0.25 }'; }
sleep_until() { local left; left=$(awk -v t="$1" -v s="$2" -v n="$(date +%s.%N)" 'BEGIN{x=s+t-n; print (x>0)?x:0}'); sleep "$left"; }

# ---- loads ---------------------------------------------------------------------------------
# Each load prints one result as k=v pairs separated by ';' on stdout (the last line).

# load_http close|ka MODE: two wrk processes, -t1 -c32 each, for DUR seconds
load_http() {
  local style=$1 mode=$2 u1 u2 hdr=()
  if [ "$mode" = route ]; then u1="http://$RS1:8080/" u2="http://$RS2:8080/"; else u1="http://$VIP/" u2="http://$VIP/"; fi
  [ "$style" = close ] && hdr=(-H 'Connection: close')
  nsx "$N_LB" conntrack -F >/dev/null 2>&1 || true
  local w0 w1 s; read -r w0 w1 <<<"$(window "$DUR")"; s=$(date +%s.%N)
  ip netns exec "$N_CLI" timeout $((DUR + 10)) wrk -t1 -c32 -d"${DUR}s" --latency ${hdr[@]+"${hdr[@]}"} "$u1" >"$RUN/wrk1.out" 2>&1 &
  local p1=$!
  ip netns exec "$N_CLI" timeout $((DUR + 10)) wrk -t1 -c32 -d"${DUR}s" --latency ${hdr[@]+"${hdr[@]}"} "$u2" >"$RUN/wrk2.out" 2>&1 &
  local p2=$!
  sleep_until "$w0" "$s"; acct_begin http; sleep_until "$w1" "$s"; acct_end http >/dev/null
  wait "$p1" "$p2" || true
  cat "$RUN/wrk1.out" "$RUN/wrk2.out" >>"$RUN/wrk.log"
  cat "$RUN/wrk1.out" "$RUN/wrk2.out" | awk '
    function ms(v){ if(v ~ /us$/){sub(/us$/,"",v); return v/1000} if(v ~ /ms$/){sub(/ms$/,"",v); return v} if(v ~ /s$/){sub(/s$/,"",v); return v*1000} return v }
    /^Requests\/sec/ { r+=$2; n++ }
    $1=="99%" { v=ms($2); if(v>p) p=v }
    /Socket errors/ { gsub(/,/,""); e+=$4+$6+$8+$10 }
    /Non-2xx/ { e+=$NF }
    END { if(n<2) r=0; printf "value=%.0f;p99=%.2f;errors=%d\n", r, p, e }'
}

# load_tcp MODE: one iperf3 stream through the lb for DUR seconds (the first one left out)
load_tcp() {
  local tgt=$VIP; [ "$1" = route ] && tgt=$RS1
  local s; s=$(date +%s.%N)   # iperf3 runs DUR + 1 s; the CPU window skips the first 1.5 s
  ip netns exec "$N_CLI" timeout $((DUR + 15)) iperf3 -c "$tgt" -p 5201 -t "$DUR" -O 1 -f g >"$RUN/iperf3.out" 2>&1 &
  local p=$!
  sleep_until 1.5 "$s"; acct_begin tcp; sleep_until "$DUR.5" "$s"; acct_end tcp >/dev/null
  wait "$p" || true
  cat "$RUN/iperf3.out" >>"$RUN/iperf3.log"
  awk '/receiver/ { for(i=1;i<=NF;i++) if($i=="Gbits/sec") g=$(i-1) }
       /sender/   { for(i=1;i<=NF;i++) if($i=="Gbits/sec") r=$(i+1) }
       END { printf "value=%.2f;retrans=%d\n", g+0, r+0 }' "$RUN/iperf3.out"
}

# udp_run MODE RATE SECS TAG: the generator on CPU0 (flat out if RATE is 0) for SECS seconds;
# measures offered pps (c0's tx_packets + tx_dropped: all the generator handed to the veth),
# delivered pps (the rs1 + rs2 sink counters), forwarded pps (l1_count) and the CPU (acct TAG).
# Prints "offered delivered forwarded".
rs_count() {
  local n1 n2
  n1=$(nsx "$N_RS1" nft list counter inet uvsb_sink udp9000 | awk '/packets/{print $2}')
  n2=$(nsx "$N_RS2" nft list counter inet uvsb_sink udp9000 | awk '/packets/{print $2}')
  echo $((n1 + n2))
}
# l1_count: frames the lb sent towards the servers (l1 tx_packets + tx_dropped): what it
# forwarded, including what the servers' side then dropped
l1_count() { nsx "$N_LB" awk '{s+=$1} END{print s}' /sys/class/net/l1/statistics/tx_packets /sys/class/net/l1/statistics/tx_dropped; }
c0_count() { nsx "$N_CLI" awk '{s+=$1} END{print s}' /sys/class/net/c0/statistics/tx_packets /sys/class/net/c0/statistics/tx_dropped; }
udp_run() {
  local mode=$1 rate=$2 secs=$3 tag=$4 dsts=$VIP batch=64
  [ "$mode" = route ] && dsts="$RS1,$RS2"
  # paced runs send small bursts: a 64-frame burst at a few hundred kpps already overflows the
  # 1000-packet backlog of the receiving CPU now and then
  [ "$rate" != 0 ] && batch=16
  nsx "$N_LB" conntrack -F >/dev/null 2>&1 || true
  local w0 w1 s; read -r w0 w1 <<<"$(window "$secs")"
  s=$(date +%s.%N)
  ip netns exec "$N_CLI" timeout -k 2 $((secs + 5)) taskset -c 0 "$PKTGEN_BIN" -i c0 -dmac "$L0_MAC" -src "$CLI_IP" -dst "$dsts" \
    -flows "$FLOWS" -size 60 -batch "$batch" -rate "$rate" -dur "${secs}s" >>"$RUN/pktgen.log" 2>&1 &
  local p=$! o0 o1 d0 d1 f0 f1 t0 t1
  sleep_until "$w0" "$s"
  t0=$(date +%s.%N); o0=$(c0_count); f0=$(l1_count); d0=$(rs_count); acct_begin "$tag"
  sleep_until "$w1" "$s"
  t1=$(date +%s.%N); o1=$(c0_count); f1=$(l1_count); d1=$(rs_count); acct_end "$tag" >/dev/null
  wait "$p" || true
  awk -v o0="$o0" -v o1="$o1" -v d0="$d0" -v d1="$d1" -v f0="$f0" -v f1="$f1" -v t0="$t0" -v t1="$t1" \
    'BEGIN{ t=t1-t0; printf "%.0f %.0f %.0f\n", (o1-o0)/t, (d1-d0)/t, (f1-f0)/t }'
}

# load_udp_over MODE: flat out; value = delivered pps
load_udp_over() {
  local o d f; read -r o d f <<<"$(udp_run "$1" 0 "$DUR" udp)"
  echo "$o" >"$RUN/flat.$1"; echo "$d" >"$RUN/flatd.$1"
  printf 'value=%s;offered=%s;forwarded=%s;busy1=%s\n' "$d" "$o" "$f" "$(acct udp busy1)"
}

# load_udp_2x MODE: the saturating load is the peak delivered rate P (offered at P, the lb
# just keeps up). Find P with a sweep of paced rates (fractions of the generator's flat-out
# rate) plus the flat-out run, then offer 2 P (or flat out, if the generator cannot reach it)
# for DUR seconds. value = delivered at 2 P as % of P.
# A probe's delivered rate counts at most its offered rate: near saturation the lb's queues
# (uvs's receive ring) can drain into a short window.
load_udp_2x() {
  local mode=$1 o o2 d f peak=0 sweep="" x rate flat=0
  if [ -s "$RUN/flat.$mode" ] && [ -s "$RUN/flatd.$mode" ]; then
    o=$(cat "$RUN/flat.$mode"); peak=$(cat "$RUN/flatd.$mode"); sweep="flat:$o>$peak"
  else
    read -r o d f <<<"$(udp_run "$mode" 0 "$DUR_PROBE" probe)"; peak=$d; sweep="flat:$o>$d"
  fi
  for x in $SWEEP; do
    rate=$(awk -v o="$o" -v x="$x" 'BEGIN{printf "%.0f", o*x}')
    read -r o2 d f <<<"$(udp_run "$mode" "$rate" "$DUR_PROBE" probe)"
    sweep="$sweep,$o2>$d"
    d=$(( d < o2 ? d : o2 ))
    [ "$d" -gt "$peak" ] && peak=$d
  done
  rate=$((2 * peak))
  # beyond the generator's reach: flat out, and the report says which multiple it reached
  if [ "$(awk -v r="$rate" -v o="$o" 'BEGIN{print (r >= 0.95*o)}')" = 1 ]; then rate=0; flat=1; fi
  read -r o2 d f <<<"$(udp_run "$mode" "$rate" "$DUR" udp)"
  # the peak is the most ever delivered, this run included
  x=$(( d < o2 ? d : o2 )); [ "$x" -gt "$peak" ] && peak=$x
  printf 'value=%s;peak=%s;offered=%s;delivered=%s;forwarded=%s;load=%s;flat=%s;sweep=%s\n' \
    "$(awk -v d="$d" -v p="$peak" 'BEGIN{printf "%.1f", (p>0)?100*d/p:0}')" "$peak" "$o2" "$d" "$f" \
    "$(awk -v o="$o2" -v p="$peak" 'BEGIN{printf "%.2f", (p>0)?o/p:0}')" "$flat" "$sweep"
}

# load_udp_fixed MODE: paced at FIXED_RATE; value = CPU µs per delivered packet, from the
# busy share of CPU1, which carries the whole lb path (RPS; uvs is pinned there)
load_udp_fixed() {
  local o d f; read -r o d f <<<"$(udp_run "$1" "$FIXED_RATE" "$DUR" udp)"
  local b1 sb1 u; b1=$(acct udp busy1); sb1=$(acct udp sbusy1); u=$(acct udp uvs)
  awk -v o="$o" -v d="$d" -v b="$b1" -v sb="$sb1" -v u="$u" -v m="$1" 'BEGIN{
    if(d<=0){ printf "value=0;offered=%s;delivered=0;busy1=%s\n", o, b; exit }
    printf "value=%.3f;offered=%s;delivered=%s;busy1=%.3f;sampled_us=%.3f", 1e6*b/d, o, d, b, 1e6*sb/d
    if(m ~ /^uvs/) printf ";proc_us=%.3f", 1e6*u/d
    printf "\n" }'
}

# ---- tcp-synflood ----------------------------------------------------------------------------
# Established TCP goodput (one iperf3 stream to VIP:5201, as the tcp load) alone and during a
# spoofed SYN flood against VIP:FLOOD_PORT (sources random in FLOOD_SRC), at the lb's
# saturating SYN rate (FLOOD_RATE=peak) or a given one. The generator runs on CPU0 and RPS
# steers l0's receive processing to CPU1, where uvs is pinned, as in the UDP loads; iperf3's
# client and server are not pinned. Three runs of DUR seconds, each a new iperf3 connection:
#   bare    iperf3 alone;
#   alone   iperf3 while the generator sends the same SYNs at the same rate into fsink, a dummy
#           device of ns cli: the same CPU taken by the generator, nothing offered to the lb.
#           The baseline: on this 2-CPU machine the generator takes a CPU, as an attacker's
#           machine would not;
#   during  iperf3 with the flood to the VIP, started 0.5 s after iperf3 connected (the
#           connection is established before the flood) and running to its end.
# value = goodput during / alone, in %.

# metric NAME: sums uvs's Prometheus samples whose name-and-labels start with NAME
# (`uvs_dropped_packets_total{reason="table_full"`), from the metrics listener in ns lb
uvs_metrics() {
  nsx "$N_LB" timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/9182 && printf "GET /metrics HTTP/1.0\r\n\r\n" >&3 && cat <&3' 2>/dev/null | tr -d '\r' | grep '^uvs_' || true
}
metric() { awk -v k="$1" 'index($0, k) == 1 { s += $NF } END { printf "%.0f\n", s }' ${2+"$2"}; }   # metric NAME [FILE]
# lb_dev_count DEV FIELD: a statistics counter of ns lb's DEV
lb_dev_count() { nsx "$N_LB" cat "/sys/class/net/$1/statistics/$2"; }
# cpu1_backlog_drops: frames CPU1's input backlog refused (machine-wide, /proc/net/softnet_stat)
cpu1_backlog_drops() { awk 'NR == 2 { print strtonum("0x" $2) }' /proc/net/softnet_stat 2>/dev/null || echo 0; }
absorbed() { nsx "$N_CLI" nft list counter netdev uvsb_absorb replies | awk '/packets/{print $2}'; }
syn_batch() { if [ "$1" = 0 ]; then echo 64; else echo 16; fi; }

# syn_probe MODE RATE SECS: the flood alone for SECS s; prints "offered handled" (pps). Handled
# is what the lb took in and decided on, whatever it decided (forward, or drop by policy: a
# full conntrack or connection table): for the kernel (nft, haproxy) what l0 accepted into
# CPU1's backlog, all of which the softirq then processes; for uvs the frames it read from its
# ring on l0. The rest was lost before the lb looked at it (backlog full, ring full).
syn_handled() {
  if is_uvs "$1"; then uvs_metrics | metric 'uvs_port_receive_frames_total{device="l0"'
  else nsx "$N_CLI" cat /sys/class/net/c0/statistics/tx_packets; fi
}
syn_probe() {
  local mode=$1 rate=$2 secs=$3 w0 w1 s o0 o1 h0 h1 t0 t1
  read -r w0 w1 <<<"$(window "$secs")"
  s=$(date +%s.%N)
  ip netns exec "$N_CLI" timeout -k 2 $((secs + 5)) taskset -c 0 "$PKTGEN_BIN" -syn -syn-src "$FLOOD_SRC" -i c0 -dmac "$L0_MAC" \
    -dst "$VIP" -dport "$FLOOD_PORT" -batch "$(syn_batch "$rate")" -rate "$rate" -dur "${secs}s" >>"$RUN/pktgen.log" 2>&1 &
  local p=$!
  sleep_until "$w0" "$s"; t0=$(date +%s.%N); o0=$(c0_count); h0=$(syn_handled "$mode")
  sleep_until "$w1" "$s"; t1=$(date +%s.%N); o1=$(c0_count); h1=$(syn_handled "$mode")
  wait "$p" || true
  awk -v o0="$o0" -v o1="$o1" -v h0="$h0" -v h1="$h1" -v t0="$t0" -v t1="$t1" \
    'BEGIN{ t=t1-t0; printf "%.0f %.0f\n", (o1-o0)/t, (h1-h0)/t }'
}

# syn_peak MODE: the saturating SYN rate P, found as udp-2x finds the UDP one: the flood flat
# out, then paced at the SWEEP fractions of that; P is the most SYNs handled per second (a
# probe counts at most what it offered): offered at P, the lb just keeps up. Prints "P sweep".
syn_peak() {
  local mode=$1 o h o2 x rate peak sweep
  read -r o h <<<"$(syn_probe "$mode" 0 "$DUR_PROBE")"
  peak=$(( h < o ? h : o )); sweep="flat:$o>$h"
  for x in $SWEEP; do
    rate=$(awk -v o="$o" -v x="$x" 'BEGIN{printf "%.0f", o*x}')
    read -r o2 h <<<"$(syn_probe "$mode" "$rate" "$DUR_PROBE")"
    sweep="$sweep,$o2>$h"
    h=$(( h < o2 ? h : o2 )); [ "$h" -gt "$peak" ] && peak=$h
  done
  echo "$peak $sweep"
}

# iperf_rtt: the smoothed RTT (ms) of the busiest TCP connection of ns cli to VIP:5201
iperf_rtt() {
  nsx "$N_CLI" ss -tin state established "( dport = :5201 )" 2>/dev/null | awk '
    { for(i=1;i<=NF;i++){ if($i ~ /^rtt:/){ split(substr($i,5),a,"/"); r=a[1] } if($i ~ /^bytes_sent:/) b=substr($i,12)+0 }
      if(r != "" && b >= best){ best=b; rtt=r } }
    END { printf "%.1f\n", rtt+0 }'
}

# iperf_run MODE PHASE RATE: one iperf3 stream for DUR s (the first second left out); with
# PHASE alone or during, the generator runs from 0.5 s to the end, into fsink or at the VIP.
# Prints "goodput_gbit retransmits flood_pps rtt_ms". During leaves the lb's counters in
# $RUN/syn.0 (just before the flood) and $RUN/syn.1 (after it, the lb's queues drained).
iperf_run() {
  local mode=$1 phase=$2 rate=$3 s p g=0 w0 w1 f="" rtt paced=()
  # TCP_RATE: pace the stream (iperf3 -b), below what every lb forwards alone
  [ -n "${TCP_RATE:-}" ] && paced=(-b "$TCP_RATE")
  s=$(date +%s.%N)
  ip netns exec "$N_CLI" timeout $((DUR + 15)) iperf3 -c "$VIP" -p 5201 -t "$DUR" -O 1 -f g ${paced[@]+"${paced[@]}"} >"$RUN/iperf3.out" 2>&1 &
  p=$!
  if [ "$phase" != bare ]; then
    local dev=c0 dmac=$L0_MAC
    [ "$phase" = alone ] && { dev=fsink; dmac=02:00:00:00:00:01; }
    sleep_until 0.4 "$s"
    [ "$phase" = during ] && syn_snap 0
    sleep_until 0.5 "$s"
    ip netns exec "$N_CLI" timeout -k 2 $((DUR + 6)) taskset -c 0 "$PKTGEN_BIN" -syn -syn-src "$FLOOD_SRC" -i "$dev" -dmac "$dmac" \
      -dst "$VIP" -dport "$FLOOD_PORT" -batch "$(syn_batch "$rate")" -rate "$rate" -dur "$((DUR + 1))s" >"$RUN/pktgen.out" 2>&1 &
    g=$!
  fi
  sleep_until 1.5 "$s"
  acct_begin "syn-$phase"
  sleep_until "$DUR" "$s"
  rtt=$(iperf_rtt)
  sleep_until "$DUR.5" "$s"
  acct_end "syn-$phase" >/dev/null
  wait "$p" || true
  if [ "$g" != 0 ]; then wait "$g" || true; cat "$RUN/pktgen.out" >>"$RUN/pktgen.log"
    f=$(awk '{ for(i=1;i<=NF;i++) if($i ~ /^pps=/) print substr($i,5) }' "$RUN/pktgen.out"); fi
  # (uvs's ring holds at most ~0.2 s of frames at the rates here)
  [ "$phase" = during ] && { sleep 0.5; syn_snap 1; }
  cat "$RUN/iperf3.out" >>"$RUN/iperf3.log"
  awk -v f="${f:-0}" -v rtt="$rtt" '/receiver/ { for(i=1;i<=NF;i++) if($i=="Gbits/sec") g=$(i-1) }
       /sender/   { for(i=1;i<=NF;i++) if($i=="Gbits/sec") r=$(i+1) }
       END { printf "%.2f %d %s %s\n", g+0, r+0, f, rtt }' "$RUN/iperf3.out"
}

# syn_snap 0|1: the counters read at the start and the end of the flood's window
syn_snap() {
  local f="$RUN/syn.$1"
  {
    echo "t $(date +%s.%N)"
    echo "absorbed $(absorbed)"
    echo "backlog1 $(cpu1_backlog_drops)"
    local d; for d in l0 l1; do
      echo "$d.rx $(lb_dev_count "$d" rx_packets)"; echo "$d.rxdrop $(lb_dev_count "$d" rx_dropped)"
    done
    echo "c0.txdrop $(nsx "$N_CLI" cat /sys/class/net/c0/statistics/tx_dropped)"
    # conntrack's drops (a full table) since ns lb was made
    echo "ctdrop $(nsx "$N_LB" conntrack -S 2>/dev/null | awk '{ for(i=1;i<=NF;i++) if($i ~ /^(drop|early_drop)=/){ split($i,a,"="); s+=a[2] } } END{ print s+0 }')"
    nsx "$N_LB" nstat -saz TcpExtSyncookiesSent TcpExtListenOverflows TcpExtListenDrops 2>/dev/null | awk '/^TcpExt/{print $1, $2}'
  } >"$f"
  if is_uvs "$MODE_NOW"; then uvs_metrics >"$f.metrics"; fi
}
snapd() { awk -v k="$1" '$1 == k { v[FILENAME] = $2 } END { printf "%.0f\n", v[ARGV[2]] - v[ARGV[1]] }' "$RUN/syn.0" "$RUN/syn.1"; }
snapm() { echo $(( $(metric "$1" "$RUN/syn.1.metrics") - $(metric "$1" "$RUN/syn.0.metrics") )); }

load_tcp_synflood() {
  local mode=$1 rate=$FLOOD_RATE sweep="" gb rb tb ga ra fa ta gd rd fd td secs extra=""
  MODE_NOW=$mode
  if [ "$rate" = peak ]; then
    read -r rate sweep <<<"$(syn_peak "$mode")"
    [ "$rate" -gt 0 ] || { log "no SYN was handled in the sweep: $sweep"; return 1; }
    # the sweep's half-open entries go: a fresh conntrack table, a fresh uvs
    nsx "$N_LB" conntrack -F >/dev/null 2>&1 || true
    if is_uvs "$mode"; then mode_down; mode_up "$mode" 1; rps on; fi
    sleep 1
  fi
  read -r gb rb _ tb <<<"$(iperf_run "$mode" bare "$rate")"
  read -r ga ra fa ta <<<"$(iperf_run "$mode" alone "$rate")"
  read -r gd rd fd td <<<"$(iperf_run "$mode" during "$rate")"
  # the counters' deltas span the whole flood, DUR + 1 s, and the drain after it
  secs=$((DUR + 1))
  rate_of() { awk -v n="$1" -v s="$secs" 'BEGIN{ printf "%.0f", (s > 0) ? n / s : 0 }'; }
  case "$mode" in
    nft)
      extra="conntrack=$(nsx "$N_LB" conntrack -C 2>/dev/null || echo 0);ct_drop_pps=$(rate_of "$(snapd ctdrop)")" ;;
    haproxy)
      extra="cookies_pps=$(rate_of "$(snapd TcpExtSyncookiesSent)");listen_drops_pps=$(rate_of "$(snapd TcpExtListenDrops)")" ;;
    uvs)
      local m1="$RUN/syn.1.metrics"
      extra="table=$(metric uvs_connection_table_entries "$m1");capacity=$(metric uvs_connection_table_capacity "$m1")"
      extra="$extra;refused_pps=$(rate_of "$(snapm uvs_connection_table_full_refusals_total)");evicted_pps=$(rate_of "$(snapm uvs_connection_table_evictions_total)")"
      extra="$extra;drop_packet_pps=$(rate_of "$(snapm 'uvs_dropped_packets_total{reason="drop_packet"')")"
      extra="$extra;dropped_pps=$(rate_of "$(snapm uvs_dropped_packets_total)")"
      extra="$extra;fwd_l0_pps=$(rate_of "$(snapm 'uvs_port_forwarded_frames_total{device="l0"')")"
      # frames the kernel dropped because uvs's rings on l0 and l1 were full (the rings'
      # own counter, PACKET_STATISTICS, which uvs exports)
      extra="$extra;ring_drop_l0_pps=$(rate_of "$(snapm 'uvs_port_receive_dropped_frames_total{device="l0"')")"
      extra="$extra;ring_drop_l1_pps=$(rate_of "$(snapm 'uvs_port_receive_dropped_frames_total{device="l1"')")"
      # of those, the SYNs l0's SYN ring shed (syn_ring): the rest were established traffic's
      extra="$extra;syn_ring_drop_l0_pps=$(rate_of "$(snapm 'uvs_port_receive_syn_dropped_frames_total{device="l0"')")" ;;
  esac
  printf 'value=%s;bare=%s;alone=%s;during=%s;retrans_alone=%s;retrans_during=%s;rtt_bare=%s;rtt_alone=%s;rtt_during=%s;rate=%s;flood_pps=%s;sink_pps=%s;replies_pps=%s;backlog_drop_pps=%s;c0_drop_pps=%s;busy1=%s;%s;sweep=%s\n' \
    "$(awk -v a="$ga" -v d="$gd" 'BEGIN{ printf "%.1f", (a > 0) ? 100 * d / a : 0 }')" "$gb" "$ga" "$gd" "$ra" "$rd" "$tb" "$ta" "$td" "$rate" "${fd:-0}" "${fa:-0}" \
    "$(rate_of "$(snapd absorbed)")" "$(rate_of "$(snapd backlog1)")" "$(rate_of "$(snapd c0.txdrop)")" \
    "$(acct syn-during busy1)" "$extra;busy1_alone=$(acct syn-alone busy1);uvs_alone=$(acct syn-alone uvs);uvs_during=$(acct syn-during uvs)" "${sweep:-fixed}"
}
