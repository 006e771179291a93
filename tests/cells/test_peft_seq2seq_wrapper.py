"""peft_seq2seq_wrapper in a transformers 5.18 + peft 0.20 cell: the stock SEQ_2_SEQ_LM wrapper
cannot be built (peft-seq2seq-generation-kwargs); patched, it builds and trains exactly like the
stock task_type=None path, which works there."""

import textwrap

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]

CELL_SCRIPT = textwrap.dedent("""
    import json, sys, torch
    from vlmcompat import known_issues, patches, tiny
    from vlmcompat.train import LoraSpec, add_lora, training_step
    out = {}
    for family in ("blip2-t5", "instructblip-t5"):
        fam = tiny.get(family)
        def losses(task_type):
            model = tiny.build(family, image_token=True)
            batch = tiny.make_batch(family, expanded=True)
            lora, _ = add_lora(model, LoraSpec(fam.lora_targets, task_type=task_type, dropout=0.0))
            opt = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=5e-3)
            return type(lora).__name__, [training_step(lora, batch, opt).loss for _ in range(2)]
        patches.apply(["instructblip_forward", "blip2_forward"])
        try:
            losses("SEQ_2_SEQ_LM")
            out[family + ":native"] = "built"
        except Exception as exc:
            out[family + ":native"] = known_issues.classify_exception(exc)
        out[family + ":none"] = losses(None)
        patches.apply(["peft_seq2seq_wrapper"])
        out[family + ":patched"] = losses("SEQ_2_SEQ_LM")
        patches.revert()
    print(json.dumps(out))
""")


def test_stock_wrapper_fails_and_patched_trains_like_task_type_none(cell, tmp_path):
    built = cell("transformers==5.18.0", "peft==0.20.0")
    out = built.run_json("-c", CELL_SCRIPT, env=built.env(VLMCOMPAT_NO_AUTOPATCH="1"), cwd=tmp_path)
    for family in ("blip2-t5", "instructblip-t5"):
        assert out[family + ":native"] == "peft-seq2seq-generation-kwargs"
        name, patched = out[family + ":patched"]
        assert name == "PeftModelForSeq2SeqLM"
        assert patched == out[family + ":none"][1]
