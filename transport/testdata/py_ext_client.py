"""A plain-socket Python client speaking svrkit's per-call context extension
(docs/WIRE.md, "Per-call context") to a svrkit Go server: hello, an extended
request with a deadline and metadata, a cancel. Usage: py_ext_client.py HOST
PORT. Prints "ok"; exits non-zero on any mismatch."""
import socket
import sys

import msgpack


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    sock = socket.create_connection((host, port), timeout=10)
    unpacker = msgpack.Unpacker(raw=False)
    pending = {}

    def send(obj):
        sock.sendall(msgpack.packb(obj, use_bin_type=True))

    def reply(msgid):
        while msgid not in pending:
            for msg in unpacker:
                if msg[0] == 1:
                    pending[msg[1]] = (msg[2], msg[3])
                if msgid in pending:
                    break
            else:
                data = sock.recv(65536)
                if not data:
                    raise SystemExit("server closed the connection")
                unpacker.feed(data)
        return pending.pop(msgid)

    def check(got, want):
        if got != want:
            raise SystemExit("got %r, want %r" % (got, want))

    # Before the hello an extended request is refused; the connection goes on.
    send([0, 1, "ctx", [], {"d": 1000000}])
    check(reply(1), ("ctx: extended request before $svrkit.hello on this connection", None))

    send([0, 2, "$svrkit.hello", [{"v": 1}]])
    check(reply(2), (None, {"v": 1}))

    send([0, 3, "ctx", [], {"d": 5000000, "m": {"trace-id": "py-1"}}])
    err, res = reply(3)
    check(err, None)
    check(res["md"], {"trace-id": "py-1"})
    if not 0 < res["deadline_ms"] <= 5000:
        raise SystemExit("deadline %r" % (res,))

    send([0, 4, "ctx", [], {"m": {"Bad Key": "x"}}])
    err, _ = reply(4)
    if not err.startswith('ctx: bad call context: metadata key "Bad Key"'):
        raise SystemExit("bad key: %r" % err)

    # Cancelled while it runs, or before it started (both are possible here).
    send([0, 5, "wait", ["py"], {}])
    send([2, "$svrkit.cancel", [5]])
    err, _ = reply(5)
    if err != "canceled: wait: context canceled" and not err.startswith("canceled: wait not run"):
        raise SystemExit("cancel: %r" % err)

    send([0, 6, "echo", ["plain"]])
    check(reply(6), (None, "plain"))
    print("ok")


main()
