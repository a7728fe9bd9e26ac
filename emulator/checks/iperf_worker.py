"""Run inside a host's namespace: one side of an iperf3 test through the iperf3 Python wrapper.

The wrapper needs libiperf0, and client and server must be separate processes
(one object per test). Prints the result as JSON.

`python -m emulator.checks.iperf_worker server --bind IP --port P`
`python -m emulator.checks.iperf_worker client --server IP --port P --duration S`
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def serve(bind: str, port: int) -> dict:
    import iperf3

    server = iperf3.Server()
    server.bind_address = bind
    server.port = port
    server.json_output = True
    result = server.run()
    return {"error": getattr(result, "error", None)}


def measure(server_ip: str, port: int, duration: int, connect_timeout: float = 5.0) -> dict:
    import iperf3

    deadline = time.monotonic() + connect_timeout
    while True:
        client = iperf3.Client()
        client.server_hostname = server_ip
        client.port = port
        client.duration = duration
        client.protocol = "tcp"
        client.json_output = True
        result = client.run()
        error = getattr(result, "error", None) if result is not None else "no result"
        if not error:
            return {"sent_mbps": result.sent_Mbps, "received_mbps": result.received_Mbps,
                    "retransmits": getattr(result, "retransmits", None), "error": None}
        if "connect" not in str(error) or time.monotonic() > deadline:
            return {"error": str(error)}
        del client
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="iperf_worker")
    sub = parser.add_subparsers(dest="role", required=True)
    server = sub.add_parser("server")
    server.add_argument("--bind", required=True)
    server.add_argument("--port", type=int, required=True)
    client = sub.add_parser("client")
    client.add_argument("--server", required=True)
    client.add_argument("--port", type=int, required=True)
    client.add_argument("--duration", type=int, default=3)
    args = parser.parse_args(argv)
    if args.role == "server":
        outcome = serve(args.bind, args.port)
    else:
        outcome = measure(args.server, args.port, args.duration)
    json.dump(outcome, sys.stdout)
    return 0 if not outcome.get("error") else 1


if __name__ == "__main__":
    sys.exit(main())
