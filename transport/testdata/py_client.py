"""A plain-socket msgpack-rpc client (no RPC library) that exercises a svrkit
Go server. Usage: py_client.py HOST PORT. Exits non-zero on any mismatch."""
import socket
import sys

import msgpack


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    sock = socket.create_connection((host, port), timeout=10)
    unpacker = msgpack.Unpacker(raw=False)
    msgid = [0]

    def send(obj):
        sock.sendall(msgpack.packb(obj, use_bin_type=True))

    def recv():
        while True:
            for msg in unpacker:
                return msg
            data = sock.recv(65536)
            if not data:
                raise SystemExit("server closed the connection")
            unpacker.feed(data)

    def call(method, *params):
        msgid[0] += 1
        send([0, msgid[0], method, list(params)])
        kind, rid, err, result = recv()
        assert kind == 1 and rid == msgid[0], (kind, rid)
        return err, result

    def check(got, want):
        if got != want:
            raise SystemExit("got %r, want %r" % (got, want))

    check(call("echo", "hello"), (None, "hello"))
    check(call("echo", "héllo ünïcode"), (None, "héllo ünïcode"))
    check(call("echo", b"bytes as string"), (None, "bytes as string"))
    check(call("add", 2, 40), (None, 42))
    check(call("add", -(2**40), 1), (None, -(2**40) + 1))
    check(call("struct", {"name": "x", "n": 1, "tags": ["a", "b"]}),
          (None, {"name": "x", "n": 2, "tags": ["a", "b"]}))
    check(call("nosuch"), ("'nosuch' method not found", None))
    check(call("echo", "a", "b"), ("echo expects 1 params, got 2", None))
    err, _ = call("panic")
    assert isinstance(err, str) and "boom" in err, err
    for i in range(10):
        send([2, "note", [i]])
    # Pipelined: send many, then read all (any order).
    ids = set()
    for i in range(100):
        msgid[0] += 1
        ids.add(msgid[0])
        send([0, msgid[0], "echo", ["p%d" % msgid[0]]])
    for _ in range(100):
        kind, rid, err, result = recv()
        assert kind == 1 and err is None and result == "p%d" % rid, (rid, err, result)
        ids.remove(rid)
    assert not ids
    check(call("echo", "done"), (None, "done"))
    sock.close()
    print("ok")


if __name__ == "__main__":
    main()
