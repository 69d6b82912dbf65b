"""Personal data kept out of the logs of every process (Rasa, the action server, the web app).

Installed as a log record factory (:func:`install`), so it applies to every logger and handler, including Rasa's
structlog output (rendered to a string before it reaches :mod:`logging`) and tracebacks:
- mobile and landline phone numbers and ID-card numbers are masked;
- the user's message text in Rasa's structured logs (``text``, ``user_message`` … fields) is replaced;
- SQL parameters in database errors (``[parameters: …]``) are dropped, and Rasa's JSON tracebacks lose the local
  variables of their frames. Our engines are also made with
  ``hide_parameters=True`` (core/db.py); Rasa's tracker store engine is not, hence this.

Debug logs of Rasa itself still quote messages (``LOG_LEVEL=DEBUG`` is for development only).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable

REDACTED = "[已隐去]"

_PATTERNS = (
    # SQLAlchemy's "[parameters: (...)]" line, up to the end of that line (a real or a JSON-escaped newline)
    (re.compile(r"\[parameters: (?:(?!\\n|\n).)*"), "[parameters: " + REDACTED + "]"),
    # message text fields in Rasa's structlog output: JSON ("text": "...") and key=value ('text=...')
    (
        re.compile(r'("(?:text|user_message|user_text|response_text|parse_data_text|message)": )"(?:[^"\\]|\\.)*"'),
        r'\1"' + REDACTED + '"',
    ),
    (
        re.compile(r"\b((?:text|user_message|user_text|parse_data_text)=)('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\S+)"),
        r"\1" + REDACTED,
    ),
    # ID-card numbers (18 characters), then mobile numbers (+86 optional, spaces or dashes allowed), then landlines
    (re.compile(r"(?<![0-9A-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![0-9A-Za-z])"), "[身份证号]"),
    (re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)"), "[手机号]"),
    (re.compile(r"(?<![\d-])0\d{2,3}-\d{7,8}(?!\d)"), "[电话]"),
)


_PERSONAL = _PATTERNS[-3:]


def mask_personal(text: str) -> str:
    """``text`` with ID-card, mobile and landline numbers replaced (for what staff read, e.g. unanswered questions)."""
    for pattern, replacement in _PERSONAL:
        text = pattern.sub(replacement, text)
    return text


def redact(text: str) -> str:
    """``text`` with phone and ID-card numbers, message texts and SQL parameters replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_formatter = logging.Formatter()


def _clean(value: Any) -> Any:
    """``value`` redacted; a non-string whose text holds personal data becomes its redacted text."""
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    shown = value if isinstance(value, str) else str(value)
    cleaned = redact(shown)
    return value if cleaned == shown else cleaned


def _redacting(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            # message and arguments apart, so formatters that read the arguments (access logs) keep working
            record.msg = _clean(record.msg)
            if isinstance(record.args, tuple):
                record.args = tuple(_clean(a) for a in record.args)
            elif isinstance(record.args, dict):
                record.args = {k: _clean(v) for k, v in record.args.items()}
            if record.exc_info and not record.exc_text:
                record.exc_text = redact(_formatter.formatException(record.exc_info))
        except Exception:  # noqa: BLE001 - logging must go on whatever a record holds
            pass
        return record

    make_record.redacting = True  # type: ignore[attr-defined]
    return make_record


def _structlog_tracebacks_without_locals() -> None:
    """Rasa's JSON logs render tracebacks with every frame's local variables (messages, SQL parameters, trackers):
    render them without. The processor list is changed in place, so loggers already in use follow."""
    try:
        import structlog
        from structlog.processors import ExceptionRenderer
        from structlog.tracebacks import ExceptionDictTransformer
    except ImportError:  # the web app and the action server do not use structlog
        return
    processors = structlog.get_config()["processors"]
    for index, processor in enumerate(processors):
        transformer = getattr(processor, "format_exception", None)
        if isinstance(processor, ExceptionRenderer) and getattr(transformer, "show_locals", False):
            processors[index] = ExceptionRenderer(ExceptionDictTransformer(show_locals=False))


def install() -> None:
    """Redact every log record made from now on in this process (idempotent; call it again after structlog was
    configured anew)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacting", False):
        logging.setLogRecordFactory(_redacting(current))
    _structlog_tracebacks_without_locals()
