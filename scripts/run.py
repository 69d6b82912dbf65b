"""`make run`: start the Rasa server, the action server and the web app; Ctrl-C stops all of them.

The servers are supervised (scripts/stack.py): one that exits or freezes is started again, the others keep running.
"""

from __future__ import annotations

import signal
import sys
import time

from scripts.stack import Stack, stack_environment


def console_sign_in(env) -> str:  # noqa: ANN001
    """How to get into the staff console: the administrator's account name and what to do without the password."""
    name = None
    try:
        from core import db
        from core.accounts import console_admin_name

        if env.get("DATABASE_URL"):
            db.configure(env["DATABASE_URL"])
        name = console_admin_name(env.get("CONSOLE_ADMIN_USER"))
    except Exception:  # noqa: BLE001 - only a hint; the servers run anyway
        name = None
    if name is None:
        return "no administrator yet: run `make db`"
    return f"sign in as {name!r}; lost the password? run `make admin-password` (prints a new one)"


def main() -> int:
    env = stack_environment()
    stack = Stack(env, supervise=True).start()
    stopping = False

    def _stop(_signum, _frame):  # noqa: ANN001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        print("Starting the servers (the Rasa model takes a little while to load)…", flush=True)
        seconds = None
        started = time.monotonic()
        while not stopping:
            if seconds is None:
                try:
                    stack.wait_ready(timeout=1.0)
                    seconds = time.monotonic() - started
                    print(
                        f"\nReady after {seconds:.0f} s:\n"
                        f"  Rasa REST:  POST http://localhost:{env['RASA_PORT']}/webhooks/rest/webhook\n"
                        f"  socket.io:  http://localhost:{env['RASA_PORT']}/socket.io\n"
                        f"  actions:    http://localhost:{env['ACTION_PORT']}/webhook\n"
                        + (f"  web chat:   http://localhost:{env['WEB_PORT']}/\n"
                           f"  console:    http://localhost:{env['WEB_PORT']}/console  ({console_sign_in(env)})\n"
                           if "web" in stack.processes else "")
                        + "Press Ctrl-C to stop.",
                        flush=True,
                    )
                except TimeoutError:
                    pass
            time.sleep(0.5)
    finally:
        print("\nStopping…", flush=True)
        stack.stop()
        print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
