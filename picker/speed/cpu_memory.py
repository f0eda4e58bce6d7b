"""A CPU's peak memory bandwidth from its memory system, for machines picker cannot measure.

Token generation on a CPU is bound by how fast the memory channels deliver the weights:
peak = channels x transfers per second x 8 bytes (a DDR4 channel is 64 bits wide; a DDR5
DIMM's two 32-bit subchannels are 64 bits together; LPDDR parts are counted the same way
by their total bus width / 64). The what-if flags `--memory-channels N --memory-mts MT/s`
or `--memory-bandwidth GB/s` state it; `picker.speed.calibration` says what fraction
llama.cpp reaches.
"""

BYTES_PER_CHANNEL_TRANSFER = 8
MAX_CHANNELS = 24  # two 12-channel sockets
MAX_MTS = 20_000
MAX_BANDWIDTH_GBPS = 20_000.0


def channel_bandwidth(channels: int, mts: int) -> tuple[float, str]:
    """(bytes/s, how it was worked out) for `channels` channels at `mts` MT/s."""
    if not 1 <= channels <= MAX_CHANNELS:
        raise ValueError(f"--memory-channels: {channels} is not a memory system; give 1 to "
                         f"{MAX_CHANNELS}, e.g. 2 for a desktop, 12 for an EPYC 9004")
    if not 100 <= mts <= MAX_MTS:
        raise ValueError(f"--memory-mts: {mts} MT/s is not a memory speed; give the transfer "
                         "rate, e.g. 5600 for DDR5-5600")
    bandwidth = channels * mts * 1e6 * BYTES_PER_CHANNEL_TRANSFER
    return bandwidth, (f"what-if: {channels} channels x {mts} MT/s x "
                       f"{BYTES_PER_CHANNEL_TRANSFER} bytes = {bandwidth / 1e9:.1f} GB/s")


def stated_bandwidth(gbps: float) -> tuple[float, str]:
    """(bytes/s, how it was stated) for a peak given in GB/s."""
    if not 1.0 <= gbps <= MAX_BANDWIDTH_GBPS:
        raise ValueError(f"--memory-bandwidth: {gbps:g} GB/s is not a memory system's peak; "
                         "give GB/s, e.g. 89.6 for dual-channel DDR5-5600")
    return gbps * 1e9, f"what-if: --memory-bandwidth {gbps:g} GB/s"
