"""`parley-stack`: the local stack from the command line (the Makefile calls this)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from parley_devstack.processes import StackError
from parley_devstack.stack import Stack


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="parley-stack", description=__doc__)
    parser.add_argument("--profile", choices=("run", "test"), default="run")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start PostgreSQL, Redis and Kafka (idempotent)")
    sub.add_parser("down", help="stop them (data is kept)")
    sub.add_parser("status", help="what is running")
    sub.add_parser("endpoints", help="addresses of the running stack, as JSON")
    sub.add_parser("run", help="the whole platform in the foreground (`make run`)")
    sub.add_parser("stop", help="stop a running `make run` from another terminal")
    sub.add_parser(
        "provision",
        help="create and migrate every service database on an existing PostgreSQL "
        "(docker compose, Kubernetes jobs): PARLEY_POSTGRES_ADMIN_DSN, and per service "
        "PARLEY_<SERVICE>_DB_OWNER_PASSWORD / _DB_APP_PASSWORD",
    )
    args = parser.parse_args(argv)

    stack = Stack(args.profile)
    try:
        if args.command == "up":
            endpoints = stack.up()
            print(
                f"PostgreSQL 127.0.0.1:{endpoints.postgres_port}  Redis {endpoints.redis_url}  "
                f"Kafka {endpoints.kafka_bootstrap}"
            )
        elif args.command == "down":
            stack.down()
        elif args.command == "status":
            for name, running in stack.status().items():
                print(f"{name:10} {'running' if running else 'stopped'}")
        elif args.command == "endpoints":
            print(json.dumps(asdict(stack.endpoints()), indent=2))
        elif args.command == "run":
            from parley_devstack.platform import run_platform

            run_platform(stack)
        elif args.command == "provision":
            from parley_devstack.services import provision_all_from_environment

            provision_all_from_environment()
        elif args.command == "stop":
            from parley_devstack.platform import stop_platform

            if not stop_platform(stack):
                stack.down()  # no supervisor: stop any infrastructure left behind
            print("stopped")
    except StackError as exc:
        print(f"parley-stack: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
