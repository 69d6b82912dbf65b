"""Names of intents, entities and slots used from Python (one place instead of string literals everywhere)."""

# slots
SLOT_ENTITY_TYPE = "entity_type"
SLOT_CURRENT_TOPIC = "current_topic"
SLOT_LAST_ANSWER_INTENT = "last_answer_intent"

# entities
ENTITY_TYPE = "entity_type"
ENTITY_FAQ_ID = "faq_id"

# intents with special handling in action_answer
INTENT_INFORM_ENTITY_TYPE = "inform_entity_type"
FOLLOWUP_PREFIX = "followup_"
INTENT_NLU_FALLBACK = "nlu_fallback"
INTENT_OUT_OF_SCOPE = "out_of_scope"
# a clarification button choosing one knowledge entry: /faq_select{"faq_id": "<entry id>"}
INTENT_FAQ_SELECT = "faq_select"

# intents that are never offered as a clarification choice
NON_TOPIC_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thanks",
        "affirm",
        "deny",
        "bot_challenge",
        INTENT_OUT_OF_SCOPE,
        INTENT_FAQ_SELECT,
        "rule_override",
        "request_human",
        "not_helpful",
        "empty_input",
        INTENT_NLU_FALLBACK,
        INTENT_INFORM_ENTITY_TYPE,
        "describe_case",
    }
)

# the message and reply length limits are in core.messages
from core.messages import MAX_MESSAGE_CHARS, MAX_REPLY_CHARS  # noqa: E402,F401
