"""llama.cpp at run time: the smoke test and chat, always in a child process.

Importing this package is cheap; llama_cpp is only imported inside the child.
"""
