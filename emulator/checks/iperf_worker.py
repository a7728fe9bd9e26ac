"""Run inside a host's namespace: one side of an iperf3 test through the iperf3 Python wrapper.

The wrapper needs libiperf0, and client and server must be separate processes
(one object per test). Prints the result as JSON.

`python -m emulator.checks.iperf_worker server --bind IP --port P`
`python -m emulator.checks.iperf_worker client --server IP --port P --duration S
    [--udp --bandwidth BPS --length BYTES] [--streams N] [--reverse]`
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
import time

# Both ends' UDP socket buffers (iperf3 -w; the server takes the client's value). The default 208 KiB holds 17 ms
# of a 95 Mbit/s stream: with a CPU-bound process beside it, the receiving iperf3 was descheduled for longer and
# the kernel dropped datagrams at its socket (the receiver's RcvbufErrors equalled iperf3's lost count, 0.5 to
# 7% in 4 runs, while the line and every bridge dropped none). 4 MiB holds 350 ms; net.core.rmem_max allows it.
UDP_SOCKET_BUFFER = 4 * 1024 * 1024
# TCP is measured after its first second (iperf3 -O 1, the usual practice): slow start through the shipped
# scenario's 34 ms RTT is not what the line carries. With a CPU-bound process beside the run, that first second
# carried 45-78 Mbit/s of a 100 Mbit/s line and the next ones 83-98 (no retransmits): 3-s checks measured 69.7-88
# before, 84.6-94.3 with it (8 runs each). Without delay on the path the first second is already at the rate.
TCP_OMIT_S = 1


def serve(bind: str, port: int) -> dict:
    import iperf3

    server = iperf3.Server()
    server.bind_address = bind
    server.port = port
    server.json_output = True
    result = server.run()
    return {"error": getattr(result, "error", None)}


def udp_figures(report: dict) -> dict:
    """The receiver's view of a UDP test from iperf3's JSON (3.12 puts it in sum_received, older ones in sum)."""
    end = report.get("end", {})
    received = end.get("sum_received") or end.get("sum", {})
    sent = end.get("sum_sent") or end.get("sum", {})
    summary = end.get("sum", {})
    return {"sent_mbps": sent.get("bits_per_second", 0) / 1e6,
            "received_mbps": received.get("bits_per_second", 0) / 1e6,
            "jitter_ms": summary.get("jitter_ms"), "lost_packets": summary.get("lost_packets"),
            "packets": summary.get("packets"), "lost_percent": summary.get("lost_percent")}


def measure(server_ip: str, port: int, duration: int, connect_timeout: float = 5.0, *, udp: bool = False,
            bandwidth_bps: int = 0, length: int = 0, streams: int = 1, reverse: bool = False) -> dict:
    import iperf3

    deadline = time.monotonic() + connect_timeout
    while True:
        client = iperf3.Client()
        client.server_hostname = server_ip
        client.port = port
        client.duration = duration
        client.protocol = "udp" if udp else "tcp"
        client.num_streams = streams
        client.reverse = reverse
        if bandwidth_bps:
            client.bandwidth = bandwidth_bps
        if length:
            client.blksize = length
        if udp:
            set_buffer = client.lib.iperf_set_test_socket_bufsize
            set_buffer.argtypes = [ctypes.c_void_p, ctypes.c_int]
            set_buffer(client._test, UDP_SOCKET_BUFFER)
        if not udp:
            client.omit = TCP_OMIT_S
        client.json_output = True
        # The receiver's per-second figures: the server's when it receives (libiperf's --get-server-output).
        set_server_output = client.lib.iperf_set_test_get_server_output
        set_server_output.argtypes = [ctypes.c_void_p, ctypes.c_int]
        set_server_output(client._test, 1)
        result = client.run()
        error = getattr(result, "error", None) if result is not None else "no result"
        if not error:
            receiver = result.json if reverse else result.json.get("server_output_json", result.json)
            intervals = measured_intervals(receiver)
            if udp:
                return {**udp_figures(result.json), "intervals_mbps": intervals, "error": None}
            return {"sent_mbps": result.sent_Mbps, "received_mbps": result.received_Mbps,
                    "retransmits": getattr(result, "retransmits", None), "intervals_mbps": intervals, "error": None}
        if "connect" not in str(error) or time.monotonic() > deadline:
            return {"error": str(error)}
        del client
        time.sleep(0.2)


def measured_intervals(receiver: dict) -> list[float]:
    """The receiver's per-second Mbit/s over the seconds the figure covers: not the omitted first second (TCP),
    nor the fraction of a second the server reports after the end (the plot drew 5 points for a 3 s test)."""
    return [interval["sum"]["bits_per_second"] / 1e6 for interval in receiver.get("intervals", [])
            if not interval["sum"].get("omitted") and interval["sum"].get("seconds", 1.0) >= 0.5]


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
    client.add_argument("--udp", action="store_true")
    client.add_argument("--bandwidth", type=int, default=0, help="bits per second (UDP offered load)")
    client.add_argument("--length", type=int, default=0, help="bytes per datagram or write")
    client.add_argument("--streams", type=int, default=1)
    client.add_argument("--reverse", action="store_true", help="the server sends")
    args = parser.parse_args(argv)
    if args.role == "server":
        outcome = serve(args.bind, args.port)
    else:
        outcome = measure(args.server, args.port, args.duration, udp=args.udp, bandwidth_bps=args.bandwidth,
                          length=args.length, streams=args.streams, reverse=args.reverse)
    json.dump(outcome, sys.stdout)
    return 0 if not outcome.get("error") else 1


if __name__ == "__main__":
    sys.exit(main())
