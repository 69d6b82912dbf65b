"""The last word on two kinds of message, put last in the pipeline (after the FallbackClassifier) so its verdict
is final:

- nothing to understand (empty, punctuation or emoji only) → ``empty_input``. Without it a message such as
  "👍👍" gets whatever intent the classifier's priors favour;
- attempts to change the assistant's rules → ``rule_override``, only when core.override recognises one. The
  classifier learned words such as 规则, 黑名单 or 异常 from the attempts and refused ordinary questions
  containing them; its ``rule_override`` is therefore replaced by its next intent (or ``nlu_fallback`` when that
  is below ``fallback_threshold``, as the FallbackClassifier would) unless the message is an attempt.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from core.override import is_rule_override
from core.text import has_content

EMPTY_INPUT_INTENT = "empty_input"
RULE_OVERRIDE_INTENT = "rule_override"
FALLBACK_INTENT = "nlu_fallback"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class InputGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"fallback_threshold": 0.3}

    def __init__(self, config: Optional[Dict[str, Any]] = None) -> None:
        self.fallback_threshold = float((config or {}).get("fallback_threshold", 0.3))

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputGuard:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not has_content(text if isinstance(text, str) else ""):
                verdict = {INTENT_NAME_KEY: EMPTY_INPUT_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.set(INTENT, verdict, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [verdict], add_to_output=True)
                continue
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != RULE_OVERRIDE_INTENT]
            if is_rule_override(text):
                verdict = {INTENT_NAME_KEY: RULE_OVERRIDE_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.set(INTENT, verdict, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [verdict, *ranking], add_to_output=True)
            elif (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == RULE_OVERRIDE_INTENT:
                self._demote(message, ranking)
        return messages

    def _demote(self, message: Message, ranking: List[Dict[str, Any]]) -> None:
        """The classifier's next reading of an ordinary message it took for an attempt."""
        candidates = [r for r in ranking if r.get(INTENT_NAME_KEY) != FALLBACK_INTENT]
        best = candidates[0] if candidates else None
        if best is None or float(best.get(PREDICTED_CONFIDENCE_KEY) or 0.0) < self.fallback_threshold:
            best = {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: self.fallback_threshold}
            ranking = [best, *candidates]
        message.set(INTENT, dict(best), add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
