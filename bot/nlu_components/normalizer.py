"""The NLU component that normalises what users type before it is tokenised (see core/text.py).

Users write on phones: Traditional characters, Cantonese, full-width letters, typos and homophones (注消,
营业执找, 个提户), pasted HTML, very long run-on text. This component turns all of that into plain Simplified
Mandarin so the rest of the pipeline (and the training data) sees one written form:

1. Unicode NFKC (full-width → half-width), HTML tags and script/style blocks removed;
2. Traditional → Simplified with OpenCC (``t2s``);
3. Cantonese words and common typos → Mandarin, from ``knowledge/lexicon/*.tsv`` (longest match first);
4. Latin letters lower-cased, whitespace collapsed, the text cut to ``max_chars``.

It runs on the training data too, so training and prediction see the same forms.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from core.text import NO_CONTENT_MARK, has_content, normalize_text

__all__ = ["TextNormalizer", "normalize_text", "has_content", "NO_CONTENT_MARK"]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class TextNormalizer(GraphComponent):
    """Put first in the pipeline, before the tokenizer."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"max_chars": 2000}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.max_chars = int(config.get("max_chars", 2000))

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TextNormalizer:
        return cls(config)

    @staticmethod
    def required_packages() -> List[str]:
        return ["opencc"]

    def _normalize(self, message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str) or text is None:
            normalized = normalize_text(text, self.max_chars)
            message.set(TEXT, normalized if has_content(normalized) else NO_CONTENT_MARK)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalize(example)
            # An annotation such as [個體戶](entity_type) keeps its Traditional value while the text becomes
            # Simplified; left alone, EntitySynonymMapper would learn 个体户 → 個體戶. Normalise the values too.
            for entity in example.get(ENTITIES) or []:
                if isinstance(entity.get("value"), str):
                    entity["value"] = normalize_text(entity["value"], self.max_chars)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalize(message)
        return messages
