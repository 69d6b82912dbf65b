"""The spaCy material extractor: synonyms, negation, typos, Traditional characters and Cantonese, bad input.

These sentences are the development set; the held-out set (tests/materials/extraction_heldout.yml) is only
measured (scripts/materials_report.py).
"""

from __future__ import annotations

import pytest

from core.materials.extraction import HAS, LACKS, MENTION, assign_polarity, get_extractor
from core.materials.schema import load_knowledge


@pytest.fixture(scope="module")
def extractor():
    return get_extractor()


def _read(extractor, text):
    return {(m.material, m.polarity) for m in extractor.extract(text)}


@pytest.mark.parametrize(
    "text, expected",
    [
        # synonyms
        ("我有身份证", {("身份证明", HAS)}),
        ("身份证明带来了", {("身份证明", HAS)}),
        ("身份证复印件有", {("身份证明", HAS)}),
        ("租房合同签了", {("租赁合同", HAS)}),
        ("有租赁合同", {("租赁合同", HAS)}),
        ("房屋租赁协议我有", {("租赁合同", HAS)}),
        ("我有房产证", {("产权证明", HAS)}),
        ("不动产权证书在我手上", {("产权证明", HAS)}),
        ("产权证明有的", {("产权证明", HAS)}),
        ("章程写好了", {("公司章程", HAS)}),
        ("公司章程写好了", {("公司章程", HAS)}),
        # negation, before and after, over lists, mixed
        ("还没有章程", {("公司章程", LACKS)}),
        ("房产证没有", {("产权证明", LACKS)}),
        ("没有章程和租房合同", {("公司章程", LACKS), ("租赁合同", LACKS)}),
        ("章程和房产证都没有", {("公司章程", LACKS), ("产权证明", LACKS)}),
        ("身份证有，章程没有", {("身份证明", HAS), ("公司章程", LACKS)}),
        ("有身份证但没有章程", {("身份证明", HAS), ("公司章程", LACKS)}),
        ("有章程没有身份证", {("公司章程", HAS), ("身份证明", LACKS)}),
        ("就差一份合伙协议", {("合伙协议", LACKS)}),
        ("除了章程都齐了", {("公司章程", LACKS)}),
        ("清税证明还在办", {("清税证明", LACKS)}),
        ("身份证没问题", {("身份证明", HAS)}),
        # questions are mentions, not possessions
        ("需要房产证吗", {("产权证明", MENTION)}),
        ("要不要章程", {("公司章程", MENTION)}),
        ("身份证带了吗", {("身份证明", MENTION)}),
        ("我有身份证还需要什么", {("身份证明", HAS)}),
        # typos the normaliser does not fix
        ("有身分证", {("身份证明", HAS)}),
        ("租房合桐签了", {("租赁合同", HAS)}),
        ("不动产权证收有", {("产权证明", HAS)}),
        # Traditional characters and Cantonese
        ("身份證同租約都有", {("身份证明", HAS), ("租赁合同", HAS)}),
        ("我冇章程", {("公司章程", LACKS)}),
        ("仲未有房產證", {("产权证明", LACKS)}),
        ("營業執照有咗", {("营业执照", HAS)}),
    ],
)
def test_reads_materials(extractor, text, expected):
    assert _read(extractor, text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "👍👍👍", "<script>alert(1)</script>", "'; DROP TABLE material_checklists; --", "asdfgh", "你好", None],
)
def test_nothing_to_read_is_nothing(extractor, text):
    assert extractor.extract(text) == []


def test_huge_input_is_read_on_its_first_part(extractor):
    text = "我有身份证。" + "这是一段很长的话。" * 2000 + "还没有章程"
    mentions = extractor.extract(text)
    assert ("身份证明", HAS) in {(m.material, m.polarity) for m in mentions}
    assert all(m.end <= 2000 for m in mentions)


def test_html_and_emoji_around_materials(extractor):
    assert _read(extractor, "<p>我有<b>身份证</b></p> 🙏") == {("身份证明", HAS)}


def test_held_changes_leave_questions_out(extractor):
    assert extractor.held_changes("我有身份证，需要房产证吗？还没有章程") == {"身份证明": True, "公司章程": False}


def test_every_name_of_the_vocabulary_is_found_on_its_own(extractor):
    """The jieba dictionary is loaded before the pipeline: every name is one phrase the ruler matches."""
    vocabulary = load_knowledge().vocabulary.materials
    missed = []
    for canonical, synonyms in vocabulary.items():
        for name in [canonical, *synonyms]:
            normalised = extractor.normalise(name)
            found = extractor.extract(f"我有{normalised}。", normalised=True)
            if not any(m.material == canonical for m in found):
                missed.append(name)
    assert not missed, f"names not found: {missed}"


def test_polarity_is_pure_and_decided_per_clause():
    config = load_knowledge().extraction
    text = "有身份证，没有章程"
    assert assign_polarity(text, [(1, 4), (7, 9)], config) == [HAS, LACKS]
