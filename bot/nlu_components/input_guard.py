"""Mark messages with nothing to understand (empty, punctuation or emoji only) as the ``empty_input`` intent.

Put last in the pipeline, after the FallbackClassifier, so its verdict is final. Without it a message such as
"👍👍" gets whatever intent the classifier's priors favour.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from core.text import has_content

EMPTY_INPUT_INTENT = "empty_input"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class InputGuard(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputGuard:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not has_content(text if isinstance(text, str) else ""):
                verdict = {INTENT_NAME_KEY: EMPTY_INPUT_INTENT, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.set(INTENT, verdict, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [verdict], add_to_output=True)
        return messages
