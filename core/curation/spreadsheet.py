"""Export and import of the knowledge entries as .xlsx (openpyxl) and .csv, because staff work in spreadsheets.

One row per entry, Chinese column headers (the English field names are accepted too). An import is checked row
by row with the same rules and permissions as an edit in the console, inside one transaction: if any row has a
problem, nothing is applied and every problem is reported with its row number and column. A row with a 编号 (id)
changes that entry and must carry the 版本 (version) it was exported at, so an entry someone changed since the
export is not overwritten; a row without one creates an entry. Only the columns present in the file are changed.

Cells that a spreadsheet would run as a formula (starting with = + - @) are written as text: typed as strings in
.xlsx, prefixed with ' in .csv (and the prefix is removed again on import).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import select

from core.catalogue import catalogue, labels, message
from core.curation.repository import (
    Actor,
    CurationError,
    CurationRepository,
    InvalidEntry,
    VersionConflict,
    china_today,
)
from core.curation.validation import LABELS, STATUS_LABELS, clean_text
from core.knowledge.models import KnowledgeEntry, Topic

MAX_BYTES = 5 * 1024 * 1024
# an .xlsx is a zip: the sum of its members' unpacked sizes (far above a normal export of 2,000 rows)
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_ROWS = 2000
MAX_COLUMNS = 40

READ_ONLY = ("intent", "updated_by", "updated_at")  # exported for information, ignored on import
_HINTS = labels("spreadsheet_hints")
# (field, header): the field's label (knowledge/console.yml) and what the column adds to it
COLUMNS: Sequence[Tuple[str, str]] = tuple(
    (key, LABELS[key] + (_HINTS["read_only"] if key in READ_ONLY else _HINTS.get(key, "")))
    for key in ("id", "topic_id", "status", "question", "paraphrases", "answer", "to_confirm", "source", "source_url",
                "rule_date", "reviewed", "version") + READ_ONLY
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_STATUS_WORDS = {**{label: status for status, label in STATUS_LABELS.items()}, **{
    word: status for status, words in catalogue()["spreadsheet"]["status_words"].items() for word in words}}


def _say(name: str, **values: Any) -> str:
    return message(f"spreadsheet.{name}", **values)


def _header_key(header: str) -> Optional[str]:
    text = clean_text(header, multiline=False).lower()
    for key, label in COLUMNS:
        if text in (key, label.lower(), label.split("（")[0].lower()):
            return key
    aliases = {"topic": "topic_id", "version": "version",
               **{word: "question" for word in catalogue()["spreadsheet"]["question_headers"]}}
    return aliases.get(text)


# ---- export -----------------------------------------------------------------------------------------------------------


def export_rows(session, status: str = "") -> List[Dict[str, str]]:
    """One dict per entry (header → text), in topic and id order."""
    titles = {t.id: t.title for t in session.execute(select(Topic)).scalars()}
    query = select(KnowledgeEntry).order_by(KnowledgeEntry.topic_id, KnowledgeEntry.id)
    if status:
        query = query.where(KnowledgeEntry.status == status)
    rows = []
    for entry in session.execute(query).scalars():
        values = {
            "id": entry.id,
            "topic_id": titles.get(entry.topic_id, entry.topic_id),
            "status": STATUS_LABELS.get(entry.status, entry.status),
            "question": entry.question,
            "paraphrases": "\n".join(entry.paraphrases or []),
            "answer": entry.answer or "",
            "to_confirm": entry.to_confirm or "",
            "source": entry.source or "",
            "source_url": entry.source_url or "",
            "rule_date": entry.rule_date or "",
            "reviewed": entry.reviewed or "",
            "version": str(entry.version),
            "intent": entry.intent or "",
            "updated_by": entry.updated_by or "",
            "updated_at": entry.updated_at.strftime("%Y-%m-%d %H:%M UTC") if entry.updated_at else "",
        }
        rows.append({header: values[key] for key, header in COLUMNS})
    return rows


def to_csv(rows: List[Dict[str, str]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for _key, header in COLUMNS])
    for row in rows:
        writer.writerow([_csv_safe(row[header]) for _key, header in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_safe(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_xlsx(rows: List[Dict[str, str]], topics: Iterable[Topic]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = _say("sheet")
    headers = [header for _key, header in COLUMNS]
    sheet.append(headers)
    widths = {"question": 30, "paraphrases": 30, "answer": 60, "to_confirm": 30, "source": 30, "source_url": 24}
    for index, (key, _header) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True, color="FFFFFF" if key not in READ_ONLY else "000000")
        cell.fill = PatternFill("solid", fgColor="0B3D6B" if key not in READ_ONLY else "D9D9D9")
        sheet.column_dimensions[cell.column_letter].width = widths.get(key, 14)
    for r, row in enumerate(rows, start=2):
        for c, header in enumerate(headers, start=1):
            cell = sheet.cell(row=r, column=c)
            cell.value = row[header]
            cell.data_type = "s"  # text, never a formula
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "B2"
    notes = book.create_sheet(_say("notes_sheet"))
    for line in _instructions(topics):
        notes.append([line])
        notes.cell(row=notes.max_row, column=1).data_type = "s"
    notes.column_dimensions["A"].width = 110
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _instructions(topics: Iterable[Topic]) -> List[str]:
    return [
        *(str(line).format(today=china_today()) for line in catalogue()["spreadsheet"]["instructions"]),
        *[_say("topic_line", title=t.title, id=t.id) for t in topics],
    ]


# ---- import -----------------------------------------------------------------------------------------------------------


@dataclass
class RowProblem:
    row: int  # the row number as the spreadsheet shows it (header = 1); 0 for the whole file
    column: str
    message: str

    def __str__(self) -> str:
        where = _say("row", row=self.row) if self.row else _say("file")
        return f"{where}{'「' + self.column + '」' if self.column else ''}：{self.message}"


@dataclass
class ImportResult:
    created: List[str] = field(default_factory=list)
    updated: List[str] = field(default_factory=list)
    unchanged: List[str] = field(default_factory=list)
    problems: List[RowProblem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        verb = _say("checked") if self.dry_run else _say("imported")
        return _say("summary", verb=verb, created=len(self.created), updated=len(self.updated),
                    unchanged=len(self.unchanged))


class ImportRefused(CurationError):
    """The file, or one of its rows, has problems: nothing was imported."""

    status = 400
    code = "import_refused"

    def __init__(self, problems: List[RowProblem]) -> None:
        super().__init__(_say("refused", count=len(problems)))
        self.problems = problems


def read_table(content: bytes, filename: str) -> List[Tuple[int, Dict[str, Any]]]:
    """The data rows of an .xlsx or .csv file as (row number, field → raw value); raises ImportRefused."""
    if not content:
        raise ImportRefused([RowProblem(0, "", _say("empty"))])
    if len(content) > MAX_BYTES:
        raise ImportRefused([RowProblem(0, "", _say("too_large", mb=MAX_BYTES // (1024 * 1024)))])
    name = (filename or "").lower()
    if name.endswith(".xlsx") or content[:2] == b"PK":
        table = _xlsx_rows(content)
    elif name.endswith(".csv") or name.endswith(".txt") or not name:
        table = _csv_rows(content)
    else:
        raise ImportRefused([RowProblem(0, "", _say("formats"))])
    if not table:
        raise ImportRefused([RowProblem(0, "", _say("no_header"))])
    header, *body = table
    keys: List[Optional[str]] = []
    problems: List[RowProblem] = []
    for text in header[:MAX_COLUMNS]:
        label = clean_text(text, multiline=False)
        key = _header_key(label) if label else None
        if label and key is None:
            problems.append(RowProblem(1, label[:30], _say("unknown_column")))
        if key is not None and key in keys:
            problems.append(RowProblem(1, label[:30], _say("duplicate_column")))
        keys.append(key)
    if "question" not in keys and "id" not in keys:
        problems.append(RowProblem(1, "", _say("no_question_column")))
    if len(body) > MAX_ROWS:
        problems.append(RowProblem(0, "", _say("too_many_rows", max=MAX_ROWS)))
    if problems:
        raise ImportRefused(problems)
    rows = []
    for number, cells in enumerate(body, start=2):
        values = {key: _unescape(cells[i]) if i < len(cells) else None for i, key in enumerate(keys) if key}
        if any(clean_text(v) for v in values.values()):
            rows.append((number, values))
    return rows


def _unescape(value: Any) -> Any:
    if isinstance(value, str) and value[:1] == "'" and value[1:2] and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def _unreadable(exc: BaseException) -> ImportRefused:
    return ImportRefused([RowProblem(0, "", _say("bad_xlsx", error=type(exc).__name__))])


def _check_unpacked_size(content: bytes) -> None:
    """Refuse a package whose members would unpack to more than MAX_UNPACKED_BYTES, from the zip directory alone
    (zipfile never inflates a member past the size its directory declares, so the check cannot be lied to)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            unpacked = sum(item.file_size for item in package.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _unreadable(exc) from exc
    if unpacked > MAX_UNPACKED_BYTES:
        limit = MAX_UNPACKED_BYTES // (1024 * 1024)
        raise ImportRefused([RowProblem(0, "", _say("unpacked_too_large", mb=limit))])


def _xlsx_rows(content: bytes) -> List[List[Any]]:
    from openpyxl import load_workbook

    _check_unpacked_size(content)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the user's file, not our bug
        raise _unreadable(exc) from exc
    try:
        sheet = book.worksheets[0]
        table = []
        for cells in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            table.append(list(cells))
            if len(table) > MAX_ROWS + 1:
                break
        while table and not any(v not in (None, "") for v in table[-1]):
            table.pop()
        return table
    except Exception as exc:  # noqa: BLE001 - read-only sheets are parsed while iterating: broken XML shows here
        raise _unreadable(exc) from exc
    finally:
        book.close()


def _csv_rows(content: bytes) -> List[List[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise ImportRefused([RowProblem(0, "", _say("encoding"))])
    if "\x00" in text:
        raise ImportRefused([RowProblem(0, "", _say("not_text"))])
    try:
        table = []
        for cells in csv.reader(io.StringIO(text, newline="")):
            table.append(cells[:MAX_COLUMNS])
            if len(table) > MAX_ROWS + 1:
                break
        return table
    except csv.Error as exc:
        raise ImportRefused([RowProblem(0, "", _say("bad_csv", error=exc))]) from exc


def import_rows(
    repo: CurationRepository, rows: List[Tuple[int, Dict[str, Any]]], actor: Actor, note: str = "", dry_run: bool = False
) -> ImportResult:
    """Apply every row in the caller's transaction, or raise ImportRefused listing every problem (the caller's
    transaction then rolls back, so nothing of the file is kept). ``dry_run`` checks and then raises too."""
    result = ImportResult(dry_run=dry_run)
    seen: Dict[str, int] = {}
    for number, values in rows:
        entry_id = clean_text(values.get("id"), multiline=False)
        if entry_id and entry_id in seen:
            result.problems.append(RowProblem(number, LABELS["id"], _say("duplicate_id", id=entry_id, row=seen[entry_id])))
            continue
        if entry_id:
            seen[entry_id] = number
        data = {k: v for k, v in values.items() if k not in ("id", "version") and k not in READ_ONLY}
        if "status" in data:
            word = clean_text(data["status"], multiline=False)
            data["status"] = _STATUS_WORDS.get(word, word.lower())
        where = _say("import_row_of", file=note, row=number) if note else _say("import_row", row=number)
        try:
            existing = repo.find(entry_id) if entry_id else None
            if existing is None:
                change = repo.create(data, actor, entry_id or None, note=where)
                result.created.append(change.entry.id)
                continue
            for key in ("status", "topic_id"):
                if key in data and not clean_text(data[key]):
                    del data[key]
            version = _version(values.get("version"))
            if version is None:
                raise InvalidEntry({"version": _say("version_needed")})
            change = repo.update(entry_id, data, version, actor, note=where)
            (result.updated if change.version else result.unchanged).append(entry_id)
        except InvalidEntry as exc:
            result.problems.extend(RowProblem(number, LABELS.get(k, k), v) for k, v in exc.errors.items())
            if not exc.errors:
                result.problems.append(RowProblem(number, "", exc.message))
        except CurationError as exc:
            result.problems.append(RowProblem(number, "", exc.message))
            if isinstance(exc, VersionConflict) and exc.current is None:
                break  # a save raced this import: the transaction is spoilt, stop here (nothing is kept)
    if result.problems:
        raise ImportRefused(result.problems)
    if not dry_run:
        repo.audit(
            actor,
            "faq_import",
            _say("audit_import", file=note, created=len(result.created), updated=len(result.updated), unchanged=len(result.unchanged)),
        )
    return result


def _version(value: Any) -> Optional[int]:
    text = clean_text(value, multiline=False)
    if not text:
        return None
    try:
        return int(float(text))
    except ValueError:
        return None



def import_file(content: bytes, filename: str, actor: Actor, dry_run: bool = False) -> ImportResult:
    """Read and import a file in one transaction of its own: all rows or none. A refused import is audited."""
    from core.db import session_factory, session_scope

    note = clean_text(filename, multiline=False)[-80:] or _say("a_table")
    try:
        rows = read_table(content, filename)
        session = session_factory()()
        try:
            result = import_rows(CurationRepository(session), rows, actor, note=note, dry_run=dry_run)
            if dry_run:
                session.rollback()
            else:
                session.commit()
            return result
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
    except ImportRefused as refused:
        if not dry_run:
            with session_scope() as session:
                CurationRepository(session).audit(actor, "faq_import_refused", _say("audit_refused", file=note, count=len(refused.problems)))
        raise
