"""Export and import of entries as .xlsx and .csv: round trips, row-by-row errors, all-or-nothing."""

from __future__ import annotations

import csv
import io
import time
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from core.curation import spreadsheet
from core.curation.models import EntryVersion
from core.curation.repository import curation_repository
from core.curation.spreadsheet import COLUMNS, ImportRefused, import_file
from core.db import session_scope
from core.knowledge.models import KnowledgeEntry
from tests.utils.curation import ADMIN, EDITOR, entry_data

HEADERS = {key: header for key, header in COLUMNS}


def export(fmt: str = "xlsx", status: str = "") -> bytes:
    with curation_repository() as repo:
        rows = spreadsheet.export_rows(repo.session, status)
        return spreadsheet.to_xlsx(rows, repo.topics()) if fmt == "xlsx" else spreadsheet.to_csv(rows)


def state() -> tuple:
    """Everything an import could change: every entry's version and status, and the number of versions kept."""
    with session_scope() as session:
        entries = tuple(session.execute(select(KnowledgeEntry.id, KnowledgeEntry.version, KnowledgeEntry.status)).all())
        versions = session.execute(select(func.count(EntryVersion.id))).scalar()
    return entries, versions


def csv_file(rows: list, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode(encoding)


def edit_xlsx(content: bytes, entry_id: str, **changes: str) -> bytes:
    book = load_workbook(io.BytesIO(content))
    sheet = book["问答"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[header.index(HEADERS["id"])].value == entry_id:
            for key, value in changes.items():
                row[header.index(HEADERS[key])].value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_unchanged_export_imports_as_unchanged(database):
    before = state()
    result = import_file(export("xlsx"), "faq.xlsx", ADMIN)
    assert result.created == [] and result.updated == [] and len(result.unchanged) == len(before[0])
    assert state() == before
    result = import_file(export("csv"), "faq.csv", ADMIN)
    assert result.updated == [] and len(result.unchanged) == len(before[0])


def test_an_edited_xlsx_changes_that_entry_only_and_is_versioned(database):
    content = edit_xlsx(export("xlsx"), "startup.process", answer="开办企业半天办结（表格导入的修改）。", status="已发布")
    result = import_file(content, "faq.xlsx", ADMIN)
    assert result.updated == ["startup.process"] and result.created == []
    with curation_repository() as repo:
        row = repo.entry("startup.process")
        assert row.answer == "开办企业半天办结（表格导入的修改）。" and row.updated_by == "chief"
        note = repo.history("startup.process")[0].note
    assert note.startswith("导入（faq.xlsx）第 ") and note.endswith(" 行")


def test_a_csv_from_excel_in_gbk_with_a_new_row_creates_a_draft(database):
    data = entry_data(status="")
    rows = [
        ["主题", "标准问题", "相似问法", "答案", "来源", "规定日期", "复核日期"],
        ["开办企业", data["question"], "政务中心有母婴室吗\n哪里可以喂奶", data["answer"], data["source"], "2024-05", "2025-01-10"],
    ]
    result = import_file(csv_file(rows, "gb18030"), "新问答.csv", ADMIN)
    assert len(result.created) == 1
    with curation_repository() as repo:
        row = repo.entry(result.created[0])
        assert (row.status, row.topic_id, row.paraphrases) == ("draft", "startup", ["政务中心有母婴室吗", "哪里可以喂奶"])


def test_an_import_with_one_bad_row_changes_nothing_and_says_which_row_and_why(database):
    before = state()
    good = entry_data()
    rows = [
        ["编号", "主题", "状态", "标准问题", "答案", "来源", "规定日期", "复核日期"],
        ["", "开办企业", "已发布", good["question"], good["answer"], good["source"], "2024-05", "2025-01-10"],
        ["", "开办企业", "已发布", "第二个问题：大厅有饮水机吗", "有，大厅每层都有饮水机。", "", "2024-05", "2025/01/10"],
        ["", "没有的主题", "发布吧", "第三个问题", "答案里写了待确认的内容。", "某某文件第一条", "2024", "2025-01-10"],
    ]
    with pytest.raises(ImportRefused) as refused:
        import_file(csv_file(rows), "bad.csv", ADMIN)
    problems = [(p.row, p.column) for p in refused.value.problems]
    assert (3, "来源") in problems and (3, "复核日期") in problems
    assert (4, "主题") in problems and (4, "状态") in problems and (4, "答案") in problems
    assert all(row != 2 for row, _ in problems)
    assert "没有任何修改" in refused.value.message
    assert state() == before  # the good row 2 was not applied either
    text = str(refused.value.problems[0])
    assert text.startswith("第 3 行「")


def test_a_row_for_an_entry_changed_since_the_export_is_refused(database):
    content = edit_xlsx(export("xlsx"), "startup.free", answer="表格里的修改：刻章免费，发票免费。")
    with curation_repository() as repo:
        row = repo.entry("startup.free")
        repo.update("startup.free", {"answer": "同事在控制台里先改了：刻章免费。"}, row.version, ADMIN)
    before = state()
    with pytest.raises(ImportRefused) as refused:
        import_file(content, "faq.xlsx", ADMIN)
    assert any("您打开的是第 1 版，现在是第 2 版" in p.message for p in refused.value.problems)
    assert state() == before


def test_an_existing_id_without_its_version_is_refused(database):
    rows = [["编号", "答案"], ["startup.free", "没有版本号的修改，应该被拒绝。"]]
    with pytest.raises(ImportRefused) as refused:
        import_file(csv_file(rows), "faq.csv", ADMIN)
    assert refused.value.problems[0].column == "版本"


def test_an_editor_cannot_publish_by_import_while_review_is_on(database):
    rows = [["主题", "状态", "标准问题", "答案", "来源", "规定日期", "复核日期"],
            ["开办企业", "已发布", "编辑导入的问题", "编辑导入的答案，应该需要审核。", "某某文件第一条", "2024", "2025-01-10"]]
    before = state()
    with pytest.raises(ImportRefused) as refused:
        import_file(csv_file(rows), "faq.csv", EDITOR)
    assert "审核" in refused.value.problems[0].message and state() == before
    rows[1][1] = "草稿"
    assert len(import_file(csv_file(rows), "faq.csv", EDITOR).created) == 1


def test_a_dry_run_checks_everything_and_keeps_nothing(database):
    before = state()
    content = edit_xlsx(export("xlsx"), "startup.process", answer="只检查，不导入的修改内容。")
    result = import_file(content, "faq.xlsx", ADMIN, dry_run=True)
    assert result.updated == ["startup.process"] and "检查通过" in result.summary()
    assert state() == before


def test_cells_a_spreadsheet_would_run_as_formulas_stay_text(database):
    formula = '=HYPERLINK("http://evil.example","点我")'
    with curation_repository() as repo:
        entry_id = repo.create(entry_data(answer=formula + " 这是答案。", question="+1 开头的问题"), ADMIN).entry.id
    book = load_workbook(io.BytesIO(export("xlsx")))
    sheet = book["问答"]
    header = [c.value for c in sheet[1]]
    cells = {row[header.index("编号")].value: row for row in sheet.iter_rows(min_row=2)}
    answer_cell = cells[entry_id][header.index("答案")]
    assert answer_cell.data_type == "s" and answer_cell.value.startswith("=HYPERLINK")
    text = export("csv").decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'+1 开头的问题" in text
    result = import_file(export("csv"), "faq.csv", ADMIN)  # the ' prefix is removed again on import
    assert entry_id in result.unchanged


@pytest.mark.parametrize(
    ("content", "name", "words"),
    [
        (b"", "a.csv", "空"),
        (b"%PDF-1.4 not a spreadsheet", "a.pdf", ".xlsx"),
        (b"PK\x03\x04broken zip", "a.xlsx", "无法读取"),
        ("标准问题,奇怪的列\n问题,值\n".encode(), "a.csv", "无法识别的列名"),
        ("答案\n只有答案没有问题\n".encode(), "a.csv", "缺少「标准问题」列"),
        (b"\x00\x01\x02binary", "a.csv", "不是文本"),
    ],
)
def test_files_that_are_not_our_spreadsheets_are_refused_clearly(database, content, name, words):
    before = state()
    with pytest.raises(ImportRefused) as refused:
        import_file(content, name, ADMIN)
    assert any(words in str(p) for p in refused.value.problems), refused.value.problems
    assert state() == before


def test_duplicate_ids_and_too_many_rows_are_refused(database, monkeypatch):
    rows = [["编号", "标准问题", "版本"], ["startup.free", "甲", "1"], ["startup.free", "乙", "1"]]
    with pytest.raises(ImportRefused) as refused:
        import_file(csv_file(rows), "dup.csv", ADMIN)
    assert "重复" in refused.value.problems[-1].message
    monkeypatch.setattr(spreadsheet, "MAX_ROWS", 2)
    rows = [["标准问题"], ["一"], ["二"], ["三"]]
    with pytest.raises(ImportRefused) as refused:
        import_file(csv_file(rows), "many.csv", ADMIN)
    assert "行数太多" in refused.value.problems[0].message


def _with_sheet_xml(workbook: bytes, sheet_xml: bytes) -> bytes:
    """``workbook`` with its first sheet's XML replaced (the rest of the package kept as it is)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = sheet_xml if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename)
            target.writestr(item.filename, data)
    return out.getvalue()


def test_a_small_xlsx_that_unpacks_to_a_huge_cell_is_refused_before_parsing(database):
    """A 'zip bomb' cell: a few hundred KB that would unpack to 40 MB of XML (the review's 300 MB cell took 2 min
    and 3.4 GB) is refused from the zip directory alone."""
    cell = b"A" * (40 * 1024 * 1024)
    sheet = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             b'<row r="1"><c r="A1" t="inlineStr"><is><t>' + cell + b"</t></is></c></row></sheetData></worksheet>")
    bomb = _with_sheet_xml(export(), sheet)
    del cell, sheet
    assert len(bomb) < spreadsheet.MAX_BYTES
    before = state()
    started = time.monotonic()
    with pytest.raises(ImportRefused) as refused:
        import_file(bomb, "bomb.xlsx", ADMIN)
    assert time.monotonic() - started < 2
    assert "解压后" in refused.value.problems[0].message
    assert state() == before


def test_an_xlsx_with_broken_xml_is_refused_in_chinese(database):
    """Broken XML after the sheet's <dimension> only fails while the rows are read (the review got a 500)."""
    workbook = export()
    with zipfile.ZipFile(io.BytesIO(workbook)) as package:
        sheet = package.read("xl/worksheets/sheet1.xml")
    broken = _with_sheet_xml(workbook, sheet.replace(b"</sheetData>", b"<row r='999'><c><v>1</v></row></sheetData>"))
    before = state()
    with pytest.raises(ImportRefused) as refused:
        import_file(broken, "broken.xlsx", ADMIN)
    assert "无法读取" in refused.value.problems[0].message
    assert state() == before
