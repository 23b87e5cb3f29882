"""Runs `ttune lsp` with every outgoing socket connection refused and recorded (one line per
attempt in $TTUNE_TEST_NET_LOG), so the tests can show that the server never reaches a network."""

import os
import socket
import sys


def _refuse(self, *args, **kwargs):
    with open(os.environ["TTUNE_TEST_NET_LOG"], "a", encoding="utf-8") as f:
        f.write(f"connect {args!r}\n")
    raise OSError("network access attempted")


socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse

from ttune.cli.main import main  # noqa: E402  (after the patch, so nothing connects before it)

sys.argv = ["ttune", "lsp", *sys.argv[1:]]
main()
