"""Plans across several machines for llama.cpp's RPC backend.

Each extra machine runs `ggml-rpc-server`; the main one loads the model with
`--rpc host:port,...` and `--tensor-split`. `hosts` reads each machine's
`picker probe --json` document, `split` chooses how many layers each device takes
(through the memory planner's own placement and per-device plan), `speed` says
what bounds the tokens/s, `commands` prints what to run and `report` shows it.
"""
