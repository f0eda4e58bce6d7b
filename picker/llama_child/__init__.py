"""llama.cpp in a child process, for every part of picker that runs it.

`process.ChildProcess` is the parent's side (start, send requests, read events and
llama.cpp's log, deadlines, kill); `worker` is the child (`python -m picker.llama_child.worker`),
which loads a model and streams answers for the runtime, or creates contexts without
allocating for the memory plan's dry run (`probe`). A native crash ends the child only.
"""
