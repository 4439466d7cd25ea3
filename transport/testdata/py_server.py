"""A tiny msgpack-rpc server for cross-language tests. It listens on
127.0.0.1 (port 0), prints the port, serves connections one at a time and
exits when stdin closes. Methods: echo(v), add(a, b), fail(msg) -> error,
point(name) -> {"name", "n"}, note(...) notification, notes() -> count."""
import os
import select
import socket
import sys

import msgpack


def main():
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    print(lsock.getsockname()[1], flush=True)
    notes = [0]

    def handle(method, params):
        if method == "echo":
            return None, params[0]
        if method == "add":
            return None, params[0] + params[1]
        if method == "fail":
            return params[0], None
        if method == "point":
            return None, {"name": params[0], "n": 7, "tags": ["py"]}
        if method == "notes":
            return None, notes[0]
        return "'%s' method not found" % method, None

    while True:
        r, _, _ = select.select([lsock, sys.stdin], [], [])
        if sys.stdin in r:
            if not os.read(sys.stdin.fileno(), 1):
                return
            continue
        conn, _ = lsock.accept()
        unpacker = msgpack.Unpacker(raw=False)
        while True:
            data = conn.recv(65536)
            if not data:
                break
            unpacker.feed(data)
            out = []
            for msg in unpacker:
                if msg[0] == 2:
                    notes[0] += 1
                    continue
                _, msgid, method, params = msg
                err, result = handle(method, params)
                out.append(msgpack.packb([1, msgid, err, result], use_bin_type=True))
            if out:
                conn.sendall(b"".join(out))
        conn.close()


if __name__ == "__main__":
    main()
