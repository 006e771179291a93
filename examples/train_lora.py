"""Fine-tune a vision-language checkpoint with LoRA: a few optimizer steps on one picture.

The kind of script people write from a model card and the peft docs, nothing vlmcompat-specific:

    python examples/train_lora.py path/to/checkpoint [--steps 3]

It loads the checkpoint folder (model, processor), wraps the language model in LoRA with
``get_peft_model``, and trains on a generated picture and a caption. ``vlmcompat probe --run``
(or ``run = [...]`` in matrix.toml) runs it in every cell, once as it is and once with
``import vlmcompat.patch`` applied before it starts.
"""

import argparse

import numpy as np
import torch
import transformers
from peft import LoraConfig, get_peft_model
from PIL import Image

PROMPTS = {  # what each model card writes before the answer
    "blip-2": "Question: what is in the picture? Answer:",
    "instructblip": "What is in the picture?",
    "llava": "USER: <image>\nWhat is in the picture? ASSISTANT:",
}
ANSWER = "a red square"


def load(path):
    config = transformers.AutoConfig.from_pretrained(path)
    model_class = getattr(transformers, config.architectures[0])
    model = model_class.from_pretrained(path)
    processor = transformers.AutoProcessor.from_pretrained(path)
    return config, model, processor


def make_batch(config, processor):
    picture = np.zeros((224, 224, 3), dtype=np.uint8)
    picture[56:168, 56:168, 0] = 255  # a red square
    image = Image.fromarray(picture)
    prompt = PROMPTS[config.model_type]
    if getattr(config, "use_decoder_only_language_model", True):  # the answer follows the prompt
        batch = processor(images=image, text=f"{prompt} {ANSWER}", return_tensors="pt")
        batch["labels"] = batch["input_ids"].clone()
    else:  # an encoder-decoder language model (Flan-T5) reads the prompt and writes the answer
        batch = processor(images=image, text=prompt, return_tensors="pt")
        batch["labels"] = processor.tokenizer(ANSWER, return_tensors="pt").input_ids
    return batch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()

    torch.manual_seed(0)
    config, model, processor = load(args.checkpoint)
    seq2seq = not getattr(config, "use_decoder_only_language_model", True)
    lora = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=["q", "v"] if seq2seq else
                      ["q_proj", "v_proj"], task_type="SEQ_2_SEQ_LM" if seq2seq else "CAUSAL_LM")
    model = get_peft_model(model, lora)
    model.print_trainable_parameters()
    batch = make_batch(config, processor)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    for step in range(args.steps):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        print(f"step {step}: loss {loss.item():.4f}")
    if not torch.isfinite(loss):
        raise SystemExit(f"the loss is not finite: {loss.item()}")
    print("done")


if __name__ == "__main__":
    main()
