"""LoRA in plain torch, for training when peft cannot be imported.

Same semantics as peft's LoRA for ``nn.Linear`` (``LoraConfig(r, lora_alpha, lora_dropout,
target_modules)``, bias "none", default init), so an adapter trained here loads with
``PeftModel.from_pretrained`` wherever peft works:

- targets: a module whose qualified name equals a target or ends with ``.<target>`` (a string
  is a regex that must match the whole name), as peft's ``check_target_module_exists``;
- each target becomes ``LoraLinear(base_layer, lora_A, lora_B)``; ``lora_A`` is created and
  kaiming-uniform initialised (``a=sqrt(5)``) and ``lora_B`` zeroed in the order peft uses, so
  the same seed gives the same weights as ``get_peft_model``;
- ``y = base_layer(x) + lora_B(lora_A(dropout(x))) * alpha / r``; everything else is frozen;
- adapter weights are float32 when the base layer is fp16/bf16 (peft's ``autocast_adapter_dtype``);
- :func:`lora_state_dict` uses the keys peft saves (``base_model.model.<path>.lora_A.weight``),
  :func:`save_adapter` writes ``adapter_config.json`` + ``adapter_model.safetensors``;
  :func:`load_adapter` reads them back (or an adapter peft saved) without peft.

torch is imported inside functions; ``LoraLinear`` is built on first use.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

PREFIX = "base_model.model."
CONFIG_ATTR = "_vlmcompat_lora_config"
_LORA_LINEAR: Any = None


def _lora_linear_class() -> Any:
    """The ``LoraLinear`` module class (defined lazily so that importing this module is cheap)."""
    global _LORA_LINEAR
    if _LORA_LINEAR is not None:
        return _LORA_LINEAR
    import torch
    from torch import nn

    class LoraLinear(nn.Module):
        """``base_layer(x) + lora_B(lora_A(dropout(x))) * scaling``, as peft's ``lora.Linear``."""

        def __init__(self, base_layer: nn.Linear, r: int, alpha: int, dropout: float):
            super().__init__()
            self.base_layer = base_layer
            self.in_features, self.out_features = base_layer.in_features, base_layer.out_features
            self.r, self.lora_alpha, self.scaling = r, alpha, alpha / r
            self.lora_dropout = nn.Dropout(p=dropout) if dropout > 0.0 else nn.Identity()
            # peft's order of random draws: both Linear inits, then A again (B is zeroed).
            self.lora_A = nn.Linear(self.in_features, r, bias=False)
            self.lora_B = nn.Linear(r, self.out_features, bias=False)
            nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B.weight)
            weight = base_layer.weight
            dtype = torch.float32 if weight.dtype in (torch.float16, torch.bfloat16) else weight.dtype
            self.lora_A.to(device=weight.device, dtype=dtype)
            self.lora_B.to(device=weight.device, dtype=dtype)

        @property
        def weight(self) -> torch.Tensor:  # models read .weight.dtype of their projections
            return self.base_layer.weight

        @property
        def bias(self) -> torch.Tensor | None:
            return self.base_layer.bias

        def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
            result = self.base_layer(x, *args, **kwargs)
            result_dtype = result.dtype
            x = x.to(self.lora_A.weight.dtype)
            result = result + self.lora_B(self.lora_A(self.lora_dropout(x))) * self.scaling
            return result.to(result_dtype)

        def extra_repr(self) -> str:
            return f"r={self.r}, lora_alpha={self.lora_alpha}"

    _LORA_LINEAR = LoraLinear
    return LoraLinear


def matches_target(name: str, target_modules: list[str] | str) -> bool:
    """peft's rule: a regex that matches the whole name, or a name equal to / ending in ``.target``."""
    if isinstance(target_modules, str):
        return re.fullmatch(target_modules, name) is not None
    return name in target_modules or any(name.endswith(f".{target}") for target in target_modules)


