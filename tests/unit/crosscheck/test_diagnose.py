"""Which catalogue id a failed cross-release check carries: the signatures first, then the two releases'
layouts (messages as `vlmcompat crosscheck read` recorded them, transformers 4.51.3-5.24.0)."""

from __future__ import annotations

import pytest

from vlmcompat.crosscheck import run

V = {v: {"transformers": v} for v in ("4.51.3", "4.52.4", "4.57.6", "5.0.0", "5.5.4", "5.24.0")}
UNTRAINED = "adapter written by w runs untrained (logits equal the base model's); peft warned: "


@pytest.mark.parametrize(("kind", "text", "writer", "reader", "issue"), [
    ("adapter", UNTRAINED + "Found missing adapter keys while loading the checkpoint: "
     "['base_model.model.vision_tower.vision_model.encoder.layers.0.self_attn.v_proj.lora_A.default.weight']",
     "4.52.4", "4.51.3", "adapter-keys-newer-layout"),
    ("adapter", UNTRAINED + "Found missing adapter keys while loading the checkpoint: "
     "['base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.default.weight']",
     "4.51.3", "5.24.0", "adapter-keys-renamed"),
    ("adapter", "adapter written by w logits differ (max abs diff 5.8e-01); no warning", "4.51.3", "5.24.0",
     "adapter-keys-renamed"),
    ("adapter", "adapter written by w logits differ (max abs diff 5.8e-01); no warning", "5.0.0", "5.5.4", None),
    ("checkpoint", "checkpoint written by w loads with 39 missing keys (vision_tower.vision_model.embeddings.x); "
     "39 unexpected keys (vision_tower.embeddings.class_embedding, ...)", "5.24.0", "4.51.3",
     "checkpoint-vision-tower-flattened"),
    ("checkpoint", "checkpoint written by w loads with 20 missing keys (model.language_model.embed_tokens.weight); "
     "20 unexpected keys (model.language_model.model.embed_tokens.weight)", "5.5.4", "4.52.4",
     "checkpoint-saved-prefixed"),
    ("processor", "OSError: /r/processor does not appear to have a file named preprocessor_config.json.",
     "5.0.0", "4.51.3", "processor-files-newer"),
    ("checkpoint", '    query_states, key_states, cos, sin, self.rope_scaling["mrope_section"]\n'
     "TypeError: 'NoneType' object is not subscriptable", "5.0.0", "4.57.6", "config-rope-parameters"),
])
def test_a_failure_carries_the_id_of_what_caused_it(kind, text, writer, reader, issue):
    assert run.diagnose(kind, text, V[writer], V[reader]) == issue
