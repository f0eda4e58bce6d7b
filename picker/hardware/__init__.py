"""The hardware probe: what this machine can give a model, with the source of every value.

Import `probe_hardware` from `picker.hardware.probe`; this package's modules keep
NVML, sysfs and sysctl off the import path until a probe actually runs.
"""
