"""The catalogue of known issues: stable ids, cause, fix, affected ranges, error signatures.

Ids are a contract (results, reports, explain, gate): add new ones, never rename one.
Each ``Range`` says where its evidence comes from:

- ``matrix``: confirmed by the default matrix (reports/compat.json);
- ``bisected``: the boundary was found by ``vlmcompat bisect`` over real releases;
- ``lead``: measured once elsewhere, not yet confirmed by this project's matrix.

``classify(text)`` maps an error message (or a whole traceback) to the ids whose signatures
match it; probes use it to tell a known failure (``fail``) from an unexpected one (``error``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The rendered catalogue in this repository (``python -m vlmcompat.known_issues > docs/known-issues.md``).
CATALOGUE_PATH = "docs/known-issues.md"
CATALOGUE_URL = "https://github.com/vlmcompat/vlmcompat/blob/main/" + CATALOGUE_PATH


@dataclass(frozen=True)
class Range:
    package: str
    specifier: str  # a packaging specifier, e.g. ">=4.27,<4.52"
    evidence: str = "lead"  # matrix | bisected | lead
    note: str = ""


@dataclass(frozen=True)
class KnownIssue:
    id: str
    title: str
    cause: str
    fix: str
    signatures: tuple[str, ...]  # regexes, searched case-sensitively in the error text
    affected: tuple[Range, ...] = ()
    patch: str | None = None  # the vlmcompat.patches module that fixes it, if any
    links: tuple[str, ...] = ()
    _compiled: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(re.compile(s, re.S) for s in self.signatures))

    @property
    def anchor(self) -> str:
        return f"{CATALOGUE_URL}#{self.id}"

    def matches(self, text: str) -> re.Match[str] | None:
        for pattern in self._compiled:
            match = pattern.search(text)
            if match:
                return match
        return None


_ISSUES = [
    KnownIssue(
        id="inputs-embeds-unexpected",
        title="PEFT wrapper passes inputs_embeds to a forward() that does not accept it",
        cause=(
            "PEFT's task-type wrappers (PeftModelForCausalLM / PeftModelForSeq2SeqLM) always call the base "
            "model with inputs_embeds=None; BLIP-2 / InstructBLIP forward() before transformers 4.52 has no "
            "inputs_embeds parameter and no **kwargs."
        ),
        fix=(
            "`import vlmcompat.patch` (the patched forward accepts and drops PEFT's inputs_embeds=None); or "
            "create the LoRA model with task_type=None; or upgrade to transformers>=4.54."
        ),
        signatures=(
            r"(\w+\.)?forward\(\) got an unexpected keyword argument '(inputs_embeds|decoder_inputs_embeds|decoder_input_ids)'",
        ),
        affected=(
            Range("transformers", ">=4.27,<4.52", evidence="bisected",
                  note="upper bound bisected (InstructBLIP-T5, SEQ_2_SEQ_LM, peft 0.16.0): 4.51.3 is the last "
                  "release with this error, 4.52.1 the first without (4.52.0 is yanked); the lower bound is a lead"),
        ),
        patch="instructblip_forward",
    ),
    KnownIssue(
        id="inputs-embeds-duplicate",
        title="inputs_embeds reaches the language model twice",
        cause=(
            "forward(**kwargs) exists but inputs_embeds is not an explicit parameter, so PEFT's "
            "inputs_embeds=None lands in kwargs and is forwarded to the language model next to the "
            "merged embeddings."
        ),
        fix="`import vlmcompat.patch`; or upgrade to transformers>=4.54; or use task_type=None.",
        signatures=(r"got multiple values for keyword argument '(inputs_embeds|input_ids|attention_mask)'",),
        affected=(
            Range("transformers", ">=4.52,<4.54", evidence="bisected",
                  note="both bounds bisected (InstructBLIP-T5, SEQ_2_SEQ_LM, peft 0.16.0): first in 4.52.1 "
                  "(4.52.0 is yanked), last in 4.53.3; 4.54.0 passes"),
        ),
        patch="instructblip_forward",
    ),
    KnownIssue(
        id="model-class-missing",
        title="The model class does not exist in the installed transformers",
        cause="The architecture was added to transformers after the installed release.",
        fix=(
            "Upgrade transformers to the first release that ships the class (InstructBLIP: 4.31, BLIP-2: 4.27, "
            "LLaVA: 4.36); for InstructBLIP on 4.27-4.30, `import vlmcompat.patch` provides a backport."
        ),
        signatures=(
            r"cannot import name '(\w+)(ForConditionalGeneration|ForVisionText2Text|ForCausalLM|Config|Processor|Model)"
            r"\w*' from 'transformers",
            r"module '?transformers'? has no attribute '?(\w+)(ForConditionalGeneration|ForVisionText2Text|ForCausalLM|"
            r"Config|Processor|Model)\w*",
            r"No module named 'transformers\.models\.(\w+)'",
        ),
        affected=(
            Range("transformers", "<4.31", evidence="bisected",
                  note="InstructBLIP: 4.30.2 is the last release without InstructBlipForConditionalGeneration, "
                  "4.31.0 the first with it"),
        ),
    ),
    KnownIssue(
        id="tokenizer-format",
        title="tokenizer.json written by a newer tokenizers cannot be read",
        cause=(
            "Newer tokenizers releases write components in a format older readers reject: Metaspace "
            "`prepend_scheme` (0.19+), BPE merges as pairs (0.20+), and others."
        ),
        fix="`vlmcompat tokenizer migrate IN OUT` rewrites the file losslessly for the installed tokenizers; "
        "`import vlmcompat.patch` does it in memory on load; or upgrade tokenizers.",
        signatures=(r"data did not match any variant of untagged enum (\w+)",),
        affected=(Range("tokenizers", "<0.20", note="reading files written by >=0.20"),),
    ),
    KnownIssue(
        id="peft-import",
        title="peft cannot be imported with the installed transformers",
        cause=(
            "peft imports symbols that the installed transformers does not have yet (e.g. EncoderDecoderCache, "
            "first in transformers 4.43, for peft>=0.14), or from huggingface_hub a release that an old "
            "transformers pins lower than peft needs (e.g. huggingface_hub.errors for peft 0.13 with transformers "
            "4.34); no peft release declares a transformers bound, so resolvers install broken pairs."
        ),
        fix="Pin peft to a release that works with your transformers, or upgrade transformers "
        "(`vlmcompat doctor` gives the pins).",
        signatures=(
            r"cannot import name '(\w+)' from 'transformers[\w.]*'",
            r"No module named 'transformers\.(modeling_layers|integrations\.\w+|cache_utils)'",
            r"No module named 'huggingface_hub\.(\w+)'",
        ),
        affected=(Range("peft", ">=0.14", note="with transformers<4.43"),),
    ),
    KnownIssue(
        id="image-token-expansion",
        title="Image tokens and the config's image token id disagree",
        cause=(
            "From transformers 4.45 the processor expands num_query_tokens image tokens into input_ids and the "
            "model scatters query embeddings into them; from 4.55 the legacy prepend path is gone and a config "
            "without image_token_id fails. Before 4.45 expanded inputs are silently treated as text."
        ),
        fix="`import vlmcompat.patch` (the patched forward handles both input formats), or set "
        "config.image_token_id (image_token_index) and re-save the processor with num_query_tokens.",
        signatures=(
            r"'bool' object has no attribute 'unsqueeze'",
            r"Image features and image tokens do not match",
            r"The number of image tokens is \d+ while the number of image given to the model is \d+",
            r"image token count",
        ),
        affected=(Range("transformers", ">=4.55", note="configs without image_token_id"),
                  Range("transformers", "<4.45", note="expanded inputs treated as text (silent)")),
        patch="instructblip_forward",
    ),
    KnownIssue(
        id="nan-loss-all-masked",
        title="All labels masked: the loss is NaN",
        cause="A batch whose labels are all -100 gives a mean over zero tokens (0/0 = NaN), which poisons the "
        "weights at the next optimizer step.",
        fix="Use vlmcompat.train.training_step (skips such batches with a finite zero loss) or drop empty "
        "examples in the collator.",
        signatures=(r"loss is (nan|NaN)",),
    ),
    KnownIssue(
        id="legacy-loss-shape",
        title="Legacy (prepend) inputs with a causal LM: logits and labels differ in length",
        cause=(
            "On legacy inputs the query embeddings are prepended, so the logits are num_query_tokens longer than "
            "the labels; InstructBLIP 4.52-4.54 switched to self.loss_function without slicing the logits to the "
            "labels first."
        ),
        fix="`import vlmcompat.patch` (the patched forward slices the logits to the labels, as earlier releases "
        "did); or re-save the processor with num_query_tokens and set image_token_id so inputs are expanded; or "
        "use transformers>=4.55 with expanded inputs.",
        signatures=(r"Expected input batch_size \(\d+\) to match target batch_size \(\d+\)",),
        affected=(Range("transformers", ">=4.52,<4.55", note="InstructBLIP with a decoder-only LM, legacy inputs"),),
        patch="instructblip_forward",
    ),
    KnownIssue(
        id="inplace-image-scatter",
        title="Gradient checkpointing: query embeddings written in place into grad-requiring input embeddings",
        cause=(
            "On image-token-expanded inputs InstructBLIP writes the query embeddings into the input embeddings in "
            "place (inputs_embeds[special_image_mask] = ...). enable_input_require_grads(), which gradient "
            "checkpointing with peft needs, makes those embeddings a leaf that requires grad, and autograd refuses "
            "the in-place write."
        ),
        fix="`import vlmcompat.patch` (the patched forward scatters out of place); or upgrade to "
        "transformers>=4.54; or train without enable_input_require_grads (use_reentrant=False).",
        signatures=(r"a leaf Variable that requires grad is being used in an in-place operation",),
        affected=(Range("transformers", ">=4.45,<4.54", note="InstructBLIP, expanded inputs, "
                        "enable_input_require_grads(); confirmed on 4.53.3 (both LMs), 4.44.0 and 4.55.4 pass; "
                        "lower bound is a lead"),),
        patch="instructblip_forward",
    ),
    KnownIssue(
        id="peft-seq2seq-generation-kwargs",
        title="PeftModelForSeq2SeqLM cannot be built: _prepare_encoder_decoder_kwargs_for_generation is gone",
        cause=(
            "peft <= 0.20's PeftModelForSeq2SeqLM.__init__ stores base_model._prepare_encoder_decoder_kwargs_for_"
            "generation, which transformers 5.18 removed from GenerationMixin (renamed "
            "_prepare_text_encoder_decoder_kwargs_for_generation), so get_peft_model(task_type=SEQ_2_SEQ_LM) fails."
        ),
        fix="`import vlmcompat.patch` (provides the old method name on the model classes, delegating to the new "
        "one); or upgrade to peft>=0.21; or use task_type=None.",
        signatures=(r"object has no attribute '_prepare_encoder_decoder_kwargs_for_generation'",),
        affected=(Range("transformers", ">=5.18", note="with peft<=0.20, SEQ_2_SEQ_LM task type"),
                  Range("peft", "<=0.20", note="with transformers>=5.18; confirmed with 5.18.0 + peft 0.20.0")),
        patch="peft_seq2seq_wrapper",
    ),
    KnownIssue(
        id="reentrant-checkpoint-no-grad",
        title="Reentrant gradient checkpointing leaves vision-tower LoRA weights untrained (silently)",
        cause=(
            "LoRA target names such as q_proj/v_proj also match the CLIP vision tower of LLaVA. With reentrant "
            "checkpointing (the default use_reentrant=True in transformers 4.38-4.57) a checkpointed block whose "
            "inputs need no grad returns outputs without a graph; enable_input_require_grads() only covers the text "
            "embeddings, so the vision tower's pixel inputs need none and its LoRA weights get no gradient. torch "
            "only warns: 'None of the inputs have requires_grad=True. Gradients will be None'."
        ),
        fix="`import vlmcompat.patch` (the patched LLaVA forward gives the vision tower a grad-requiring input when "
        "it has trainable parameters); or gradient_checkpointing_kwargs={'use_reentrant': False}; or restrict "
        "target_modules to the language model.",
        signatures=(r"None of the inputs have requires_grad=True",),
        affected=(Range("transformers", ">=4.38,<5.0", note="LLaVA, LoRA matching vision-tower modules, "
                        "default (reentrant) checkpointing; confirmed on 4.44.0, 4.53.3, 4.55.4; 5.18 and 5.23 "
                        "pass (non-reentrant default)"),),
        patch="llava_forward",
    ),
    KnownIssue(
        id="num-items-in-batch-unexpected",
        title="Trainer's num_items_in_batch reaches a T5 forward() that does not accept it",
        cause=(
            "Trainer passes num_items_in_batch to a model whose forward() has **kwargs (4.47+; in 4.46 only when "
            "the var-keyword is named loss_kwargs); for PEFT models it inspects the base model's forward. "
            "BLIP-2 / InstructBLIP forward() has **kwargs from 4.52 and hands them to the language model; "
            "T5ForConditionalGeneration.forward() has no **kwargs before transformers 5.0."
        ),
        fix="`import vlmcompat.patch` (the patched forward consumes num_items_in_batch and divides the summed loss "
        "by it, as Trainer intends); or upgrade to transformers>=5.0.",
        signatures=(r"(\w+\.)?forward\(\) got an unexpected keyword argument 'num_items_in_batch'",),
        affected=(
            Range("transformers", ">=4.54,<5.0",
                  note="trainer probe, instructblip-t5 and blip2-t5 with PEFT SEQ_2_SEQ_LM: fails on 4.54.1, 4.55.4, "
                  "4.57.1; 5.0.0 passes"),
            Range("transformers", ">=4.52,<4.54",
                  note="the forward hands kwargs on here too, but with PEFT task types inputs-embeds-duplicate "
                  "fails first"),
        ),
        patch="instructblip_forward",
    ),
    KnownIssue(
        id="peft-dtensor",
        title="peft uses torch.distributed.tensor without importing it",
        cause=(
            "peft>=0.18 refers to torch.distributed.tensor.DTensor without importing the submodule; transformers "
            "<4.47 does not import it either, so get_peft_model fails although `import peft` succeeds."
        ),
        fix="A pin, not a patch: peft<0.18 (e.g. peft==0.17.1) with transformers<4.47, or transformers>=4.47 with "
        "peft>=0.18.",
        signatures=(r"module 'torch\.distributed' has no attribute 'tensor'",),
        affected=(
            Range("peft", ">=0.18",
                  note="with transformers<4.47 (trainer probe: transformers 4.46.3 + peft 0.18.1 fails in "
                  "get_peft_model, native and patched)"),
        ),
    ),
    KnownIssue(
        id="trainer-adapter-save",
        title="Trainer.save_model writes the whole model instead of the PEFT adapter",
        cause=(
            "Before transformers 4.30 Trainer._save knows only PreTrainedModel: for a PeftModel it writes the whole "
            "state dict as pytorch_model.bin and no adapter_config.json, so PeftModel.from_pretrained cannot load "
            "what the trainer saved."
        ),
        fix="`import vlmcompat.patch` (Trainer saves PEFT models with PeftModel.save_pretrained); or call "
        "model.save_pretrained(output_dir) yourself after training; or upgrade to transformers>=4.30.",
        signatures=(r"Can't find '?adapter_config\.json'? at",),
        affected=(Range("transformers", "<4.30", evidence="matrix",
                        note="4.28 confirmed by the matrix; 4.30 saves adapters; 4.29 not checked"),),
        patch="trainer_adapter_save",
    ),
    KnownIssue(
        id="accelerate-dataloader-kwargs",
        title="Trainer passes Accelerator arguments that accelerate 1.0 removed",
        cause=(
            "transformers 4.35-4.37 build the Trainer's Accelerator with dispatch_batches= and split_batches=; "
            "accelerate 1.0 moved them into DataLoaderConfiguration, and peft pulls the newest accelerate."
        ),
        fix="`import vlmcompat.patch` (the arguments are moved into a DataLoaderConfiguration); or pin "
        "accelerate<1.0; or upgrade to transformers>=4.38.",
        signatures=(r"Accelerator\.__init__\(\) got an unexpected keyword argument "
                    r"'(dispatch_batches|split_batches|even_batches|use_seedable_sampler)'",),
        affected=(Range("transformers", ">=4.35,<4.38", evidence="lead",
                        note="with accelerate>=1.0; seen with 4.37.0 and accelerate 1.15.0; read from the "
                        "Trainer sources of 4.31-4.46"),),
        patch="accelerate_dataloader_kwargs",
    ),
    KnownIssue(
        id="trl-fused-lm-head",
        title="TRL's fused LM head expects the model's backbone to return last_hidden_state",
        cause=(
            "Newer TRL SFTTrainer releases replace the model's forward with a fused LM-head loss that calls "
            "model.base_model and reads last_hidden_state; BLIP-2 and InstructBLIP have no such backbone (their "
            "base_model is the whole model), so every training step fails."
        ),
        fix="Pin trl to a release without the fused LM head (trl 0.19.1 and 0.21.0 train these models here), or "
        "use transformers.Trainer with a collator (the trainer probe's path).",
        signatures=(r"'(\w+)ModelOutput' object has no attribute 'last_hidden_state'",),
        affected=(Range("trl", ">=1.16", evidence="lead",
                        note="seen with trl 1.16.0 and transformers 5.23.0 on BLIP-2-OPT and InstructBLIP-LLaMA; "
                        "LLaVA trains; the first affected trl release is not bisected"),),
    ),
]

_BY_ID = {issue.id: issue for issue in _ISSUES}
IDS = tuple(_BY_ID)


def get(issue_id: str) -> KnownIssue:
    try:
        return _BY_ID[issue_id]
    except KeyError:
        raise KeyError(f"unknown known-issue id {issue_id!r}; known: {', '.join(IDS)}") from None


def all_issues() -> list[KnownIssue]:
    return list(_ISSUES)


def classify(text: str) -> list[str]:
    """Ids whose signatures match ``text``, most specific first (catalogue order)."""
    return [issue.id for issue in _ISSUES if issue.matches(text)]


def classify_exception(exc: BaseException) -> str | None:
    """The first known-issue id matching an exception (its type name and message), or None."""
    ids = classify(f"{type(exc).__name__}: {exc}")
    return ids[0] if ids else None


def render_markdown() -> str:
    """The catalogue as a markdown page (docs/known-issues.md is this, committed)."""
    lines = ["# Known issues", "",
             "Generated by `python -m vlmcompat.known_issues` from `vlmcompat/known_issues.py`; ids are stable.",
             "Evidence: `matrix` = confirmed by the default matrix, `bisected` = boundary found by "
             "`vlmcompat bisect` on real releases, `lead` = measured once, not yet confirmed here.", ""]
    for issue in _ISSUES:
        lines += [f'<a id="{issue.id}"></a>', f"## `{issue.id}`: {issue.title}", "",
                  f"**Cause.** {issue.cause}", "", f"**Fix.** {issue.fix}", ""]
        if issue.patch:
            lines += [f"**Patched by** `vlmcompat.patches.{issue.patch}` (`import vlmcompat.patch`).", ""]
        if issue.affected:
            lines += ["| package | versions | evidence | note |", "|---|---|---|---|"]
            lines += [f"| {r.package} | `{r.specifier}` | {r.evidence} | {r.note} |" for r in issue.affected]
            lines.append("")
        lines += ["**Signatures** (regular expressions matched against error text):", ""]
        lines += [f"- `{sig}`" for sig in issue.signatures]
        if issue.links:
            lines += ["", "Links: " + ", ".join(issue.links)]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
