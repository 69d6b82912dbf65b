"""Custom actions of 海珠商事登记助手 (run by the rasa-sdk action server).

rasa-sdk imports every submodule of this package at start-up, so modules here must stay cheap to import:
no database engine, model or network connection is created at import time.
"""

from core.logs import install as _install_log_redaction

_install_log_redaction()  # phone numbers and message texts never reach the logs of a process that uses actions/
