"""explain answers in linear time: any input up to 10 MB in under a second, and no pattern it searches with
backtracks on long lines (a 16,000-character line used to take 20 s)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from vlmcompat import explain, known_issues
from vlmcompat.explain import attributes, context, image_tokens, imports, keywords, suggest, text

ERRORS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "errors"
TRACEBACK = (ERRORS / "peft-seq2seq-t4.44.0-p0.16.0.txt").read_text()
TEN_MB = 10_000_000
LIMIT_S = 1.0


def _timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


LARGE = {
    "one line of word characters": lambda: "a" * TEN_MB,
    "one line of dotted names": lambda: "transformers.models." * (TEN_MB // 20),
    "a log with the traceback at its end": lambda: ("step 7/100 loss 0.4213 lr 1e-4 grad_norm 0.91\n" * (TEN_MB // 46))
    + TRACEBACK,
    "a message repeated": lambda: ("TypeError: X.forward() got an unexpected keyword argument 'inputs_embeds'\n"
                                   * (TEN_MB // 74)),
    "half-signatures repeated": lambda: "cannot import name '" * (TEN_MB // 20),
    "warnings everywhere": lambda: ("Warning: nan missing initialized Error not used\n" * (TEN_MB // 48)),
    "ANSI codes and brackets": lambda: "\x1b[0;31m[1m]x\x1b]8;;" * (TEN_MB // 16),
}


@pytest.mark.parametrize("name", list(LARGE))
def test_ten_megabytes_answer_in_under_a_second(name):
    big = LARGE[name]()
    assert len(big) >= TEN_MB - 100
    explain.explain("warm up: load the catalogue and compile its patterns")
    diagnosis, seconds = _timed(explain.diagnose, big)
    assert seconds < LIMIT_S, f"{name}: {seconds:.2f} s"
    if name in ("a log with the traceback at its end", "a message repeated"):
        assert diagnosis.matches[0].issue == "inputs-embeds-unexpected"
    else:
        assert not diagnosis.recognised


def test_a_long_log_keeps_an_early_warning_and_the_final_error():
    warning = ("/x/site-packages/peft/peft_model.py:598: UserWarning: Found missing adapter keys while loading the "
               "checkpoint: ['base_model.model.model.language_model.layers.0.self_attn.q_proj.lora_A.default"
               ".weight']\n")
    log = warning + "step 7/100 loss 0.4213 lr 1e-4\n" * 200_000 + TRACEBACK
    kept = text.excerpt(log)
    assert len(kept) < 200_000 and "Found missing adapter keys" in kept and kept.endswith(TRACEBACK)
    assert [m.issue for m in explain.explain(log)] == ["inputs-embeds-unexpected", "adapter-keys-renamed"]


def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    found = [(f"{issue.id}: {s}", re.compile(s, re.S)) for issue in known_issues.all_issues() for s in issue.signatures]
    found += [(f"{issue.id} explain: {s}", re.compile(s, re.S)) for issue in known_issues.all_issues()
              for key in ("context", "unless") for s in issue.explain_list(key)]
    for module in (keywords, imports, image_tokens, attributes, context, text, suggest):
        found += [(f"{module.__name__}.{name}", value) for name, value in vars(module).items()
                  if isinstance(value, re.Pattern)]
    return found


ADVERSARIAL = [
    "a" * 100_000,
    "a." * 50_000,
    "'" + "a" * 100_000,
    "Model" * 20_000 + "forward() got an unexpected keyword argument",
    ("cannot import name '" + "a" * 200) * 400,
    "site-packages/" + "a" * 100_000,
    " " * 100_000 + "x",
    "lora_" + "a" * 100_000,
    "File \"" + "a" * 100_000,
]


@pytest.mark.parametrize("label, pattern", _patterns(), ids=lambda value: value if isinstance(value, str) else "")
def test_no_pattern_backtracks_on_long_lines(label, pattern):
    for sample in ADVERSARIAL:
        _, seconds = _timed(lambda s=sample: [m.group(0) for m in pattern.finditer(s)])
        assert seconds < 0.25, f"{label} took {seconds:.2f} s on a {len(sample)}-character line"


def test_ten_megabytes_answer_in_under_a_second_with_the_catalogue_loaded_on_the_way():
    """What a first `vlmcompat explain` pays beyond starting Python: reading the catalogue, compiling its
    patterns, and the 10 MB text."""
    from vlmcompat.explain import names

    big = LARGE["a log with the traceback at its end"]()
    known_issues._catalogue.cache_clear()
    names.load.cache_clear()
    suggest._vocabulary.cache_clear()
    diagnosis, seconds = _timed(explain.diagnose, big)
    assert seconds < LIMIT_S, f"{seconds:.2f} s"
    assert diagnosis.matches[0].issue == "inputs-embeds-unexpected"
