"""The text normaliser and the empty-input guard (bot/nlu_components)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu_components.input_guard import InputGuard
from bot.nlu_components.normalizer import NO_CONTENT_MARK, TextNormalizer, has_content, normalize_text


@pytest.mark.parametrize(
    "raw, expected_part",
    [
        ("點樣開公司", "开公司"),
        ("個體戶註銷要幾耐", "个体户注销"),
        ("ＡＢＣ公司", "abc公司"),
        ("<script>alert(1)</script>简易注销", "简易注销"),
        ("<b>开公司</b>", "开公司"),
        ("简易\n\n注销   多久", "简易 注销 多久"),
        ("开公司要多久？？？？？？", "开公司要多久?"),
        ("好啊啊啊啊啊啊啊", "好啊啊啊"),
    ],
)
def test_normalize_text(raw, expected_part):
    assert expected_part in normalize_text(raw)


def test_script_content_is_dropped():
    assert "alert" not in normalize_text("<script>alert('x')</script>你好")


def test_long_text_is_cut_to_the_limit():
    assert len(normalize_text("开公司" * 2000, max_chars=2000)) == 2000
    assert normalize_text("情况是这样的。" * 1000 + "个体户注销要多久？", max_chars=2000).endswith("个体户注销要多久?")


@pytest.mark.parametrize("text", ["", "   ", "👍👍", "？？？！", "<br><br>", None])
def test_no_content(text):
    assert not has_content(normalize_text(text))


def test_components_mark_empty_input_and_keep_real_text():
    normalizer = TextNormalizer({"max_chars": 2000})
    guard = InputGuard()
    empty, real = Message(data={"text": "🙂🙂"}), Message(data={"text": "開公司"})
    for message in (empty, real):
        message.set("intent", {"name": "greet", "confidence": 0.9})
    normalizer.process([empty, real])
    guard.process([empty, real])
    assert empty.get("text") == NO_CONTENT_MARK
    assert empty.get("intent")["name"] == "empty_input"
    assert real.get("text") == "开公司"
    assert real.get("intent")["name"] == "greet"


def test_training_annotations_in_traditional_characters_are_normalised_too():
    from rasa.shared.nlu.training_data.training_data import TrainingData

    example = Message(
        data={"text": "那個體戶呢", "intent": "inform_entity_type",
              "entities": [{"entity": "entity_type", "start": 1, "end": 4, "value": "個體戶"}]}
    )
    TextNormalizer({"max_chars": 2000}).process_training_data(TrainingData([example]))
    assert example.get("text") == "那个体户呢"
    assert example.get("entities")[0]["value"] == "个体户"
