"""Old Trainers meet accelerate >= 1.0: translate the removed ``Accelerator`` arguments.

transformers 4.32-4.39 build their ``Accelerator`` with ``dispatch_batches=`` and
``split_batches=`` (4.38-4.39 from ``accelerator_config``, with ``even_batches=`` and
``use_seedable_sampler=``); accelerate 1.0 removed those arguments in favour of
``dataloader_config=DataLoaderConfiguration(...)``, and the resolver happily installs the pair
(peft pulls the newest accelerate): ``Accelerator.__init__() got an unexpected keyword argument
'dispatch_batches'`` (``accelerate-dataloader-kwargs``). The patched ``__init__`` moves those
arguments into a ``DataLoaderConfiguration``, exactly what accelerate's own deprecation path did
before it removed them. Applied only where the installed Accelerator lacks the old arguments.
"""

from __future__ import annotations

import inspect

from vlmcompat.patches import Patch, Plan, Replacement

MOVED = ("dispatch_batches", "split_batches", "even_batches", "use_seedable_sampler")


def make_init(original):
    def __init__(self, *args, **kwargs):
        moved = {name: kwargs.pop(name) for name in MOVED if name in kwargs}
        moved = {name: value for name, value in moved.items() if value is not None}
        if moved:
            from accelerate.utils import DataLoaderConfiguration

            if kwargs.get("dataloader_config") is not None:
                config = kwargs["dataloader_config"]
                for name, value in moved.items():
                    setattr(config, name, value)
            else:
                kwargs["dataloader_config"] = DataLoaderConfiguration(**moved)
        original(self, *args, **kwargs)

    __init__.__wrapped__ = original
    return __init__


def _plan() -> Plan:
    try:
        from accelerate import Accelerator
    except Exception:
        return Plan(reason="accelerate is not installed")
    params = inspect.signature(Accelerator.__init__).parameters
    if "dispatch_batches" in params:
        return Plan(reason="this accelerate still takes dispatch_batches/split_batches")
    if "dataloader_config" not in params:
        return Plan(reason="this accelerate has no dataloader_config to move the arguments into")
    return Plan([Replacement(Accelerator, "__init__", make_init)])


PATCH = Patch(
    name="accelerate_dataloader_kwargs",
    summary="Accelerator accepts dispatch_batches/split_batches again (transformers 4.35-4.37 with accelerate>=1.0)",
    plan=_plan,
)
