"""What transformers releases call their model types and classes, read from the releases themselves.

``vlmcompat/data/transformers_names.json`` holds, for every model type and every model, config,
processor and Auto class name found in the auto mappings of the transformers releases it was built
from: the first of those releases that has it, and — for names the newest one no longer has — the
last one that did. explain uses it to tell a model type or class the installed transformers is too
old for (``model-class-missing``, with the release to upgrade to) from one no release has (a custom
architecture, a misspelling) and from one that 5.x removed (``class-removed``).

The file is built from installed release trees, without importing them (the mappings are read as
text): ``python -m vlmcompat.explain.names SITE_PACKAGES_OR_WHEEL_DIR ... > vlmcompat/data/transformers_names.json``.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from packaging.version import InvalidVersion, Version

DATA_FILE = "transformers_names.json"
_AUTO = "models/auto"
_PAIR = re.compile(r'^\s{0,16}\(\s{0,4}"([\w-]{1,80})",\s{0,4}(.{0,400}?)\),?\s{0,8}$', re.M)
_QUOTED = re.compile(r'"([A-Z]\w{0,119})"')  # class names; module names (lower case) are left out
_CLASS_NAME = re.compile(r"^Auto\w|(Config|Model|Processor|ProcessorFast|Extractor|Tokenizer|TokenizerFast)$"
                         r"|For[A-Z]\w*$")
_AUTO_CLASS = re.compile(r"^class (Auto\w{1,80})\(", re.M)
_CONFIG_BLOCK = re.compile(r"CONFIG_MAPPING_NAMES(?: = OrderedDict\(|\.update\()")


@dataclass(frozen=True)
class Names:
    releases: tuple[str, ...]  # the releases the data was read from, oldest first
    model_types: dict[str, str]  # model type -> first release (of those read) that has it
    classes: dict[str, str]  # class name -> first release that has it
    modules: dict[str, str]  # transformers.models.<module> -> first release that has it
    gone: dict[str, str]  # name -> last release that had it (absent from the newest one read)

    @property
    def newest(self) -> str:
        return self.releases[-1] if self.releases else "?"

    def before(self, release: str) -> str | None:
        """The release read just before ``release`` (the newest one known to lack a name first seen there)."""
        if release in self.releases:
            index = self.releases.index(release)
            return self.releases[index - 1] if index else None
        return None

    def after(self, release: str) -> str | None:
        if release in self.releases:
            index = self.releases.index(release)
            return self.releases[index + 1] if index + 1 < len(self.releases) else None
        return None


@functools.lru_cache(maxsize=1)
def load() -> Names:
    raw = json.loads(resources.files("vlmcompat").joinpath("data", DATA_FILE).read_text(encoding="utf-8"))
    return Names(tuple(raw["releases"]), dict(raw["model_types"]), dict(raw["classes"]), dict(raw["modules"]),
                 dict(raw["gone"]))


# -- building the file from release trees ---------------------------------------------------------

def _release_of(package_dir: Path) -> str:
    for info in package_dir.parent.glob("transformers-*.dist-info"):
        return info.name[len("transformers-"):-len(".dist-info")]
    found = re.search(r'__version__ = "([^"]+)"', (package_dir / "__init__.py").read_text(encoding="utf-8"))
    return found.group(1) if found else "0"


def read_release(package_dir: Path) -> tuple[set[str], set[str]]:
    """(model types, class names) in one release's ``transformers/models/auto`` mappings (5.x keeps most
    of them in ``auto_mappings.py``); the model modules are ``transformers/models/*/``."""
    auto = package_dir / _AUTO
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(auto.glob("*.py"))}
    types: set[str] = set()
    classes: set[str] = set()
    for name in ("auto_mappings.py", "configuration_auto.py"):
        text = texts.get(name, "")
        for start in _CONFIG_BLOCK.finditer(text):
            block = text[start.end():text.find("\n)\n", start.end())]
            types |= {m.group(1) for m in _PAIR.finditer(block)}
    for name in ("auto_mappings.py", "modeling_auto.py", "processing_auto.py", "image_processing_auto.py",
                 "configuration_auto.py"):
        text = texts.get(name, "")
        classes |= {found for m in _PAIR.finditer(text) for found in _QUOTED.findall(m.group(2))
                    if _CLASS_NAME.search(found)}
    for text in texts.values():
        classes |= set(_AUTO_CLASS.findall(text))
    return types, classes


def _sort_key(release: str) -> Version:
    try:
        return Version(release)
    except InvalidVersion:
        return Version("0")


def build(package_dirs: list[Path]) -> dict:
    releases = sorted(((_release_of(d), d) for d in package_dirs), key=lambda pair: _sort_key(pair[0]))
    first_type: dict[str, str] = {}
    first_class: dict[str, str] = {}
    first_module: dict[str, str] = {}
    last: dict[str, str] = {}
    newest: set[str] = set()
    for release, directory in releases:
        types, classes = read_release(directory)
        for name in types:
            first_type.setdefault(name, release)
        for name in classes:
            first_class.setdefault(name, release)
        for module in (d.name for d in (directory / "models").iterdir() if (d / "__init__.py").exists()):
            first_module.setdefault(module, release)
        for name in types | classes:
            last[name] = release
        newest = types | classes
    gone = {name: release for name, release in last.items() if name not in newest}
    return {"releases": [release for release, _ in releases], "model_types": dict(sorted(first_type.items())),
            "classes": dict(sorted(first_class.items())), "modules": dict(sorted(first_module.items())),
            "gone": dict(sorted(gone.items()))}


def _package_dir(path: Path) -> Path:
    return path if (path / _AUTO).is_dir() else path / "transformers"


if __name__ == "__main__":
    dirs = [_package_dir(Path(arg)) for arg in sys.argv[1:]]
    missing = [str(d) for d in dirs if not (d / _AUTO).is_dir()]
    if not dirs or missing:
        sys.exit("usage: python -m vlmcompat.explain.names DIR ... (each a site-packages or unpacked wheel "
                 f"holding transformers/); not a transformers tree: {', '.join(missing) or 'none given'}")
    print(json.dumps(build(dirs), indent=0, sort_keys=False))
