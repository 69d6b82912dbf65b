"""Case reasoning and questions inside forms over HTTP (REST channel) against the running servers: the real NLU,
policies, action server and knowledge base, as a user would meet them."""

from __future__ import annotations

from core.dialogue.knowledge import check_payloads


def _buttons(messages) -> list:
    return [b.get("payload") for m in messages for b in (m.get("buttons") or [])]


def test_deregistering_with_unpaid_debts_leads_to_general_deregistration_with_the_reason(running_bot):
    sender = "e2e-case-dereg"
    first = running_bot.texts(sender, "我想注销公司")
    assert "简易注销" in first and "普通注销" in first  # the two ways, and what decides between them
    reply = running_bot.texts(sender, "两个股东，公司还欠银行贷款没还清")
    assert "不能走简易注销" in reply and "普通注销" in reply
    assert "债务" in reply and "清算" in reply  # the reason and the way forward
    assert "📖 依据" in reply and "第三十三条" in reply
    assert "没太明白" not in reply and "不太确定您的意思" not in reply


def test_a_change_of_supervisor_needs_only_filing(running_bot):
    reply = running_bot.texts("e2e-case-change", "我们换了个监事，要去办变更登记吗")
    assert "备案" in reply and "不用办变更登记" in reply and "📖 依据" in reply


def test_one_person_company_with_id_and_articles_is_not_asked_the_procedure(running_bot):
    messages = running_bot.say("e2e-case-prefill", "一人有限公司，身份证和章程都有了，还要啥")
    reply = "\n".join(m.get("text", "") for m in messages)
    assert "您要办哪项业务" not in reply
    assert "有限责任公司设立登记" in reply and "✅" in reply and "公司章程" in reply


def test_a_question_inside_the_materials_form_is_answered_then_the_form_resumes(running_bot):
    sender = "e2e-case-inside"
    asked = running_bot.say(sender, "帮我核对一下开公司的材料")[-1]["text"]  # the form's question
    assert "您要办哪项业务" not in asked  # 开公司 said it
    messages = running_bot.say(sender, "最快几时拿到执照？")
    assert "0.5 天" in messages[0]["text"]  # the answer first
    assert messages[-1]["text"] == asked  # then the form's own question again
    reply = running_bot.texts(sender, "转人工")
    assert asked not in reply and "CBSO" in reply  # the hand-off, not the form


def test_answer_first_then_the_check_is_offered(running_bot):
    messages = running_bot.say("e2e-case-offer", "简易注销要满足什么条件")
    reply = "\n".join(m.get("text", "") for m in messages)
    assert "📖 来源" in reply  # answered
    assert check_payloads() & set(_buttons(messages))  # a check (self-check or materials) only offered
    assert "是上市的股份有限公司吗" not in reply and "是哪种类型的市场主体" not in reply
