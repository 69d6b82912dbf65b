"""Names of the materials check's slots, intents, forms and actions used from Python (one place)."""

# forms
MATERIALS_FORM = "materials_form"
SIMPLE_DEREG_FORM = "simple_dereg_form"
ADDRESS_FORM = "address_check_form"

# slots of the materials form (condition slots: knowledge/materials/conditions.yml `slot`)
SLOT_PROCEDURE = "materials_procedure"
SLOT_ENTITY_TYPE = "mat_entity_type"
SLOT_ANSWERED = "materials_answered"  # True once the user said what they have (or that they have nothing yet)
SLOT_HELD = "materials_held"  # {canonical material: True (has) / False (lacks)}
SLOT_PREVIEWED = "materials_previewed"  # a first checklist was shown before the remaining questions
SLOT_REASK = "materials_reask"  # bumped when an answer was not understood, so the form asks again
SLOT_STOPPED = "materials_stopped"  # the user said 「结束」: the form ends and the closing action says goodbye
STOPPED_FOR_CASE = "case"  # the form ended because the case was reasoned about instead: the closing action is silent
SHARED_ENTITY_TYPE = "entity_type"  # the entity type slot of the knowledge answers (kept in step)
REQUESTED_SLOT = "requested_slot"

# the address check
SLOT_ADDR_TYPE = "addr_type"
SLOT_ADDR_BUSINESS = "addr_business"

# the 简易注销 check: one yes/no slot per exclusion, "sd_<key>" (knowledge/materials/simple_dereg_*.yml)
EXCLUSION_SLOT_PREFIX = "sd_"

# intents
INTENT_INFORM_CONDITION = "inform_condition"
INTENT_ASK_MISSING = "ask_missing_materials"
# intents whose only rule is the materials form itself (data/rules/materials.yml): rejecting the form on one of them
# leaves nothing to answer it - the fallback runs, the form runs again, is rejected again … (a loop until Rasa's
# circuit breaker stops the conversation), so the form never rejects them
FORM_INTENTS = frozenset({"check_materials", "inform_have_materials", INTENT_ASK_MISSING, "correct_info", INTENT_INFORM_CONDITION})
# intents that leave a form: the form is rejected and their own rules run (hand-off to a CBSO officer)
LEAVE_INTENTS = frozenset({"request_human", "not_helpful", "end_handoff"})
# intents that end a form like 「结束」
STOP_INTENTS = frozenset({"goodbye"})
# small talk inside a form: answered with its response, then the form asks its question again
SMALLTALK_RESPONSES = {
    "greet": "utter_affirm_ack",
    "thanks": "utter_thanks",
    "bot_challenge": "utter_bot_challenge",
    "rule_override": "utter_rule_override",
    "empty_input": "utter_empty_input",
}
# the checks' own intents (a form is never interrupted by them)
CHECK_INTENTS = frozenset({"check_simple_dereg_eligibility", "check_address"})
ANSWER_INTENTS = frozenset(
    {INTENT_INFORM_CONDITION, "affirm", "deny", "nlu_fallback", "inform_entity_type", "correct_info", "describe_case"}
)

# the user's words are read on at most this many characters
MAX_TEXT_CHARS = 2000
