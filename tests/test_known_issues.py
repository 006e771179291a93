from pathlib import Path

import pytest

from vlmcompat import known_issues

ROOT = Path(__file__).resolve().parent.parent


def test_committed_catalogue_page_is_current():
    page = (ROOT / known_issues.CATALOGUE_PATH).read_text()
    assert page == known_issues.render_markdown(), "regenerate: python -m vlmcompat.known_issues > docs/known-issues.md"


def test_ids_are_unique_and_contract_ids_present():
    contract = {"inputs-embeds-unexpected", "inputs-embeds-duplicate", "model-class-missing", "tokenizer-format",
                "peft-import", "image-token-expansion", "nan-loss-all-masked"}
    assert contract <= set(known_issues.IDS)
    assert len(known_issues.IDS) == len(set(known_issues.IDS))


@pytest.mark.parametrize("text, issue", [
    ("TypeError: InstructBlipForConditionalGeneration.forward() got an unexpected keyword argument 'inputs_embeds'",
     "inputs-embeds-unexpected"),
    ("TypeError: T5ForConditionalGeneration(...) got multiple values for keyword argument 'inputs_embeds'",
     "inputs-embeds-duplicate"),
    ("AttributeError: 'bool' object has no attribute 'unsqueeze'", "image-token-expansion"),
    ("Exception: data did not match any variant of untagged enum PyPreTokenizerTypeWrapper", "tokenizer-format"),
    ("ValueError: Expected input batch_size (26) to match target batch_size (18).", "legacy-loss-shape"),
])
def test_classify(text, issue):
    assert known_issues.classify(text)[0] == issue


def test_get_unknown_id_lists_known_ones():
    with pytest.raises(KeyError, match="unknown known-issue id 'nope'; known: inputs-embeds-unexpected"):
        known_issues.get("nope")
