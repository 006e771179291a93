"""``'X' object has no attribute 'y'`` for configs and VLM classes whose layout moved.

A composite config (``Gemma3Config``, ``Qwen2VLConfig`` on 5.x) without a text setting such as
``vocab_size`` → ``text-config-attribute``; a VLM class (``…ForConditionalGeneration``, a name with
VL/Llava/Gemma3/...) without ``language_model``, ``visual``, ``layers``, ... → ``vlm-refactor-attribute``.
Other objects and other attributes are left alone: ``'LlavaConfig' object has no attribute 'X'`` is
a project's own config field, ``'LlamaModel' object has no attribute 'vision_tower'`` a fork's.
"""

from __future__ import annotations

import re

from vlmcompat import known_issues
from vlmcompat.explain.context import Context
from vlmcompat.explain.verdict import CERTAIN, Evidence

DECIDES = frozenset({"text-config-attribute", "vlm-refactor-attribute"})
MAX_OCCURRENCES = 20

_NO_ATTRIBUTE = re.compile(r"'(\w{1,120})' object has no attribute '(\w{1,80})'")


def _decide(owner: str, attribute: str, said: str) -> Evidence | None:
    text = known_issues.get("text-config-attribute")
    if owner.endswith("Config"):
        if attribute in text.explain_list("attributes"):
            return Evidence("text-config-attribute", CERTAIN, said,
                            f"{owner} keeps {attribute} in its text_config, not at the top level")
        return None
    refactor = known_issues.get("vlm-refactor-attribute")
    is_vlm = owner.endswith("ForConditionalGeneration") or (
        re.search(refactor.explain_value("vlm_name"), owner) and re.search(r"(Model|For[A-Z]\w{0,60})$", owner))
    if is_vlm and attribute in refactor.explain_list("attributes"):
        return Evidence("vlm-refactor-attribute", CERTAIN, said,
                        f"{owner} has no '{attribute}' in the installed release's layout of the VLM classes")
    return None


def find(view: str, ctx: Context) -> list[Evidence]:
    found = []
    for count, match in enumerate(_NO_ATTRIBUTE.finditer(view)):
        if count == MAX_OCCURRENCES:
            break
        evidence = _decide(match.group(1), match.group(2), match.group(0))
        if evidence:
            found.append(evidence)
    return found
