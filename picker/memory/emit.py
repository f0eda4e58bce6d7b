"""A memory plan written out for the program that will run it (`picker fit --emit FORMAT`).

`llama_flags` is the one place settings become llama.cpp flags; the RPC command lines
(picker/rpc/commands.py) use it too. Flags are llama.cpp's common arguments (`-ngl -ts -c -b
-ub -fa --swa-full -ctk -ctv --n-cpu-moe -np --fit`); every setting the plan assumed is
stated, since llama-server's own defaults differ from llama-cpp-python's (n_batch 2048,
swa_full off, several slots, `--fit on` redoing -ngl). What a format cannot say is
returned as a note, never silently dropped:
- llama-cpp-python 0.3.36's `Llama` takes no tensor overrides (no --n-cpu-moe);
- an Ollama Modelfile sets num_ctx, num_batch and num_gpu; flash attention and the KV cache
  type are the server's environment (OLLAMA_FLASH_ATTENTION, OLLAMA_KV_CACHE_TYPE, one type
  for K and V), and the micro-batch, a tensor split and experts on the CPU are not settable;
- an LM Studio preset uses the load keys LM Studio stores in its per-model configs
  (llm.load.contextLength, llm.load.llama.flashAttention, k/vCacheQuantizationType as
  {checked, value}, evalBatchSize, acceleration.offloadRatio, autoFit); a tensor split,
  the micro-batch and experts on the CPU have no key picker knows of.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any, NamedTuple

from picker.llama_settings import LlamaSettings
from picker.memory.placement import CPU
from picker.memory.plan import MemoryPlan

FORMATS = ("llama-server", "llama-cli", "llama-cpp-python", "ollama", "lm-studio")


def _experts_stay(runner: str, plan: MemoryPlan) -> str:
    """What a runner without tensor overrides does to a plan with experts on the CPU."""
    return (f"{runner} cannot keep experts on the CPU (--n-cpu-moe {plan.settings.n_cpu_moe}): "
            f"it loads them with their layers, {plan.cpu_moe_bytes / 2**30:,.2f} GiB more on "
            "the GPU than this plan; --emit llama-server keeps them on the CPU")


# llama-server's prompt cache (common/common.h cache_ram_mib = 8192 in the llama.cpp that
# llama-cpp-python 0.3.36 vendors): host memory on top of the plan, up to this much.
SERVER_PROMPT_CACHE_MIB = 8192
PROMPT_CACHE_NOTE = (
    f"llama-server also keeps a prompt cache of up to {SERVER_PROMPT_CACHE_MIB} MiB of host "
    "memory (--cache-ram, its default; not in the plan, which counts what picker's runtime "
    "allocates); add --cache-ram 0 to turn it off or --cache-ram N to bound it")


class Emitted(NamedTuple):
    text: str
    notes: tuple[str, ...]


def plan_tensor_split(plan: MemoryPlan) -> tuple[int, ...]:
    """Layers per GPU (the output layer counted where it goes), when there are several."""
    gpus = [device for device in plan.devices if device.device != CPU]
    if len(gpus) < 2:
        return ()
    return tuple(device.layers + (device.device == plan.output_device) for device in gpus)


def llama_flags(settings: LlamaSettings, swa: bool, n_gpu_layers: int,
                tensor_split: Sequence[int] = (), slots: bool = True) -> list[str]:
    """llama.cpp's flags for exactly these settings (`swa`: the model has sliding layers)."""
    flags = ["-ngl", str(n_gpu_layers)]
    if tensor_split:
        flags += ["-ts", ",".join(str(share) for share in tensor_split)]
    flags += ["-c", str(settings.n_ctx), "-b", str(settings.n_batch),
              "-ub", str(settings.n_ubatch), "-fa", "on" if settings.flash_attn else "off"]
    if settings.swa_full and swa:
        flags.append("--swa-full")  # llama-server's default is off; the plan assumed on
    if settings.type_k != "f16" or settings.type_v != "f16":
        flags += ["-ctk", settings.type_k, "-ctv", settings.type_v]
    if settings.n_cpu_moe:
        flags += ["--n-cpu-moe", str(settings.n_cpu_moe)]
    if slots:
        flags += ["-np", str(settings.n_seq_max)]
        if settings.kv_unified:
            flags.append("--kv-unified")
    return [*flags, "--fit", "off"]  # llama.cpp's fit would otherwise redo the placement


def _settings(plan: MemoryPlan) -> LlamaSettings:
    """The plan's settings with the context it really has (0, the trained one, spelled out)."""
    return plan.settings._replace(n_ctx=plan.settings.n_ctx or plan.effective.n_ctx)


def _model(model_args: Sequence[str]) -> dict[str, str]:
    """{"-m": PATH} or {"--hf-repo": REPO, "--hf-file": FILE}, from the model's arguments."""
    return dict(zip(model_args[::2], model_args[1::2], strict=True))


def emit(plan: MemoryPlan, model_args: Sequence[str], form: str) -> Emitted:
    """The plan as `form` (one of FORMATS) for the model `model_args` names."""
    settings = _settings(plan)
    split = plan_tensor_split(plan)
    swa = any(plan.shape.swa_layers)
    if form in ("llama-server", "llama-cli"):
        flags = llama_flags(settings, swa, plan.gpu_layers, split, slots=form == "llama-server")
        notes = (PROMPT_CACHE_NOTE,) if form == "llama-server" else ()
        return Emitted(shlex.join([form, *model_args, *flags]), notes)
    if form == "llama-cpp-python":
        emitted = _python(settings, plan, split, swa, _model(model_args))
    elif form == "ollama":
        emitted = _modelfile(settings, plan, split, _model(model_args))
    else:
        emitted = _lm_studio(settings, plan, split, _model(model_args))
    if settings.n_seq_max > 1:  # only llama-server runs slots; the others serve one sequence
        unified = ", one unified KV cache" if settings.kv_unified else ""
        slots = (f"the plan has {settings.n_seq_max} parallel slots{unified}; {form} runs one "
                 "sequence per model here (llama-server's -np runs them)")
        emitted = emitted._replace(notes=(*emitted.notes, slots))
    return emitted


