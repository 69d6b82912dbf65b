"""Names of the hand-off's slots, forms, intents and entities used from Python (bot/domain/handoff.yml)."""

# forms
HANDOFF_FORM = "handoff_form"
CHAT_FORM = "handoff_chat_form"
RATING_COMMENT_FORM = "handoff_rating_comment_form"  # the optional comment after a 不满意/非常不满意 rating

# slots filled by handoff_form
TOPIC = "handoff_topic"
SUMMARY = "handoff_summary"
CONTACT_NAME = "handoff_contact_name"
PHONE = "handoff_phone"
CONSENT = "handoff_consent"
FORM_SLOTS = (TOPIC, SUMMARY, CONTACT_NAME, PHONE, CONSENT)

# slot of handoff_chat_form: every message while a ticket is open lands here and is never kept
RELAY = "handoff_relay"
# slot of handoff_rating_comment_form: the user's comment on their rating (stored on the ticket, then emptied)
RATING_COMMENT = "handoff_rating_comment"

# slots set by the actions
REASON = "handoff_reason"
SUMMARY_DRAFT = "handoff_summary_draft"
TOPIC_HINT = "handoff_topic_hint"
TICKET = "handoff_ticket"
FALLBACK_TURN = "handoff_fallback_turn"  # number of the last user message that ended in a clarification

REQUESTED_SLOT = "requested_slot"

# intents
INTENT_REQUEST_HUMAN = "request_human"
INTENT_NOT_HELPFUL = "not_helpful"
INTENT_END = "end_handoff"
INTENT_STATUS = "ticket_status"
INTENT_RATE = "rate_service"
INTENT_AFFIRM = "affirm"
INTENT_DENY = "deny"

# entities
ENTITY_RATING = "handoff_rating"
