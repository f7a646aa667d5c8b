#!/usr/bin/env bash
# Offline log rules: `yingji logscan --rule sshd` against Debian's fail2ban-regex with its stock
# sshd filter and against GNU grep -cE with an equivalent pattern, on the same reproducible
# 500,000-line sshd auth log, in the same run. Prints lines/s, the failure lines each found, and
# the ratios. usage: bench/logscan.sh [LINES]   (needs fail2ban, hyperfine; run `make build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500000}
YJ=${YJ:-build/yingji}
for t in fail2ban-regex hyperfine python3 grep; do command -v $t >/dev/null || { echo "missing $t (apt-get install fail2ban hyperfine)"; exit 1; }; done
WORK=$(mktemp -d /tmp/yingji-logscan.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
LOG=$WORK/auth.log
python3 bench/gen_sshd_log.py "$N" >"$LOG"
echo "log: $N lines, $(du -h "$LOG" | cut -f1), sha256 $(sha256sum "$LOG" | cut -c1-16)"

# grep: the failure forms of the sshd rule as one ERE (look-aheads have no ERE form; the
# generated log has no "Failed publickey" lines, so the counts agree on it).
P='sshd\[[0-9]+\]: ((error|fatal): (PAM: )?)?([aA]uthentication (failure|error|failed) for .* from |User not known to the underlying authentication module for .* from |Failed [^ ]+ for (invalid user )?[^ ]+ from |ROOT LOGIN REFUSED FROM |[iI](llegal|nvalid) user .* from |User [^ ]+ from [^ ]+ not allowed because |refused connect from [^ ]+ \(|Received disconnect from [^ ]+ port [0-9]+:3: .*: Auth fail|maximum authentication attempts exceeded for .* from |User [^ ]+ not allowed because account is locked|Disconnecting( from)? (invalid|authenticating) user [^ ]+ [^ ]+ port [0-9]+: Change of username|Disconnecting: Too many authentication failures)'

printf '%s\n' "$P" >"$WORK/pattern"
yj_count=$("$YJ" logscan --json --rule sshd "$LOG" | python3 -c 'import json,sys; print(json.load(sys.stdin)["matched"])')
grep_count=$(LC_ALL=C grep -cEf "$WORK/pattern" "$LOG")
f2b_out=$(fail2ban-regex "$LOG" /etc/fail2ban/filter.d/sshd.conf 2>&1 | grep '^Lines:')
f2b_count=$(sed 's/.*ignored, \([0-9]*\) matched.*/\1/' <<<"$f2b_out")
echo "failure lines found: yingji $yj_count, fail2ban-regex $f2b_count ($f2b_out), grep -cE $grep_count"

# --output=pipe: GNU grep notices a stdout of /dev/null and stops at the first match.
hyperfine --warmup 1 --runs 10 --output=pipe --export-json "$WORK/fast.json" \
  -n yingji "$YJ logscan --rule sshd $LOG" \
  -n grep "env LC_ALL=C grep -cEf $WORK/pattern $LOG" >/dev/null
hyperfine --runs 2 --export-json "$WORK/f2b.json" \
  -n fail2ban-regex "fail2ban-regex $LOG /etc/fail2ban/filter.d/sshd.conf" >/dev/null
python3 - "$N" "$WORK/fast.json" "$WORK/f2b.json" <<'PY'
import json, sys
n = int(sys.argv[1])
res = {r["command"]: r["median"] for f in sys.argv[2:] for r in json.load(open(f))["results"]}
for k, v in res.items():
    print(f"{k:16s} {v:8.3f} s  {n / v:12,.0f} lines/s")
print(f"yingji / fail2ban-regex: {res['fail2ban-regex'] / res['yingji']:.0f}x faster")
print(f"yingji / grep -cE:       {res['yingji'] / res['grep']:.2f}x grep's time")
PY