def _python(settings: LlamaSettings, plan: MemoryPlan, split: tuple[int, ...], swa: bool,
            model: dict[str, str]) -> Emitted:
    arguments: list[tuple[str, Any]] = [
        ("n_ctx", settings.n_ctx), ("n_batch", settings.n_batch), ("n_ubatch", settings.n_ubatch),
        ("n_gpu_layers", plan.gpu_layers), ("flash_attn", settings.flash_attn),
    ]
    if split:
        arguments.append(("tensor_split", [float(share) for share in split]))
    if swa:
        arguments.append(("swa_full", settings.swa_full))
    types = [(key, f"llama_cpp.GGML_TYPE_{name.upper()}")
             for key, name in (("type_k", settings.type_k), ("type_v", settings.type_v))
             if name != "f16"]
    if "-m" in model:
        opening = f"llm = llama_cpp.Llama(\n    model_path={model['-m']!r},\n"
    else:
        opening = (f"llm = llama_cpp.Llama.from_pretrained(\n    repo_id={model['--hf-repo']!r},\n"
                   f"    filename={model['--hf-file']!r},\n")
    lines = "".join(f"    {key}={value!r},\n" for key, value in arguments)
    lines += "".join(f"    {key}={expression},\n" for key, expression in types)
    notes = (_experts_stay("llama-cpp-python 0.3.36", plan),) if settings.n_cpu_moe else ()
    comment = "".join(f"# {note}\n" for note in notes)
    return Emitted(f"import llama_cpp\n\n{comment}{opening}{lines})", notes)


def _modelfile(settings: LlamaSettings, plan: MemoryPlan, split: tuple[int, ...],
               model: dict[str, str]) -> Emitted:
    if "-m" in model:
        source = model["-m"]
    else:
        source = f"hf.co/{model['--hf-repo']}"
        quant = PurePath(model["--hf-file"]).stem.rsplit("-", 1)[-1].rsplit(".", 1)[-1]
        source += f":{quant}" if quant.upper().startswith(("Q", "IQ", "F16", "BF16")) else ""
    notes = []
    if settings.flash_attn or settings.type_k != "f16" or settings.type_v != "f16":
        environment = ["OLLAMA_FLASH_ATTENTION=1" if settings.flash_attn else
                       "OLLAMA_FLASH_ATTENTION=0", f"OLLAMA_KV_CACHE_TYPE={settings.type_k}"]
        notes.append("start the Ollama server with " + " ".join(environment)
                     + " (a server setting, not a Modelfile one)")
        if settings.type_k != settings.type_v:
            notes.append(f"Ollama uses one cache type for K and V; this plan has "
                         f"{settings.type_k}/{settings.type_v}")
    if settings.n_ubatch != settings.n_batch:
        notes.append(f"Ollama sets no micro-batch apart from num_batch; the plan's n_ubatch is "
                     f"{settings.n_ubatch}")
    if split:
        notes.append(f"Ollama takes no tensor split; the plan's is {','.join(map(str, split))}")
    if settings.n_cpu_moe:
        notes.append(_experts_stay("Ollama", plan))
    lines = [f"FROM {source}", f"PARAMETER num_ctx {settings.n_ctx}",
             f"PARAMETER num_batch {settings.n_batch}", f"PARAMETER num_gpu {plan.gpu_layers}"]
    return Emitted("\n".join([*(f"# {note}" for note in notes), *lines]), tuple(notes))


def _lm_studio(settings: LlamaSettings, plan: MemoryPlan, split: tuple[int, ...],
               model: dict[str, str]) -> Emitted:
    name = PurePath(model.get("-m") or model["--hf-file"]).name
    fields: list[dict[str, Any]] = [
        {"key": "llm.load.llama.autoFit", "value": False},
        {"key": "llm.load.contextLength", "value": settings.n_ctx},
        {"key": "llm.load.llama.evalBatchSize", "value": settings.n_batch},
        {"key": "llm.load.llama.flashAttention", "value": settings.flash_attn},
        {"key": "llm.load.llama.acceleration.offloadRatio",
         "value": round(plan.gpu_layers / (plan.shape.n_layer + 1), 4)},
        {"key": "llm.load.llama.kCacheQuantizationType",
         "value": {"checked": settings.type_k != "f16", "value": settings.type_k}},
        {"key": "llm.load.llama.vCacheQuantizationType",
         "value": {"checked": settings.type_v != "f16", "value": settings.type_v}},
    ]
    notes = [f"LM Studio preset for {name}: {what}" for what, wanted in (
        (f"no key for the micro-batch (n_ubatch {settings.n_ubatch})",
         settings.n_ubatch != settings.n_batch),
        (f"no key for a tensor split ({','.join(map(str, split))})", bool(split)),
        ) if wanted]
    if settings.n_cpu_moe:
        notes.append(_experts_stay("this LM Studio preset (no key picker knows)", plan))
    preset = {"name": f"picker plan: {name}", "operation": {"fields": []},
              "load": {"fields": fields}}
    return Emitted(json.dumps(preset, indent=2), tuple(notes))
