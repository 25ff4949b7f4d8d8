#!/usr/bin/env python3
"""Captures twemproxy (nutcracker) Ketama placements for core/tests/placement_twemproxy.rs.

Usage: python3 twemproxy_capture.py   (needs `nutcracker` and `redis-server` on PATH)

Starts four redis-servers and, for each pool configuration, one nutcracker in front of them;
SETs every key through the proxy, then lists each backend's keys (KEYS *) and prints, per
configuration, each key's server index as one digit per key (the servers in pool order).
"""
import os, socket, subprocess, sys, tempfile, time

NAMES = ["s1", "s2", "redis-three:6379", "shard4"]

def keys():
    ks = [b""]
    ks += [b"{user%d}:x" % i for i in range(40)]
    ks += [b"$tag%d$rest" % i for i in range(40)]
    ks += [b"<t%d>" % i for i in range(20)]
    ks += [b"x{b}{c}", b"a{{b}}", b"foo{}{bar}", b"{}", b"a$$b$", b"$", b"{", b"}{x}", b"k{\xe9}"]
    ks += [b"key:%d" % i for i in range(60)]
    return ks

def enc(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out

class Conn:
    def __init__(self, port):
        for _ in range(100):
            try:
                self.s = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.05)
        self.f = self.s.makefile("rb")
    def cmd(self, *a):
        self.s.sendall(enc(*a))
        return self.read()
    def read(self):
        line = self.f.readline()[:-2]
        t, r = line[:1], line[1:]
        if t in (b"+", b"-"):
            return line
        if t == b":":
            return int(r)
        if t == b"$":
            n = int(r)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            return [self.read() for _ in range(int(r))]
        raise RuntimeError(line)

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def main():
    tmp = tempfile.mkdtemp()
    ports = [free_port() for _ in NAMES]
    procs = [subprocess.Popen(["redis-server", "--port", str(p), "--save", "", "--dir", tmp],
                              stdout=subprocess.DEVNULL) for p in ports]
    try:
        backends = [Conn(p) for p in ports]
        configs = [
            ("md5", "{}", [1, 1, 1, 1]),
            ("fnv1a_64", "$$", [1, 2, 3, 4]),
            ("fnv1a_64", None, [1, 1, 1, 1]),
            ("md5", None, [3, 1, 1, 2]),
        ]
        for hash_, tag, weights in configs:
            for b in backends:
                b.cmd(b"FLUSHALL")
            listen = free_port()
            conf = os.path.join(tmp, "nc.yml")
            with open(conf, "w") as f:
                f.write("pool:\n  listen: 127.0.0.1:%d\n  hash: %s\n  distribution: ketama\n"
                        "  redis: true\n  auto_eject_hosts: false\n" % (listen, hash_))
                if tag:
                    f.write('  hash_tag: "%s"\n' % tag)
                f.write("  servers:\n")
                for name, p, w in zip(NAMES, ports, weights):
                    f.write("   - 127.0.0.1:%d:%d %s\n" % (p, w, name))
            nc = subprocess.Popen(["nutcracker", "-c", conf, "-o", os.path.join(tmp, "nc.log")])
            try:
                proxy = Conn(listen)
                for k in keys():
                    r = proxy.cmd(b"SET", k, b"v")
                    assert r == b"+OK", (k, r)
                where = {}
                for i, b in enumerate(backends):
                    for k in b.cmd(b"KEYS", b"*"):
                        where[k] = i
                digits = "".join(str(where[k]) for k in keys())
                print(hash_, tag, weights, digits)
            finally:
                nc.kill(); nc.wait()
    finally:
        for p in procs:
            p.kill(); p.wait()

main()
