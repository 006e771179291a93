"""The catalogue (vlmcompat/data/known_issues.toml): one source of truth for ids, ranges, signatures
and the issue -> patch mapping; every id used anywhere exists in it."""

import ast
import re
from pathlib import Path

import pytest

from vlmcompat import known_issues, matrix, patches, probes
from vlmcompat.paths import CATALOGUE_DOC
from vlmcompat.report import catalogue

ROOT = Path(__file__).resolve().parents[2]


def test_committed_catalogue_page_is_current():
    page = (ROOT / CATALOGUE_DOC).read_text()
    assert page == catalogue.render(), "regenerate: python -m vlmcompat.report.catalogue > docs/known-issues.md"


def test_ids_are_unique_and_contract_ids_present():
    contract = {"inputs-embeds-unexpected", "inputs-embeds-duplicate", "model-class-missing", "tokenizer-format",
                "peft-import", "image-token-expansion", "nan-loss-all-masked"}
    assert contract <= set(known_issues.IDS)
    assert len(known_issues.IDS) == len(set(known_issues.IDS))


def test_one_mapping_between_patches_and_issues():
    shipped = {patch.name for patch in patches.builtin_patches()}
    for issue in known_issues.all_issues():
        assert set(issue.fixed_by) <= shipped, f"{issue.id} names a patch that does not exist: {issue.fixed_by}"
    for patch in patches.builtin_patches():
        assert patch.fixes, f"patch {patch.name} fixes no catalogued issue; add it to an issue's fixed_by"
        assert all(patch.name in known_issues.get(i).fixed_by for i in patch.fixes)


def _ids_in_source() -> set[tuple[str, str]]:
    """(file, id) for every issue id a module passes to ProbeFailed(...) or compares to a result's issue."""
    found = set()
    for path in (ROOT / "vlmcompat").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "ProbeFailed":
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add((str(path.relative_to(ROOT)), first.value))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+){2,}", node.value) and node.value in known_issues.IDS:
                found.add((str(path.relative_to(ROOT)), node.value))
    return found


def test_every_id_used_in_the_package_exists():
    used = _ids_in_source()
    assert {i for _, i in used} >= {"model-class-missing", "nan-loss-all-masked", "reentrant-checkpoint-no-grad"}
    for path, issue in used:
        assert issue in known_issues.IDS, f"{path} uses {issue!r}, which the catalogue does not have"


def test_every_id_in_the_matrices_exists():
    for path in [ROOT / "matrix.toml", *sorted((ROOT / "matrices").glob("*.toml"))]:
        for cell in matrix.load(path).cells:  # load() refuses unknown ids with the line
            assert all(e.issue is None or e.issue in known_issues.IDS for e in cell.expect)


def test_every_probe_declares_only_catalogued_failures():
    for probe in probes.all_probes().values():
        doc = (probe.run.__module__ and __import__(probe.run.__module__, fromlist=["_"]).__doc__) or ""
        for issue in re.findall(r"``([a-z0-9]+(?:-[a-z0-9]+){2,})``", doc):
            if issue in ("training-step", "peft-wrapper", "model-class", "sft-trainer", "image-tokens",
                         "token-type-ids", "model-parts", "image-truncation"):
                continue  # probe names
            assert issue in known_issues.IDS, f"{probe.name}'s docstring names {issue!r}, not in the catalogue"


@pytest.mark.parametrize("versions, applies", [
    ({"peft": "0.18.1", "transformers": "4.46.3"}, True),
    ({"peft": "0.18.1", "transformers": "5.24.0"}, False),  # the false alarm the single-package range gave
    ({"peft": "0.17.1", "transformers": "4.46.3"}, False),
    ({"peft": "0.18.1"}, False),  # transformers not installed: the condition cannot hold
])
def test_conditions_on_several_packages_hold_together(versions, applies):
    assert bool(known_issues.get("peft-dtensor").applies(versions)) is applies


def test_any_affected_entry_is_enough():
    issue = known_issues.get("image-token-expansion")
    assert issue.applies({"transformers": "4.40.0"}) and issue.applies({"transformers": "5.0.0"})
    assert not issue.applies({"transformers": "4.50.0"})


def test_links_point_into_this_repository():
    link = known_issues.get("peft-import").link
    assert link.endswith("docs/known-issues.md#peft-import") and "vlmcompat/vlmcompat" not in link
    assert not link.startswith("http") or "github.com" in link


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


NEW_IDS = ("peft-task-type-mismatch", "library-version-skew", "processor-image-token-config", "class-removed",
           "vlm-refactor-attribute", "text-config-attribute", "token-type-ids-required", "image-tokens-truncated",
           "trl-renamed-argument", "adapter-keys-renamed", "checkpoint-keys-unknown", "lora-target-unsupported")


