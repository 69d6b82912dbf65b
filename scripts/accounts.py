"""Console accounts from the command line (`make admin-password`): a new random password, printed once; the list."""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from core.accounts import account_repository, operating_system_user, reset_password


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.accounts", description="Console accounts.")
    commands = parser.add_subparsers(dest="command", required=True)
    reset = commands.add_parser("reset-password", help="give an account a new random password, printed once")
    reset.add_argument("username", nargs="?", help="the account (default: the console administrator)")
    commands.add_parser("list", help="list the accounts")
    args = parser.parse_args(argv)

    # the same database as `make run`, which also reads .env
    from scripts.stack import load_dotenv

    for key, value in load_dotenv().items():
        os.environ.setdefault(key, value)
    from core.db import create_schema

    try:
        create_schema()
    except Exception as exc:  # noqa: BLE001 - say what is wrong instead of a traceback
        print(f"The database could not be opened: {exc}", file=sys.stderr)
        return 1
    if args.command == "list":
        with account_repository() as accounts:
            for o in accounts.officers():
                print(f"{o.username:<24} {o.role:<8} {'active' if o.active else 'inactive':<9} {o.display_name}")
        return 0
    try:
        username, password = reset_password(args.username, by=operating_system_user())
    except LookupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(
        "\n  ================================================================\n"
        f"  控制台账号 / console account: {username}\n"
        f"  新密码 / new password (shown only this once): {password}\n"
        "  此账号已在所有设备上退出；登录后请在「修改密码」中更换。\n"
        "  Signed out everywhere; change it after signing in (修改密码).\n"
        "  ================================================================\n",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
