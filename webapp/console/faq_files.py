"""Spreadsheet files of the knowledge section, shared by its pages and its JSON API: the export download and
the uploaded file of an import."""

from __future__ import annotations

from typing import Any, Tuple

from starlette.datastructures import UploadFile
from starlette.responses import Response

from core.curation import spreadsheet
from core.curation.repository import china_today, curation_repository


def export_response(status: str, fmt: str) -> Response:
    """The entries (of ``status``, or all) as an XLSX (or CSV) download. Runs in the thread pool."""
    with curation_repository() as repo:
        rows = spreadsheet.export_rows(repo.session, status)
        topics = repo.topics()
    stamp = china_today().replace("-", "")
    if fmt == "csv":
        content, media = spreadsheet.to_csv(rows), "text/csv; charset=utf-8"
    else:
        fmt = "xlsx"
        content = spreadsheet.to_xlsx(rows, topics)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    filename = f"haizhu-faq-{stamp}.{fmt}"
    return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def read_upload(form: Any) -> Tuple[bytes, str]:
    """The content (at most one byte over the limit, so the import refuses it) and name of the form's ``file``.
    Blocking reads: call it in the thread pool."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return b"", ""
    upload.file.seek(0)
    return upload.file.read(spreadsheet.MAX_BYTES + 1), upload.filename or ""
