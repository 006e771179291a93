"""Each known issue's family: the same message from different causes, told apart by what the text shows.

Texts are real reports from the tune split of tests/fixtures/reports (never the held-out ones), or real
messages with one part changed the way other libraries and models change it (another class, another
library's frame) — each test says which.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlmcompat import explain

REPORTS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "reports"
ERRORS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "errors"


def report(name: str) -> str:
    data = json.loads((REPORTS / f"{name}.json").read_text())
    assert data["split"] == "tune", f"{name} is held out: tests must not tune on it"
    return data["text"]


def first(text: str) -> explain.Match | None:
    matches = explain.explain(text)
    return matches[0] if matches else None


def suggested(text: str) -> list[str]:
    diagnosis = explain.diagnose(text)
    assert diagnosis.matches == [], [m.issue for m in diagnosis.matches]
    return [s.issue for s in diagnosis.suggestions]


# -- refused and duplicated arguments ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["peft-1596-chatglm-seq2seq-decoder-input-ids",
                                  "qwen-901-qwenlmhead-decoder-input-ids", "qwen3-1190-qwen25vl-decoder-input-ids"])
def test_a_causal_model_under_seq2seq_is_the_wrong_task_type(name):
    match = first(report(name))
    assert match.issue == "peft-task-type-mismatch"
    assert "not an encoder-decoder" in match.decided_by and "task_type" in match.fix


def test_a_peft_injected_argument_on_any_model_is_inputs_embeds_unexpected():
    match = first(report("peft-796-pix2struct-input-ids"))  # Pix2Struct refuses input_ids; peft frames around
    assert (match.issue, match.confidence) == ("inputs-embeds-unexpected", explain.CERTAIN)
    assert "peft in the traceback" in match.decided_by
    for name in ("smile-factory-2-mpt-inputs-embeds", "vlmr1-255-internvl-grpo-inputs-embeds"):
        match = first(report(name))  # the last line only: the class is named, PEFT is not shown
        assert (match.issue, match.confidence) == ("inputs-embeds-unexpected", explain.LIKELY)


def test_the_users_own_call_with_inputs_embeds_is_not_a_peft_issue():
    text = report("transformers-3460-gpt2-from-scratch-inputs-embeds")  # `inputs_embeds=testx)` in the user's frame
    assert suggested(text)[0] == "inputs-embeds-unexpected"
    assert "your own code passes inputs_embeds=" in explain.diagnose(text).suggestions[0].why
    assert suggested(report("cropa-7-instructblip-inputs-embeds-direct"))[0] == "inputs-embeds-unexpected"


@pytest.mark.parametrize("line", [
    "TypeError: LlamaForCausalLM.forward() got an unexpected keyword argument 'pixel_values'",
    "TypeError: Trainer.__init__() got an unexpected keyword argument 'optimizer_cls'",
    "TypeError: hf_hub_download() got an unexpected keyword argument 'revison'",
    "TypeError: load_dataset() got an unexpected keyword argument 'use_auth_token'",
    "TypeError: dict() got multiple values for keyword argument 'task_type'",
])
def test_an_argument_unrelated_to_peft_or_versions_is_not_diagnosed(line):
    assert explain.explain(line) == []


def test_a_misspelt_trl_argument_is_only_a_suggestion():
    line = "TypeError: SFTTrainer.__init__() got an unexpected keyword argument 'tokenzier'"
    assert suggested(line)[0] == "trl-renamed-argument"
    assert "check its spelling" in explain.diagnose(line).suggestions[0].why


@pytest.mark.parametrize("name", ["cookbook-305-sfttrainer-tokenizer-vlm", "smolcourse-218-sfttrainer-tokenizer",
                                  "unsloth-2010-sfttrainer-dataset-num-proc", "videor1-14-sfttrainer-tokenizer-trl016",
                                  "nvidia-workbench-1-sfttrainer-dataset-text-field"])
def test_trl_renamed_arguments(name):
    assert first(report(name)).issue == "trl-renamed-argument"


def test_an_old_trl_passing_tokenizer_to_a_new_trainer_is_a_skew_naming_both_libraries():
    match = first(report("trl-6168-trainer-tokenizer-old-trl-new-transformers"))
    assert match.issue == "library-version-skew"
    assert "trl calls transformers' Trainer.__init__()" in match.decided_by
    assert "pin transformers<5" in match.fix and "5.0.0 does not" in match.fix
    # the same call without a library's frame: the user's own Trainer(tokenizer=) on transformers 5
    assert suggested("TypeError: Trainer.__init__() got an unexpected keyword argument 'tokenizer'")[0] == \
        "library-version-skew"


@pytest.mark.parametrize("name", ["llavanext-388-dispatch-batches-accelerate-1-2", "internvl-806-dispatch-batches",
                                  "llmdev-4-chatglm3-dispatch-batches-mangled"])
def test_accelerator_arguments_even_with_markdown_mangled_underscores(name):
    assert first(report(name)).issue == "accelerate-dataloader-kwargs"


def test_num_items_in_batch_after_non_ascii_prose():
    assert first(report("msswift-6705-qwen2-audio-num-items-in-batch")).issue == "num-items-in-batch-unexpected"
    assert suggested("TypeError: MyTrainer.compute_loss() got an unexpected keyword argument 'num_items_in_batch'")[0] \
        == "num-items-in-batch-unexpected"


def test_a_duplicated_argument_needs_peft_unless_it_is_inputs_embeds():
    assert suggested(report("peft-1938-prefix-tuning-llava-past-key-values"))[0] == "inputs-embeds-duplicate"
    assert explain.explain(report("unsloth-1085-task-type-multiple-values")) == []
    line = (ERRORS / "peft-seq2seq-t4.53.3-p0.16.0.txt").read_text().rstrip().splitlines()[-1]
    assert first(line).issue == "inputs-embeds-duplicate"


# -- missing symbols, modules, model types ----------------------------------------------------------

TRL_FRAME = ('Traceback (most recent call last):\n  File "/home/u/train.py", line 3, in <module>\n    from trl import '
             'SFTTrainer\n  File "/home/u/.venv/lib/python3.11/site-packages/trl/trainer/utils.py", line 27, in '
             '<module>\n    from transformers.utils import {symbol}\n')


def test_a_transformers_symbol_imported_by_trl_is_a_skew_naming_both_libraries_and_the_pins():
    # the message as sentence-transformers#3143 shows it, raised from a trl frame instead
    text = TRL_FRAME.format(symbol="is_torch_npu_available") + (
        "ImportError: cannot import name 'is_torch_npu_available' from 'transformers.utils' "
        "(/home/u/.venv/lib/python3.11/site-packages/transformers/utils/__init__.py)")
    match = first(text)
    assert match.issue == "library-version-skew" and match.confidence == explain.CERTAIN
    assert match.decided_by.startswith("trl imports is_torch_npu_available from transformers.utils")
    assert "upgrade transformers" in match.fix
    # a symbol vlmcompat knows nothing about: the direction in general terms
    match = first(TRL_FRAME.format(symbol="is_new_thing") + "ImportError: cannot import name 'is_new_thing' from "
                  "'transformers.utils' (/x/site-packages/transformers/utils/__init__.py)")
    assert match.issue == "library-version-skew"
    assert "if trl is newer than your transformers, upgrade transformers" in match.fix


@pytest.mark.parametrize("name", [
    "dp3-91-cached-download", "fluxtrainer-178-cached-download-diffusers", "newgenai-5-cached-download-import-line",
    "sentence-transformers-3143-is-torch-npu-available", "imaginairy-180-hf-hub-download-token-old-hub",
    "voicestudio-167-pyannote-use-auth-token"])
def test_library_version_skew_reports(name):
    assert first(report(name)).issue == "library-version-skew"


def test_peft_imports_are_peft_import_even_from_a_plugin_or_a_wrapper():
    assert first(report("peft-2116-huggingface-hub-errors-module")).issue == "peft-import"
    assert first(report("setfit-625-modeling-layers-peft")).confidence == explain.AMBIGUOUS
    node = ("Cannot import C:\\ComfyUI\\custom_nodes\\ComfyUI-Sonic module for custom nodes: cannot import name "
            "'EncoderDecoderCache' from 'transformers' (C:\\py\\Lib\\site-packages\\transformers\\__init__.py)")
    match = first(node)
    assert match.issue == "peft-import" and "ComfyUI-Sonic imports peft" in match.decided_by
    assert "peft<=0.13.2" in match.fix


@pytest.mark.parametrize("name", ["bark-544-examples-transformers-py-circular",
                                  "rediffusion-3-diffusers-circular-import-paths",
                                  "easyr1-384-flash-attn-not-installed", "orion-1-flash-attn-cli-demo",
                                  "sds-ai-engineering-9-bitsandbytes-no-gpu", "emu3-21-flash-attn-check-imports"])
def test_import_errors_that_are_not_version_problems(name):
    assert explain.explain(report(name)) == []


def test_model_classes_and_types_give_the_release_to_upgrade_to():
    match = first(report("llamafactory-6784-qwen2-5-vl-not-recognized"))
    assert match.issue == "model-class-missing" and "upgrade to transformers>=4.49.0" in match.fix
    match = first(report("qwen3-434-qwen2-keyerror-old-transformers"))
    assert match.issue == "model-class-missing" and "transformers>=4.37.0" in match.fix
    match = first(report("qwen2vl-83-import-qwen2vl-4-44"))
    assert "4.44.0 lacks it" in match.fix


def test_names_no_release_has_are_suggestions():
    why = explain.diagnose(report("qwen2vl-1385-typo-qwen2-5vl-import")).suggestions[0].why
    assert "misspelling" in why and "Qwen2_5_VLForConditionalGeneration" in why
    for name in ("emmax-1-openvla-not-recognized", "tinyvla-17-llava-pythia-not-recognized"):
        assert suggested(report(name))[0] == "model-class-missing"
    assert suggested(report("unsloth-3298-gemma3-text-module"))[0] == "model-class-missing"
    assert suggested(report("yi-389-llavaconfig-causallm"))[0] == "model-class-missing"


def test_names_transformers_5_removed():
    match = first(report("vlmevalkit-1418-vision2seq-5-0"))
    assert match.issue == "class-removed" and "AutoModelForImageTextToText" in match.fix
    assert first(report("modelopt-pr1829-is-torch-fx-available-v5")).issue == "class-removed"


# -- image tokens, moved attributes -------------------------------------------------------------------

@pytest.mark.parametrize("name, issue", [
    ("easyr1-175-image-tokens-multi-image", "image-tokens-truncated"),
    ("openr1mm-28-image-tokens-max-prompt-length", "image-tokens-truncated"),
    ("unsloth-2225-llava-next-processor-config", "processor-image-token-config"),
    ("vllm-13690-llava-patch-size-none", "processor-image-token-config"),
    ("comfyui-6791-llava-llama3-patch-size-none", "processor-image-token-config"),
    ("transformers-34223-blip2-expanding-inputs-warning", "processor-image-token-config"),
    ("msswift-3103-llava-infer-image-features-mismatch", "image-token-expansion"),
])
def test_image_token_family(name, issue):
    assert first(report(name)).issue == issue


def test_counts_one_apart_with_nothing_else_are_only_suggestions():
    assert suggested(report("qwenvl-series-128-image-tokens-data-format"))[0] == "processor-image-token-config"


@pytest.mark.parametrize("name, issue", [
    ("lmeval-pr3234-gemma3config-vocab-size", "text-config-attribute"),
    ("liger-1012-qwen25vlconfig-hidden-size-v5", "text-config-attribute"),
    ("llamafactory-10243-qwen3-5-no-visual", "vlm-refactor-attribute"),
    ("liger-960-qwen2-5-vl-language-model-v5", "vlm-refactor-attribute"),
    ("tempcompass-2-llavaconfig-no-x", None),
    ("llava-15-llamamodel-vision-tower-fork", None),
])
def test_moved_attributes(name, issue):
    match = first(report(name))
    assert (match.issue if match else None) == issue


# -- training, weights ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, issue", [
    ("simpo-35-loss-0-grad-norm-nan", "nan-loss-all-masked"),
    ("trl-1920-response-template-trailing-space", "nan-loss-all-masked"),
    ("needle-53-lora-nan-float16", None),
    ("colpali-424-lora-keys-language-model", "adapter-keys-renamed"),
    ("mteb-pr4673-lora-language-model-v5", "adapter-keys-renamed"),
    ("wantraining-2-conv3d-peft-0-13", "lora-target-unsupported"),
    ("peft-2200-multiheadattention-target", "lora-target-unsupported"),
    ("llava3d-34-lora-decoder-layer-target", None),
    ("microsoft-lora-192-clip-encoder-layer-target", None),
    ("tinyzero-90-token-classification-score-head", None),
    ("anygpt-19-qformer-bert-newly-initialized", None),
    ("fchardnet-61-weight-assign-inplace", None),
    ("knowledge-neurons-14-weight-edit-inplace", None),
    ("msswift-4613-npu-inputs-embeds-inplace", "inplace-image-scatter"),
    ("peft-2958-rocm-no-distributed-dtensor", None),
    ("deeplab-64-batch-size-sliced-logits", None),
])
def test_training_and_weight_loading_family(name, issue):
    match = first(report(name))
    assert (match.issue if match else None) == issue


def test_a_missing_adapter_key_warning_alone_is_a_suggestion():
    assert suggested(report("peft-2699-missing-adapter-keys-adapter-name"))[0] == "adapter-keys-renamed"


def test_base_weights_unused_and_reinitialised_are_checkpoint_keys_unknown():
    # the two warnings transformers prints, as in Qwen-VL#433 and Qwen3-VL#1690, for one renamed language model
    text = ("Some weights of the model checkpoint at ckpt were not used when initializing "
            "LlavaForConditionalGeneration: ['model.language_model.layers.0.mlp.down_proj.weight', "
            "'model.language_model.norm.weight']\n"
            "Some weights of LlavaForConditionalGeneration were not initialized from the model checkpoint at ckpt and "
            "are newly initialized: ['language_model.model.layers.0.mlp.down_proj.weight', "
            "'language_model.model.norm.weight']")
    assert (first(text).issue, first(text).confidence) == ("checkpoint-keys-unknown", explain.LIKELY)
    head_only = text.replace("newly initialized: ['language_model.model.layers.0.mlp.down_proj.weight', "
                             "'language_model.model.norm.weight']", "newly initialized: ['classifier.weight']")
    assert explain.explain(head_only) == []


# -- suggestions -------------------------------------------------------------------------------------------

def test_suggestions_are_at_most_three_and_never_a_diagnosis():
    for name in ("chatglm-tuning-198-no-adapter-config", "msswift-6753-internvl-inputs-embeds-inplace",
                 "transformers-pr34447-siglip-llava-off-by-one"):
        diagnosis = explain.diagnose(report(name))
        assert diagnosis.matches == [] and 1 <= len(diagnosis.suggestions) <= 3
        assert all(s.why for s in diagnosis.suggestions)
