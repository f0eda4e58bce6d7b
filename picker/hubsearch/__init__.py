"""`picker search`: GGUF repositories on the Hugging Face Hub, planned for this machine.

The Hub is the catalog's live extension: `listing` asks the Hub's model list for GGUF
repositories, `files` groups a repository's files into quantizations, `plan` reads one
GGUF header per repository with ranged reads and plans every quantization on this (or a
what-if) machine, `cache` keeps the results with their date for offline use, and `render`
prints them. Nothing here is imported on the path of `picker --json`.
"""
