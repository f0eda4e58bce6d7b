"""What a plan says about memory llama.cpp's own tools add and picker's runtime does not.

- Context checkpoints: llama-server (the llama.cpp that llama-cpp-python 0.3.36 vendors,
  tools/server/server-context.cpp) snapshots the part of a sequence's memory that cannot
  be rolled back, the recurrent state of hybrid and recurrent models, before each prompt,
  up to `--ctx-checkpoints` (default 32, common/common.h) per slot, in host memory.
  llama-cpp-python, which picker's smoke and chat run, keeps none: the plan counts none
  and says how much llama-server would add.
- MTP / nextn blocks: llama.cpp skips them unless the model is loaded with `load_mtp`
  (llama_model_params in 0.3.36); llama-cpp-python's Llama class, which picker's runtime
  loads models with, never sets it, so the plan leaves them out and says how big they are.
"""

from picker.memory.shape import ModelShape
from picker.units import format_size

SERVER_CONTEXT_CHECKPOINTS = 32  # llama-server's --ctx-checkpoints default, per slot


def checkpoint_note(shape: ModelShape, recurrent_bytes: int, n_seq_max: int,
                    swa_cache_bytes: int = 0) -> str | None:
    """The checkpoints llama-server would keep of a hybrid/recurrent model's state, or of a
    sliding-window cache without swa_full (server-context.cpp checkpoints both: neither can
    be rolled back; an SWA checkpoint writes the window cache alone, PARTIAL_ONLY)."""
    if recurrent_bytes:
        kept, what = recurrent_bytes, "recurrent state"
    elif swa_cache_bytes:
        kept, what = swa_cache_bytes, "sliding-window cache (swa_full off)"
    else:
        return None
    per_sequence = kept // max(n_seq_max, 1)
    most = SERVER_CONTEXT_CHECKPOINTS * per_sequence
    each = "each" if recurrent_bytes else "each at most"
    return (f"context checkpoints not counted: llama-server keeps up to "
            f"{SERVER_CONTEXT_CHECKPOINTS} per slot (--ctx-checkpoints) of this model's "
            f"{what} ({format_size(per_sequence)} {each}), up to {format_size(most)} "
            "more host memory per slot; picker's smoke and chat (llama-cpp-python) keep none")


def mtp_note(shape: ModelShape) -> str | None:
    """The multi-token-prediction blocks the plan leaves out, as llama.cpp does."""
    if not shape.n_layer_nextn:
        return None
    size = f" ({format_size(shape.nextn_weight_bytes)} of weights)" if shape.nextn_weight_bytes else ""
    return (f"{shape.n_layer_nextn} multi-token-prediction (MTP) block(s){size} not counted: "
            "llama.cpp loads them only with load_mtp, which picker's runtime "
            "(llama-cpp-python's Llama) does not set")
