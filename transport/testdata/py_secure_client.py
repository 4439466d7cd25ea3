"""A plain Python msgpack-rpc client calling a svrkit Go server over TLS with
a token (docs/SECURITY.md): Python's ssl module, then the hello and extended
requests carrying {"m": {"authorization": TOKEN}} (docs/WIRE.md, "Per-call
context"). Usage: py_secure_client.py HOST PORT CAFILE TOKEN. Prints "ok";
exits non-zero on any mismatch."""
import socket
import ssl
import sys

import msgpack


def main():
    host, port, cafile, token = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection((host, port), timeout=10)
    sock = ctx.wrap_socket(raw, server_hostname="localhost")
    unpacker = msgpack.Unpacker(raw=False)

    def call(msg):
        sock.sendall(msgpack.packb(msg, use_bin_type=True))
        while True:
            for reply in unpacker:
                if reply[0] == 1 and reply[1] == msg[1]:
                    return reply[2], reply[3]
            data = sock.recv(65536)
            if not data:
                raise SystemExit("server closed the connection")
            unpacker.feed(data)

    def check(got, want):
        if got != want:
            raise SystemExit("got %r, want %r" % (got, want))

    check(call([0, 1, "$svrkit.hello", [{"v": 1}]]), (None, {"v": 1}))
    check(call([0, 2, "echo", ["hi"], {"m": {"authorization": token}}]), (None, "hi"))
    err, _ = call([0, 3, "echo", ["hi"]])
    if not err.startswith("unauthenticated"):
        raise SystemExit("call without a token: %r" % err)
    err, _ = call([0, 4, "echo", ["hi"], {"m": {"authorization": "wrong"}}])
    if not err.startswith("unauthenticated"):
        raise SystemExit("call with a wrong token: %r" % err)
    print("ok")


main()
