"""Which transformers releases each peft release works with — measured, not declared.

No peft release declares a transformers bound, so resolvers install pairs that cannot even be
imported. ``MEASURED`` is the table vlmcompat's pin advice rests on. How it was measured
(``python benchmarks/pin_advice.py``; raw evaluations in ``benchmarks/pin_advice.json``): for the
newest patch of each peft minor, a uv cell with torch 2.13.0 (CPU, shared from the host) and
Python 3.11 was pinned to ``peft==P transformers==T`` for T on the newest patch of every
transformers minor 4.27 ... 5.23, plus ``X.Y.0`` at the lower boundary, bisecting for the
boundaries; in each, ``vlmcompat/peft_smoke.py --train`` ran ``import peft``, ``from transformers
import Trainer``, and one LoRA optimizer step on a tiny T5 (SEQ_2_SEQ_LM) and a tiny LLaMA
(CAUSAL_LM). *imports* = both imports pass; *trains* = imports and both steps pass.

A lower bound of 4.27.0 (the oldest measured) means "at least as old as that".
Pure data and pure functions: nothing here imports torch, transformers or peft.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from vlmcompat.versions import in_range

SOURCE = "benchmarks/pin_advice.py: real cells, torch 2.13.0 CPU, Python 3.11"


_SEQ2SEQ_518 = ("from 5.18 PeftModelForSeq2SeqLM needs the removed _prepare_encoder_decoder_kwargs_for_generation "
                "(causal LMs still train)")
_DTENSOR = ("imports from 4.43 (EncoderDecoderCache), but before 4.47 get_peft_model fails with torch 2.13: "
            "module 'torch.distributed' has no attribute 'tensor'")


@dataclass(frozen=True)
class PeftRow:
    peft: str  # the release measured
    min_imports: str  # oldest transformers where peft and transformers.Trainer import
    min_trains: str  # oldest transformers where a LoRA step trains (T5 and LLaMA)
    trains_below: str | None  # first newer transformers measured where it stops training; None: newest works
    note: str = ""
    holes: tuple[str, ...] = ()  # exclusions inside the range, e.g. "!=4.34.*"

    @property
    def trains(self) -> str:
        """The transformers specifier where this peft imports and trains."""
        return ",".join([f">={self.min_trains}", *([f"<{self.trains_below}"] if self.trains_below else []),
                         *self.holes])

    @property
    def version(self) -> Version:
        return Version(self.peft)


MEASURED: tuple[PeftRow, ...] = (
    PeftRow("0.8.2", "4.27.0", "4.27.0", "5.18.0", note=_SEQ2SEQ_518),
    PeftRow("0.9.0", "4.27.0", "4.27.0", "5.18.0", note=_SEQ2SEQ_518),
    PeftRow("0.10.0", "4.27.0", "4.27.0", "5.18.0", note=_SEQ2SEQ_518),
    PeftRow("0.11.1", "4.27.0", "4.27.0", "5.18.0", note=_SEQ2SEQ_518),
    PeftRow("0.12.0", "4.27.0", "4.27.0", "5.18.0", note=_SEQ2SEQ_518),
    # transformers 4.34 needs tokenizers 0.14, which pins huggingface_hub<0.18; peft 0.13 imports
    # huggingface_hub.errors (measured: 4.34.1 fails, 0.12.0 imports and trains there).
    PeftRow("0.13.2", "4.27.0", "4.27.0", "5.18.0", holes=("!=4.34.*",),
            note="not with transformers 4.34 (its tokenizers 0.14 pins huggingface_hub<0.18, which lacks "
            "huggingface_hub.errors); " + _SEQ2SEQ_518),
    PeftRow("0.14.0", "4.43.0", "4.43.0", "5.18.0", note="needs EncoderDecoderCache (4.43); " + _SEQ2SEQ_518),
    PeftRow("0.15.2", "4.43.0", "4.43.0", "5.18.0", note="needs EncoderDecoderCache (4.43); " + _SEQ2SEQ_518),
    PeftRow("0.16.0", "4.44.0", "4.44.0", "5.0.0", note="needs HybridCache (4.44), which 5.0 removed"),
    PeftRow("0.17.1", "4.44.0", "4.44.0", "5.0.0", note="needs HybridCache (4.44), which 5.0 removed"),
    PeftRow("0.18.1", "4.43.0", "4.47.0", "5.18.0", note=_DTENSOR + "; " + _SEQ2SEQ_518),
    PeftRow("0.19.1", "4.43.0", "4.47.0", "5.18.0", note=_DTENSOR + "; " + _SEQ2SEQ_518),
    PeftRow("0.20.0", "4.43.0", "4.47.0", "5.18.0", note=_DTENSOR + "; " + _SEQ2SEQ_518),
    PeftRow("0.21.2", "4.43.0", "4.47.0", None, note=_DTENSOR),
)


def row_for(peft: str | Version | None) -> PeftRow | None:
    """The measured row for this peft release: the release itself, else the measured patch of its minor."""
    if peft is None:
        return None
    version = Version(str(peft))
    exact = [row for row in MEASURED if row.version == version]
    if exact:
        return exact[0]
    same_minor = [row for row in MEASURED if row.version.release[:2] == version.release[:2]]
    return same_minor[0] if same_minor else None


def trains_with(row: PeftRow, transformers: str | Version) -> bool:
    return in_range("transformers", row.trains, transformers)


def imports_with(row: PeftRow, transformers: str | Version) -> bool:
    """Whether the table says this peft imports with ``transformers`` (within the measured bounds)."""
    spec = ",".join([f">={row.min_imports}", *([f"<{row.trains_below}"] if row.trains_below else []), *row.holes])
    return in_range("transformers", spec, transformers)


def newest_peft_for(transformers: str | Version) -> PeftRow | None:
    """The newest measured peft release that imports and trains with this transformers."""
    rows = [row for row in MEASURED if trains_with(row, transformers)]
    return max(rows, key=lambda row: row.version) if rows else None


def advice_text(transformers: str | None, peft: str | None) -> str:
    """A short "pin ... or ..." clause for messages, from the measured table alone."""
    options = []
    if transformers is not None:
        newest = newest_peft_for(transformers)
        if newest is not None:
            options.append(f"pin peft=={newest.peft}")
    row = row_for(peft)
    if row is not None:
        options.append(f"transformers{row.trains}" if options else f"pin transformers{row.trains}")
    if not options:
        return "no measured pin covers these versions; run `vlmcompat doctor`"
    return " or ".join(options) + " (`vlmcompat doctor` shows the evidence)"
