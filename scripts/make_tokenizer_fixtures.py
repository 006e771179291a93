"""Build the tokenizer.json fixtures and their reference ids with the installed (newest) tokenizers.

    python scripts/make_tokenizer_fixtures.py [OUT_DIR]      # default: vlmcompat/data/tokenizers

Each fixture has the shape a real vision-language model ships, trained here on a small corpus
(nothing is downloaded):

- ``t5-unigram``       SentencePiece Unigram + Metaspace (T5, the InstructBLIP/BLIP-2 T5 LMs)
- ``llama2-bpe``       SentencePiece BPE with byte fallback + Metaspace(split=False) (LLaMA-1/2, Vicuna)
- ``opt-bytelevel``    byte-level BPE, GPT-2 pre-tokenizer, ``</s>`` prefix (OPT, GPT-2)
- ``qwen2-bytelevel``  byte-level BPE, NFC + regex Split + ByteLevel(use_regex=False) (Qwen2, LLaMA-3)
- ``bert-wordpiece``   WordPiece with the BERT normalizer and pre-tokenizer (the Q-Former's tokenizer)

``reference_ids.json`` holds, per fixture, the ids of every line of :data:`TEST_CORPUS`
(special tokens added), as the writing tokenizers encodes them. A migrated file must give
exactly these ids.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from tokenizers import (
    Regex,
    Tokenizer,
    __version__,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "vlmcompat" / "data" / "tokenizers"

# Unicode, whitespace runs, special tokens of every family, digits and punctuation.
TEST_CORPUS = [
    "A photo of a cat sitting on a mat.",
    "Question: what is in the image? Answer:",
    "   leading spaces,  double  spaces   and trailing   ",
    "tabs\tand\nnewlines\n\n  indented line",
    "Unicode: café naïve façade — “quotes” ½ ﬁ",
    "日本語のテキストと中文 😀👍🏽 Ελληνικά Привет мир",
    "special tokens: <s> start </s> end <pad> <unk> [CLS] x [SEP] y [MASK]",
    "</s>at the start and the end<s>",
    "Numbers 1234567890, 3.14159 and 2024-01-31; punctuation!?()[]{}",
    "",
]

_WORDS = ["a", "an", "the", "of", "in", "on", "at", "to", "with", "and", "or", "is", "are", "was", "were", "be", "been", "image", "photo", "picture", "cat", "dog", "man", "woman", "child", "bird", "car", "tree", "street", "table", "mat", "sitting", "standing", "running", "playing", "holding", "looking", "red", "blue", "green", "white", "black", "small", "large", "two", "three", "many", "question", "answer", "describe", "what", "where", "who", "how", "why", "this", "that", "there", "caption", "shows", "scene", "outdoor", "indoor", "people", "group", "water", "sky", "grass", "building", "window", "food", "plate", "the_end", "café", "naïve", "façade", "über", "straße", "日本", "語", "中文", "мир", "привет", "ελληνικά", "1", "2", "3", "10", "100", "2024", "3.14", "!", "?", ",", ".", ";", ":", "(", ")", "-"]


def training_corpus(lines: int = 1500, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(3, 14))]
        sep = rng.choice([" ", " ", " ", "  ", "\t", "\n"])
        out.append(sep.join(words))
    return out


def t5_unigram(corpus: list[str]) -> Tokenizer:
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always"),
    ])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=400, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>")
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return tok


def llama2_bpe(corpus: list[str]) -> Tokenizer:
    """Trained with whitespace-split pieces (sentencepiece ``split_by_whitespace``), saved like LLaMA."""
    trainer_tok = Tokenizer(models.BPE())
    trainer_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=[], show_progress=False)
    trainer_tok.train_from_iterator(corpus, trainer)
    trained = json.loads(trainer_tok.to_str())["model"]
    specials = ["<unk>", "<s>", "</s>"]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    pieces = specials + byte_tokens + [p for p, _ in sorted(trained["vocab"].items(), key=lambda kv: kv[1])]
    vocab = {piece: i for i, piece in enumerate(dict.fromkeys(pieces))}
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.add_special_tokens(specials)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Sequence([
        decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", vocab["<s>"])])
    return tok


def opt_bytelevel(corpus: list[str]) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="</s> $A", pair="</s> $A $B", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return tok


QWEN2_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)


def qwen2_bytelevel(corpus: list[str]) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=500, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def bert_wordpiece(corpus: list[str]) -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=None, clean_text=True,
                                                handle_chinese_chars=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=500,
                                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    return tok


BUILDERS = {
    "t5-unigram": t5_unigram,
    "llama2-bpe": llama2_bpe,
    "opt-bytelevel": opt_bytelevel,
    "qwen2-bytelevel": qwen2_bytelevel,
    "bert-wordpiece": bert_wordpiece,
}


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    corpus = training_corpus() + TEST_CORPUS[:6]
    reference = {"tokenizers": __version__, "corpus": TEST_CORPUS, "ids": {}}
    for name, build in BUILDERS.items():
        tok = build(list(corpus))
        path = out / f"{name}.json"
        tok.save(str(path), pretty=True)
        reloaded = Tokenizer.from_file(str(path))
        reference["ids"][name] = [reloaded.encode(line).ids for line in TEST_CORPUS]
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
              f"vocab {reloaded.get_vocab_size()}")
    (out / "reference_ids.json").write_text(json.dumps(reference, ensure_ascii=False, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
