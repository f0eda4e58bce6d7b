"""Memory plans that match what llama.cpp allocates: weights, KV cache, compute, output.

Entry points: `shape.shape_from_header` (or `estimate.shape_from_facts`), then
`solver.fit(shape, settings, machine)`. `llama_log` reads llama.cpp's own
buffer lines; `llama_probe` asks llama.cpp itself (no-alloc dry run).
"""
