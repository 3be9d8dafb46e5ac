# bench/report.awk: the markdown tables of bench/run.sh, from its results.tsv: the modes side
# by side (one column each), then, when uvs-dr or uvs-tun ran, uvs's forwarding methods (one
# row each: NAT, DR, TUN).
# Variables: modes, loads (space-separated lists), fmax (foreign-load threshold, % of a core),
# fixed (the fixed UDP rate), tuntype (ipip or gue), floodrate (FLOOD_RATE). Each cell is the median of its runs;
# ratios are uvs / peer.

function parse(s, out,    n, a, i, p) {
  n = split(s, a, ";")
  for (i = 1; i <= n; i++) { p = index(a[i], "="); if (p) out[substr(a[i], 1, p - 1)] = substr(a[i], p + 1) }
}
function median(list,    n, a, i, j, x) {
  n = split(list, a, " ")
  if (n == 0) return ""
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { x = a[i]; a[i] = a[j]; a[j] = x }
  return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function get(m, l, k) { return median(vals[m, l, k]) }
function has(m, l) { return ((m, l) in ok) }
function grp(x,    s, r) {  # 29866 -> "29 866"
  s = sprintf("%.0f", x); r = ""
  while (length(s) > 3) { r = " " substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
  return s r
}
function kp(x) { return sprintf("%.0f k", x / 1000) }
function mark(m, l) { return (m, l) in disturbed ? " †" : "" }

# what the lb made of the flood: nft its conntrack table, haproxy the lb kernel's SYN cookies,
# uvs its connection table, what it refused or evicted, and the frames its rings dropped
function synlb(m, l,    x, rd, sd) {
  if (m == "nft") return sprintf("conntrack %s, %s dropped/s", grp(get(m, l, "conntrack")), kp(get(m, l, "ct_drop_pps")))
  if (m == "haproxy") return sprintf("%s cookies/s", kp(get(m, l, "cookies_pps")))
  if (m == "uvs") {
    x = sprintf("table %s of %s", grp(get(m, l, "table")), grp(get(m, l, "capacity")))
    if (get(m, l, "refused_pps") > 0) x = x sprintf(", %s refused/s", kp(get(m, l, "refused_pps")))
    if (get(m, l, "evicted_pps") > 0) x = x sprintf(", %s evicted/s", kp(get(m, l, "evicted_pps")))
    if (get(m, l, "drop_packet_pps") > 0) x = x sprintf(", %s drop_packet/s", kp(get(m, l, "drop_packet_pps")))
    # (a difference of two counters read a few ms apart: a small negative is zero)
    rd = get(m, l, "ring_drop_l0_pps") + get(m, l, "ring_drop_l1_pps")
    sd = get(m, l, "syn_ring_drop_l0_pps")
    x = x sprintf("; ring drops %s/s", kp(rd > 0 ? rd : 0))
    # with a SYN ring: how many of those were SYNs shed at l0's SYN ring
    if (sd > 0) x = x sprintf(" (SYN ring %s/s, main rings %s/s)", kp(sd), kp(rd - sd > 0 ? rd - sd : 0))
    return x
  }
  return "—"
}

# the number a row compares, and how a cell shows it
function num(kind, m, l) { return (kind == "peak") ? get(m, l, "peak") : get(m, l, "value") }
function show(kind, m, l,    v, x) {
  if ((m, l) in na) return "n/a"
  if (!has(m, l)) return ((m, l) in fail) ? "**" fail[m, l] "**" : "—"
  v = get(m, l, "value")
  if (kind == "http") x = sprintf("%s · %.1f ms", grp(v), get(m, l, "p99"))
  else if (kind == "tcp") x = sprintf("%.1f", v) (get(m, l, "retrans") > 0 ? sprintf(" (%s retr)", grp(get(m, l, "retrans"))) : "")
  else if (kind == "over") x = sprintf("%s (%s)", kp(v), kp(get(m, l, "offered")))
  else if (kind == "peak") x = kp(get(m, l, "peak"))
  else if (kind == "2x") x = sprintf("%.0f %% at ×%.1f", v, get(m, l, "load"))
  else if (kind == "2xf") x = sprintf("%.0f %%", (get(m, l, "peak") > 0) ? 100 * get(m, l, "forwarded") / get(m, l, "peak") : 0)
  else if (kind == "cpu") x = sprintf("%.2f µs (%.0f %%)", v, 100 * get(m, l, "busy1"))
  else if (kind == "syn") x = sprintf("%.0f %% (%.2f → %.2f)", v, get(m, l, "alone"), get(m, l, "during"))
  else if (kind == "synbare") x = sprintf("%.2f", get(m, l, "bare"))
  else if (kind == "synrate") x = kp(get(m, l, "flood_pps"))
  else if (kind == "synrtt") x = sprintf("%.1f → %.1f ms", get(m, l, "rtt_alone"), get(m, l, "rtt_during"))
  else if (kind == "synlb") x = synlb(m, l)
  return x mark(m, l)
}
function ratio(kind, l, peer,    a, b) {
  if (kind ~ /^(2x|syn)/ || !inmodes["uvs"] || !inmodes[peer]) return ""
  if (!has("uvs", l) || !has(peer, l)) return "—"
  a = num(kind, "uvs", l); b = num(kind, peer, l)
  return (b > 0) ? sprintf("%.2f×", a / b) : "—"
}
function tick(ok_) { return ok_ ? " ✔" : " ✘" }
function target(kind, l,    r1, r2, t) {
  if (kind == "http" && l == "http-close") {
    t = "≥ 1.0× nft, ≥ 2× HAProxy"
    if (has("uvs", l) && has("nft", l) && has("haproxy", l))
      t = t tick(num(kind, "uvs", l) >= num(kind, "nft", l) && num(kind, "uvs", l) >= 2 * num(kind, "haproxy", l))
    return t
  }
  if (kind == "tcp") return "≥ 10 Gbit/s" (has("uvs", l) ? tick(get("uvs", l, "value") >= 10) : "")
  if (kind == "2x") {
    t = "≥ 70 % of peak"
    if (has("uvs", l)) {
      t = t tick(get("uvs", l, "value") >= 70)
      if (get("uvs", l, "load") < 1.9) t = t sprintf(" (the generator reached ×%.1f only)", get("uvs", l, "load"))
    }
    return t
  }
  if (kind == "syn") return "≥ 90 %" (has("uvs", l) ? tick(get("uvs", l, "value") >= 90) : "")
  if (kind == "cpu") return "≤ 0.8× nft" ((has("uvs", l) && has("nft", l) && num(kind, "nft", l) > 0) ? tick(num(kind, "uvs", l) <= 0.8 * num(kind, "nft", l)) : "")
  return ""
}
function row(label, kind, l,    i, s) {
  if (!inloads[l]) return
  s = "| " label
  for (i = 1; i <= nm; i++) s = s " | " show(kind, M[i], l)
  if (inmodes["uvs"] && inmodes["nft"]) s = s " | " ratio(kind, l, "nft")
  if (inmodes["uvs"] && inmodes["haproxy"]) s = s " | " ratio(kind, l, "haproxy")
  print s " | " target(kind, l) " |"
}

NR == 1 { next }
{
  m = $1; l = $2
  if ($4 == "n/a") { na[m, l] = 1; next }
  if ($4 != "ok") { fail[m, l] = $4; next }
  ok[m, l]++
  delete kv; parse($5, kv)
  for (k in kv) vals[m, l, k] = vals[m, l, k] " " kv[k]
  if ($7 + 0 > fmax) disturbed[m, l] = 1
}
# the table of uvs's forwarding methods: a row per method, a column per figure of the loads
# that uvs-dr or uvs-tun ran (the same cells as the side-by-side table), the uvs process's
# share of the CPU per packet, and the CPU per packet as a ratio to NAT's
function methods(    a, i, j, m, s, sep, nmm, MM, lab, C, ncols, f, l, ran, nc, CL, CK) {
  if (!inall["uvs-dr"] && !inall["uvs-tun"]) return
  lab["uvs"] = "NAT (`uvs`)"; lab["uvs-dr"] = "DR (`uvs-dr`)"; lab["uvs-tun"] = "TUN, " tuntype " (`uvs-tun`)"
  split("uvs uvs-dr uvs-tun", a, " ")
  nmm = 0; for (i = 1; i <= 3; i++) if (inall[a[i]]) MM[++nmm] = a[i]
  ncols = split("http-close:http:HTTP short connections, req/s · p99|http-ka:http:HTTP keep-alive, req/s · p99|" \
    "tcp:tcp:bulk TCP, Gbit/s|udp-over:over:UDP flat out: delivered pps (offered)|udp-2x:peak:UDP peak delivered pps|" \
    "udp-2x:2x:UDP at 2× the saturating load: delivered, % of peak|udp-2x:2xf:… sent out by the lb on l1, % of peak|" \
    "udp-200k:cpu:CPU per forwarded packet at " fixed / 1000 " kpps (lb core busy)", C, "|")
  s = "| method"; sep = "|---"; nc = 0
  for (j = 1; j <= ncols; j++) {
    split(C[j], f, ":"); l = f[1]
    if (!inloads[l]) continue
    ran = 0; for (i = 1; i <= nmm; i++) if (MM[i] != "uvs" && (has(MM[i], l) || (MM[i], l) in fail)) ran = 1
    if (!ran) continue
    nc++; CL[nc] = l; CK[nc] = f[2]; s = s " | " substr(C[j], length(f[1]) + length(f[2]) + 3); sep = sep "|---"
    if (f[2] == "cpu") {
      nc++; CL[nc] = l; CK[nc] = "proc"; s = s " | … of which the uvs process"; sep = sep "|---"
      nc++; CL[nc] = l; CK[nc] = "cpunat"; s = s " | CPU per packet ÷ NAT's"; sep = sep "|---"
    }
  }
  if (nc == 0) return
  print ""; print s " |"; print sep "|"
  for (i = 1; i <= nmm; i++) {
    m = MM[i]; s = "| " lab[m]
    for (j = 1; j <= nc; j++) {
      l = CL[j]
      if (CK[j] == "proc") s = s " | " ((has(m, l) && get(m, l, "proc_us") != "") ? sprintf("%.2f µs", get(m, l, "proc_us")) : "—")
      else if (CK[j] == "cpunat") s = s " | " ((m != "uvs" && has(m, l) && has("uvs", l) && num("cpu", "uvs", l) > 0) ? sprintf("%.2f×", num("cpu", m, l) / num("cpu", "uvs", l)) : "")
      else s = s " | " show(CK[j], m, l)
    }
    print s " |"
  }
}

END {
  # the side-by-side table has a column per mode but uvs's other methods, which have their own
  nall = split(modes, A, " "); nm = 0
  for (i = 1; i <= nall; i++) { inall[A[i]] = 1; if (A[i] !~ /^uvs-/) M[++nm] = A[i] }
  for (i = 1; i <= nm; i++) inmodes[M[i]] = 1
  n = split(loads, L, " "); for (i = 1; i <= n; i++) inloads[L[i]] = 1
  if (nm > 0) {
    s = "| load"; sep = "|---"
    for (i = 1; i <= nm; i++) { s = s " | " M[i]; sep = sep "|---" }
    if (inmodes["uvs"] && inmodes["nft"]) { s = s " | uvs/nft"; sep = sep "|---" }
    if (inmodes["uvs"] && inmodes["haproxy"]) { s = s " | uvs/haproxy"; sep = sep "|---" }
    print s " | target (uvs) |"; print sep "|---|"
    row("HTTP short connections (`Connection: close`), req/s · p99", "http", "http-close")
    row("HTTP keep-alive, req/s · p99", "http", "http-ka")
    row("bulk TCP, 1 stream, Gbit/s", "tcp", "tcp")
    row("UDP 60 B flat out: delivered pps (offered)", "over", "udp-over")
    row("UDP 60 B peak delivered pps", "peak", "udp-2x")
    row("UDP 60 B at 2× the saturating load: delivered, % of peak", "2x", "udp-2x")
    row("… sent out by the lb on l1 at that load (before the servers' side drops), % of peak", "2xf", "udp-2x")
    row(sprintf("CPU per forwarded packet at %s kpps (lb core busy)", fixed / 1000), "cpu", "udp-200k")
    row("TCP goodput during a SYN flood, % of alone (Gbit/s alone → during)", "syn", "tcp-synflood")
    row("… the SYN flood, pps (" (floodrate == "peak" ? "the lb's saturating rate" : (floodrate == 0 ? "flat out" : "paced at " kp(floodrate))) ")", "synrate", "tcp-synflood")
    row("… the stream's RTT alone → during", "synrtt", "tcp-synflood")
    row("… the lb after the flood", "synlb", "tcp-synflood")
    row("… TCP goodput with no generator running, Gbit/s", "synbare", "tcp-synflood")
    extra = ""
    if (has("uvs", "udp-200k") && get("uvs", "udp-200k", "proc_us") != "")
      extra = sprintf("At %s kpps the uvs process itself (utime+stime, /proc/PID/stat) accounts for %.2f µs per packet of the lb core's %.2f µs. ", fixed / 1000, get("uvs", "udp-200k", "proc_us"), get("uvs", "udp-200k", "value"))
    if (extra != "") { print ""; print extra }
  }
  methods()
  for (k in disturbed) { print ""; printf "† other tenants used more than %s %% of a core during that run (see the details).\n", fmax; break }
}
