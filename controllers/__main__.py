"""Start the os-ken controller for one plan: `python -m controllers --plan PLAN.json --port N [--status FILE]`.

os-ken 4 has no manager command; this launcher configures the listener and
runs the app with AppManager.run_apps, which blocks until the process is stopped.
With --standby it imports everything first and then waits for a line on standard
input before it listens: the runtime keeps one such process ready, so a
controller that dies is replaced in milliseconds instead of an interpreter start.
End of input (the runtime went away) ends a standby without listening.
"""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m controllers", description=__doc__)
    parser.add_argument("--plan", required=True, help="plan JSON written by the emulator")
    parser.add_argument("--port", type=int, required=True, help="OpenFlow TCP port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--status", help="file rewritten with the bridges whose flows are installed")
    parser.add_argument("--standby", action="store_true", help="import, then wait for a line on stdin to start")
    args = parser.parse_args(argv)

    from os_ken.lib import hub
    hub.patch(thread=False)

    from os_ken import cfg
    from os_ken.base.app_manager import AppManager
    import os_ken.controller.controller  # noqa: F401  (registers the ofp listen options)

    from controllers.cloud_router import CloudRouterApp

    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s %(message)s")
    cfg.CONF(args=["--ofp-tcp-listen-port", str(args.port), "--ofp-listen-host", args.host], project="os_ken")
    if args.standby and not sys.stdin.buffer.readline():
        return 0
    CloudRouterApp.plan_path = args.plan
    CloudRouterApp.status_path = args.status or ""
    AppManager.run_apps(["controllers.cloud_router"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