def _saved_modules(model: Any, modules_to_save: list[str]) -> dict[str, Any]:
    """Qualified name -> module for peft's ``modules_to_save`` (matched by name suffix, like peft)."""
    if not modules_to_save:
        return {}
    return {name: module for name, module in model.named_modules()
            if name and any(name == m or name.endswith(f".{m}") for m in modules_to_save)}


def inject(model: Any, target_modules: list[str] | str, r: int, alpha: int, dropout: float = 0.0,
           modules_to_save: list[str] | None = None) -> Any:
    """Wrap the matching ``nn.Linear`` modules of ``model`` in LoRA layers (in place) and freeze the
    rest, except ``modules_to_save`` (peft's option: trained in full and saved with the adapter)."""
    from torch import nn

    if r <= 0:
        raise ValueError(f"LoRA rank r must be a positive integer, got {r}")
    if lora_layers(model):
        raise ValueError("this model already has vlmcompat LoRA layers; inject once per model")
    lora_linear = _lora_linear_class()
    names = [name for name, _ in model.named_modules()]
    wrapped = []
    for name in names:
        if not name or not matches_target(name, target_modules):
            continue
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        module = getattr(parent, child)
        if not isinstance(module, nn.Linear):
            raise ValueError(f"target module {name} is a {type(module).__name__}; the LoRA fallback wraps only "
                             "torch.nn.Linear; narrow target_modules")
        setattr(parent, child, lora_linear(module, r, alpha, dropout))
        wrapped.append(name)
    if not wrapped:
        shown = target_modules if isinstance(target_modules, str) else sorted(target_modules)
        raise ValueError(f"target modules {shown} not found in the base model ({type(model).__name__}); "
                         "check target_modules")
    for name, param in model.named_parameters():
        param.requires_grad = "lora_" in name
    saved = _saved_modules(model, list(modules_to_save or []))
    if modules_to_save and not saved:
        raise ValueError(f"modules_to_save {sorted(modules_to_save)} not found in {type(model).__name__}")
    for module in saved.values():
        module.requires_grad_(True)
    targets = sorted(set(target_modules)) if not isinstance(target_modules, str) else target_modules
    setattr(model, CONFIG_ATTR, {"r": r, "lora_alpha": alpha, "lora_dropout": dropout, "target_modules": targets,
                                 "modules_to_save": sorted(modules_to_save) if modules_to_save else None})
    return model


def lora_layers(model: Any) -> dict[str, Any]:
    """Qualified name -> LoRA layer, in module order."""
    if _LORA_LINEAR is None:
        return {}
    return {name: module for name, module in model.named_modules() if isinstance(module, _LORA_LINEAR)}


def lora_state_dict(model: Any) -> dict[str, Any]:
    """The adapter weights under the keys peft saves (adapter name dropped), detached, on CPU."""
    state = {}
    for name, layer in lora_layers(model).items():
        state[f"{PREFIX}{name}.lora_A.weight"] = layer.lora_A.weight.detach().cpu().contiguous()
        state[f"{PREFIX}{name}.lora_B.weight"] = layer.lora_B.weight.detach().cpu().contiguous()
    config = getattr(model, CONFIG_ATTR, None) or {}
    for name, module in _saved_modules(model, config.get("modules_to_save") or []).items():
        for pname, param in module.named_parameters():  # peft: <module>.modules_to_save.<adapter>.x -> <module>.x
            state[f"{PREFIX}{name}.{pname}"] = param.detach().cpu().contiguous()
    return state


