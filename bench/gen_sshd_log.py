#!/usr/bin/env python3
"""Writes a reproducible sshd auth log: failures of every form fail2ban's stock sshd filter
knows (IPv4 and IPv6), successes, and cron/systemd noise. usage: gen_sshd_log.py N [SEED] > auth.log"""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 500000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 20261122)
months = "Nov"
users = ["root", "admin", "test", "oracle", "ubuntu", "git", "postgres", "user", "pi", "www"]
valid = ["alice", "bob", "zhangsan", "lisi"]


def ip():
    if rng.random() < 0.15:
        return "2001:db8:%x::%x" % (rng.randrange(1, 0xFFFF), rng.randrange(1, 0xFFFF))
    return "%d.%d.%d.%d" % (rng.choice([45, 61, 103, 111, 112, 116, 121, 183, 202, 218, 222]),
                            rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))


attackers = [ip() for _ in range(2000)]

failures = [
    lambda a, p: f"Failed password for {rng.choice(users)} from {a} port {p} ssh2",
    lambda a, p: f"Failed password for invalid user {rng.choice(users)} from {a} port {p} ssh2",
    lambda a, p: f"Failed keyboard-interactive/pam for invalid user {rng.choice(users)} from {a} port {p} ssh2",
    lambda a, p: f"Invalid user {rng.choice(users)} from {a} port {p}",
    lambda a, p: f"error: maximum authentication attempts exceeded for root from {a} port {p} ssh2 [preauth]",
    lambda a, p: f"User {rng.choice(users)} from {a} not allowed because not listed in AllowUsers",
    lambda a, p: f"User {rng.choice(users)} from {a} not allowed because listed in DenyUsers",
    lambda a, p: f"User {rng.choice(users)} from {a} not allowed because not in any group",
    lambda a, p: f"Authentication failure for {rng.choice(users)} from {a}",
    lambda a, p: f"User not known to the underlying authentication module for {rng.choice(users)} from {a}",
    lambda a, p: f"ROOT LOGIN REFUSED FROM {a}",
    lambda a, p: f"Received disconnect from {a} port {p}:3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
    lambda a, p: f"refused connect from host-{p} ({a})",
]
noise_sshd = [
    lambda a, p: f"Accepted password for {rng.choice(valid)} from {a} port {p} ssh2",
    lambda a, p: f"Accepted publickey for {rng.choice(valid)} from {a} port {p} ssh2: ED25519 SHA256:abc",
    lambda a, p: f"pam_unix(sshd:session): session opened for user {rng.choice(valid)}(uid=1000) by (uid=0)",
    lambda a, p: f"Server listening on 0.0.0.0 port 22.",
    lambda a, p: f"pam_unix(sshd:session): session closed for user {rng.choice(valid)}",
]
noise_other = [
    "CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
    "CRON[{pid}]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)",
    "systemd[1]: Started session-{pid}.scope - Session {pid} of User root.",
    "systemd-logind[612]: New session {pid} of user root.",
    "kernel: [ 1234.5678] nf_conntrack: table full, dropping packet",
]

out = sys.stdout
t = 0
for i in range(n):
    t += rng.randrange(0, 3)
    day = 1 + (t // 86400) % 28
    hh, mm, ss = (t // 3600) % 24, (t // 60) % 60, t % 60
    stamp = f"{months} {day:2d} {hh:02d}:{mm:02d}:{ss:02d} yj-host"
    pid = rng.randrange(1000, 65000)
    r = rng.random()
    if r < 0.45:
        msg = rng.choice(failures)(rng.choice(attackers), rng.randrange(1024, 65535))
        out.write(f"{stamp} sshd[{pid}]: {msg}\n")
    elif r < 0.75:
        msg = rng.choice(noise_sshd)(ip(), rng.randrange(1024, 65535))
        out.write(f"{stamp} sshd[{pid}]: {msg}\n")
    else:
        out.write(f"{stamp} " + rng.choice(noise_other).format(pid=pid) + "\n")
