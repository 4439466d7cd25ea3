"""A plain-socket msgpack client sending protos as pysvrkit's clients did:
msgpack.dumps(map) inside a str or bin (2016), or a positional list of the
fields in IDL order (later). Usage: py_legacy_client.py HOST PORT.
Exits non-zero on any mismatch; prints ok."""
import socket
import sys

import msgpack


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    sock = socket.create_connection((host, port), timeout=10)
    unpacker = msgpack.Unpacker(raw=False)
    msgid = [0]

    def recv():
        while True:
            for msg in unpacker:
                return msg
            data = sock.recv(65536)
            if not data:
                raise SystemExit("server closed the connection")
            unpacker.feed(data)

    def call(method, *params, bin_type=True):
        # bin_type=False packs bytes as msgpack str (raw), as Python 2 did.
        msgid[0] += 1
        sock.sendall(msgpack.packb([0, msgid[0], method, list(params)], use_bin_type=bin_type))
        kind, rid, err, result = recv()
        assert kind == 1 and rid == msgid[0], (kind, rid)
        return err, result

    def check(got, want):
        if got != want:
            raise SystemExit("got %r, want %r" % (got, want))

    def dumps(obj):  # pysvrkit 2016: the proto's dict, packed
        return msgpack.packb(obj, use_bin_type=False)

    # The seed's echomsg, three ways; the reply is always a map.
    echo = {"value": "testtest"}
    check(call("echo", echo), (None, echo))
    check(call("echo", dumps(echo)), (None, echo))                   # packed, in a bin
    check(call("echo", dumps(echo), bin_type=False), (None, echo))   # packed, in a str
    check(call("echo", ["testtest"]), (None, echo))                  # positional

    # Nested protos, lists and dicts of protos, each in a legacy form.
    want = {"name": "n", "tags": [1, "t", None], "pos": {"x": 1, "y": 2.5},
            "kids": [{"x": 2, "y": 0.0}, {"x": 3, "y": 0.5}],
            "by_name": {"a": {"x": 4, "y": 0.0}, "b": {"x": 5, "y": 1.5}}}
    positional = ["n", [1, "t", None], dumps({"x": 1, "y": 2.5}),
                  [[2], dumps({"x": 3, "y": 0.5})],
                  {"a": [4], "b": dumps({"x": 5, "y": 1.5})}]
    check(call("put", positional), (None, want))
    check(call("put", positional, bin_type=False), (None, want))
    packed = dict(want, pos=[1, 2.5], kids=[dumps(k) for k in want["kids"]])
    check(call("put", dumps(packed)), (None, want))

    # A recursive proto: children and index packed, holding positional trees.
    leaf = ["leaf", None, None]
    mid = dumps({"label": "mid", "children": [leaf], "index": {"l": leaf}})
    leaf_map = {"label": "leaf", "children": None, "index": None}
    check(call("walk", ["root", [mid], None]),
          (None, {"label": "root", "children": [
              {"label": "mid", "children": [leaf_map], "index": {"l": leaf_map}}], "index": None}))

    # Errors in IDL terms, with the path to the value.
    check(call("echo_inner", {"n": 1.9}), ("echo_inner: arg 0 (x).n: want int, got float 1.9", None))
    check(call("echo_inner", dumps({"n": 2**64 - 1})),
          ("echo_inner: arg 0 (x).n: want int, got int 18446744073709551615 (out of int64 range)", None))
    check(call("echo", 5), ("echo: arg 0 (msg): want a map of legacy_echomsg's fields, got int", None))
    check(call("echo", [1]), ("echo: arg 0 (msg).value: want string, got int", None))
    check(call("echo", ["a", "b"]),
          ("echo: arg 0 (msg): want a map of legacy_echomsg's fields, got an array of 2 (legacy_echomsg has 1 field)", None))
    check(call("echo", b"not msgpack"),
          ("echo: arg 0 (msg): want a map of legacy_echomsg's fields, got a string that is not a packed map", None))
    check(call("put", ["n", [], [1.5]]), ("put: arg 0 (item).pos.x: want int, got float 1.5", None))
    # Packing inside packing is bounded by the message's nesting limit.
    deep = dumps({"label": "leaf"})
    for _ in range(40):
        deep = dumps({"label": "x", "children": [deep]})
    err, result = call("walk", deep)
    assert result is None and err.startswith("walk: arg 0 (t).children[0]") and "nested deeper than 64" in err, err

    # Notifications take the legacy forms too.
    sock.sendall(msgpack.packb([2, "log_point", [dumps({"x": 7, "y": 0.5})]], use_bin_type=True))
    sock.sendall(msgpack.packb([2, "log_point", [[7, 0.5]]], use_bin_type=True))
    check(call("echo", echo), (None, echo))
    sock.close()
    print("ok")


if __name__ == "__main__":
    main()
