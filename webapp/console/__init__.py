"""The CBSO officers' console at ``/console`` (Chinese, works on a phone) and the hand-off poll endpoint.

Officers sign in (accounts in the database, argon2 hashes; the first administrator comes from CONSOLE_ADMIN_USER /
CONSOLE_ADMIN_PASSWORD or a random password printed once by ``make db``), see the queue of open tickets by topic
and age, open a ticket (transcript, reply box, claim, transfer, resolve, staff-only notes) and, as administrators,
manage accounts, office hours and read the audit log. ``security`` holds sessions, CSRF and headers; ``views``
the pages; ``api`` the endpoint the web chat polls for officer replies.
"""