@pytest.mark.parametrize("issue_id", NEW_IDS)
def test_new_ids_are_full_entries_with_leads_named(issue_id):
    issue = known_issues.get(issue_id)
    assert issue.title and len(issue.cause) > 80 and len(issue.fix) > 60 and issue.signatures
    assert issue.links and all(link.startswith("https://github.com/") for link in issue.links)
    for entry in issue.affected:
        assert entry.evidence in known_issues.EVIDENCE and entry.note, f"{issue_id}: a range without its source"
        assert entry.only_if, f"{issue_id} shows only with a particular use: say which (only_if)"
    if issue_id not in ("peft-task-type-mismatch", "library-version-skew"):  # not a version, or per library pair
        assert issue.affected, f"{issue_id} is version-dependent: give its range"
        assert any(entry.evidence == "lead" for entry in issue.affected), f"{issue_id}: its lead is kept"


@pytest.mark.parametrize("text, issue", [
    ("ValueError: `token_type_ids` is required as a model input when training", "token-type-ids-required"),
    ("TypeError: SFTTrainer.__init__() got an unexpected keyword argument 'tokenizer'", "trl-renamed-argument"),
    ("ImportError: cannot import name 'AutoModelForVision2Seq' from 'transformers'", "class-removed"),
    ("AttributeError: 'Gemma3Config' object has no attribute 'vocab_size'", "text-config-attribute"),
    ("AttributeError: 'Qwen2_5_VLForConditionalGeneration' object has no attribute 'visual'",
     "vlm-refactor-attribute"),
    ("ValueError: Target module Conv3d(3, 1280, kernel_size=(2, 14, 14)) is not supported.",
     "lora-target-unsupported"),
])
def test_classify_new_ids(text, issue):
    """classify() lists every id whose signature matches, in catalogue order (probes take the first); telling
    look-alikes apart from context is explain's job (AutoModelForVision2Seq also fits model-class-missing)."""
    assert issue in known_issues.classify(text)
    from vlmcompat import explain
    assert explain.explain(text)[0].issue == issue


def test_explain_data_the_rules_read_is_there():
    lists = {"inputs-embeds-unexpected": "injected", "inputs-embeds-duplicate": "with_peft",
             "peft-task-type-mismatch": "encoder_decoder", "accelerate-dataloader-kwargs": "keywords",
             "trl-renamed-argument": "keywords", "peft-import": "imports", "text-config-attribute": "attributes",
             "vlm-refactor-attribute": "attributes", "processor-image-token-config": "fields",
             "image-tokens-truncated": "truncation"}
    for issue_id, key in lists.items():
        assert known_issues.get(issue_id).explain_list(key), f"{issue_id} explain.{key}"
    for issue_id, key in [("library-version-skew", "symbols"), ("library-version-skew", "keywords"),
                          ("class-removed", "replacements"), ("peft-import", "symbols")]:
        assert known_issues.get(issue_id).explain_table(key), f"{issue_id} explain.{key}"
    for issue_id, key in [("trl-renamed-argument", "trainer_class"), ("vlm-refactor-attribute", "vlm_name"),
                          ("model-class-missing", "class_name")]:
        assert re.compile(known_issues.get(issue_id).explain_value(key))


@pytest.mark.parametrize("explain, message", [
    ({"context": ["("]}, "missing ), unterminated subpattern"),
    ({"names": [1, 2]}, "explain.names must be a string, a list of strings or a table of strings"),
    ("not a table", "explain must be a table"),
])
def test_a_malformed_explain_table_is_refused_with_where(explain, message):
    raw = {"id": "x-y-z", "title": "t", "cause": "c", "fix": "f", "explain": explain}
    with pytest.raises(known_issues.CatalogueError, match=re.escape("issue #3 (x-y-z)")) as info:
        known_issues._issue(raw, 2)
    assert message in str(info.value)


def test_a_range_that_needs_a_use_is_possible_but_never_applies():
    """Entries with only_if (code importing a removed name, Gemma 3 without token_type_ids) must not make doctor
    call a modern environment broken; they are possible there."""
    from vlmcompat import doctor
    versions = {"transformers": "5.24.0", "peft": "0.21.2", "tokenizers": "0.23.3", "trl": "1.16.0"}
    removed = known_issues.get("class-removed")
    assert removed.applies(versions) == [] and removed.possible(versions)
    applying = {issue.id for issue, _ in doctor.catalogue_issues(versions)}
    assert not applying & set(NEW_IDS)
    assert "only if code imports a name 5.x removed" in catalogue.render()


def test_unfixed_entries_say_where_the_patches_do_not_reach():
    issue = known_issues._issue({"id": "x-y-z", "title": "t", "cause": "c", "fix": "f", "fixed_by": ["llava_forward"],
                                 "affected": [{"when": {"transformers": ">=4.38"}},
                                              {"when": {"transformers": "<4.32", "peft": "<0.5"}, "unfixed": True}]}, 0)
    assert issue.fixed_by and issue.unfixed_in({"transformers": "4.28.1", "peft": "0.2.0"})
    assert not issue.unfixed_in({"transformers": "4.44.0", "peft": "0.16.0"})
    assert known_issues.get("vision2seq-unmapped").unfixed_in({"transformers": "4.50.3"})  # no patch at all
