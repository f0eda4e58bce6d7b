"""Token speed estimates: generation is bound by memory bandwidth, prompt processing by compute.

`picker.speed.estimate` turns a fit plan's bytes per device into tokens/s; the GPU
bandwidth table and the CPU bandwidth probe supply the bandwidths. Nothing here
imports llama_cpp, gguf or numpy, so it is cheap on the `picker --json` path.
"""