def adapter_config(model: Any, base_model_name_or_path: str | None, task_type: str | None = None) -> dict[str, Any]:
    """peft's ``adapter_config.json`` for this model, limited to fields every LoRA-capable peft reads."""
    config = getattr(model, CONFIG_ATTR, None)
    if config is None:
        raise ValueError("this model has no vlmcompat LoRA layers; call lora_fallback.inject() first")
    return {
        "peft_type": "LORA", "auto_mapping": None, "base_model_name_or_path": base_model_name_or_path,
        "revision": None, "task_type": task_type, "inference_mode": True,
        "r": config["r"], "target_modules": config["target_modules"], "lora_alpha": config["lora_alpha"],
        "lora_dropout": config["lora_dropout"], "fan_in_fan_out": False, "bias": "none",
        "modules_to_save": config.get("modules_to_save"), "init_lora_weights": True, "layers_to_transform": None,
        "layers_pattern": None,
    }


def save_adapter(model: Any, out_dir: str | Path, base_model_name_or_path: str | None,
                 task_type: str | None = None) -> Path:
    """Write ``adapter_config.json`` and ``adapter_model.safetensors`` (``.bin`` without safetensors)."""
    out = Path(out_dir)
    config = adapter_config(model, base_model_name_or_path, task_type)
    out.mkdir(parents=True, exist_ok=True)
    state = lora_state_dict(model)
    try:
        from safetensors.torch import save_file
    except ImportError:
        import torch

        torch.save(state, out / "adapter_model.bin")
    else:
        save_file(state, str(out / "adapter_model.safetensors"), metadata={"format": "pt"})
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return out


_UNSUPPORTED = {"use_dora": False, "use_rslora": False, "fan_in_fan_out": False, "bias": "none",
                "layers_to_transform": None, "rank_pattern": {}, "alpha_pattern": {}}


def load_adapter(model: Any, adapter_dir: str | Path, is_trainable: bool = False) -> Any:
    """Inject LoRA layers as ``adapter_config.json`` says and load the saved weights (ours or peft's).

    Like ``PeftModel.from_pretrained``, the adapter is frozen unless ``is_trainable``. Adapters
    using features the fallback lacks (DoRA, rsLoRA, per-layer ranks, bias) are refused rather
    than loaded wrongly; ``modules_to_save`` are loaded in full, as peft does.
    """
    import torch

    adapter_dir = Path(adapter_dir)
    try:
        config = json.loads((adapter_dir / "adapter_config.json").read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{adapter_dir} has no adapter_config.json; "
                                "pass the directory save_adapter wrote") from None
    if config.get("peft_type") != "LORA":
        raise ValueError(f"{adapter_dir} holds a {config.get('peft_type')} adapter; the fallback loads LORA only")
    for key, plain in _UNSUPPORTED.items():
        if config.get(key) not in (plain, None):
            raise ValueError(f"{adapter_dir}: {key}={config[key]!r} is not supported by the LoRA fallback; "
                             "load it with peft")
    inject(model, config["target_modules"], config["r"], config["lora_alpha"], config.get("lora_dropout") or 0.0,
           modules_to_save=config.get("modules_to_save"))
    if (adapter_dir / "adapter_model.safetensors").exists():
        from safetensors.torch import load_file

        state = load_file(str(adapter_dir / "adapter_model.safetensors"))
    else:
        state = torch.load(adapter_dir / "adapter_model.bin", map_location="cpu", weights_only=True)
    expected = lora_state_dict(model)
    if sorted(state) != sorted(expected):
        missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        raise ValueError(f"{adapter_dir}: adapter keys do not fit this model (missing {missing[:2]}, "
                         f"unexpected {unexpected[:2]}); was it saved for another architecture?")
    with torch.no_grad():
        for name, layer in lora_layers(model).items():
            for part in ("lora_A", "lora_B"):
                weight = getattr(layer, part).weight
                weight.copy_(state[f"{PREFIX}{name}.{part}.weight"].to(weight.dtype))
                weight.requires_grad = is_trainable
        for name, module in _saved_modules(model, config.get("modules_to_save") or []).items():
            for pname, param in module.named_parameters():
                param.copy_(state[f"{PREFIX}{name}.{pname}"].to(param.dtype))
                param.requires_grad = is_trainable
    return model
