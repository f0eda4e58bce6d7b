"""Memory bandwidth of known GPUs, APUs and Apple chips, each row with where the figure comes from.

Token generation reads every active weight once per token, so a GPU's memory bandwidth
sets its speed far more than its compute does. Figures are the vendors' peak
specifications in GB/s (10^9 bytes/s); the estimate applies a per-backend efficiency on
top (see `picker.speed.calibration`). Compute is not a column: prompt speed uses an
effective FLOP per byte of bandwidth fitted per GPU architecture (`arch`) to published
llama.cpp prompt figures.

A name is matched by tokens: every token of a row must appear in the GPU's name, and the
row with the most tokens wins, so "RTX 4070 Ti Super" beats "RTX 4070 Ti" beats "RTX
4070". Chips sold in variants with different memory systems (Apple M3 Max and M4 Max:
30/32- vs 40-core GPU) are told apart by what the probe reads, never by the name alone:
a GPU core count in the name ("M3 Max 40-core"), else the CPU core count that comes with
each variant (14 vs 16 cores). When neither is known the slower variant is assumed and
the assumption is said (`GpuMatch.assumption`). AMD APUs appear in sysfs without a
marketing name; their CPU's brand string names the iGPU ("AMD RYZEN AI MAX+ 395 w/
Radeon 8060S"), which `resolve_gpu` uses.
"""

import re
from functools import lru_cache

from picker.namedrecord import NamedRecord

# Where each family's figures come from. Rows added for issue 22 name the page read for them.
_SOURCES: dict[str, str] = {
    "rtx50": "NVIDIA GeForce RTX 50 series specifications, nvidia.com",
    "rtx40": "NVIDIA GeForce RTX 40 series specifications, nvidia.com",
    "rtx40m": "NVIDIA GeForce RTX 40 series laptop specifications, nvidia.com",
    "rtx30": "NVIDIA GeForce RTX 30 series specifications, nvidia.com",
    "rtx30m": "NVIDIA GeForce RTX 30 series laptop specifications, nvidia.com",
    "rtx20": "NVIDIA GeForce RTX 20 series specifications, nvidia.com",
    "gtx": "NVIDIA GeForce GTX 10/16 series specifications, nvidia.com",
    "nvws": "NVIDIA RTX professional (workstation) GPU datasheets, nvidia.com",
    "nvdc": "NVIDIA data-center GPU datasheets (A100, H100, H200, B200, L4, L40S, T4, V100...), nvidia.com",
    "gb10": "NVIDIA DGX Spark product page (GB10, 128 GB LPDDR5x unified, 273 GB/s), as quoted "
            "with the NVIDIA hardware guide at https://ai-infrastructure.net/dgx-spark/",
    "orin": "NVIDIA Jetson Orin Nano Super Developer Kit datasheet (8 GB LPDDR5 128-bit: 68 GB/s, "
            "102 GB/s with the Super clocks), as quoted at https://www.brojogopalsapui.com/ai-"
            "foundations/sub_contents/AI_hardware/jetson_orin_nano_light.html",
    "amdrx": "AMD Radeon RX product specifications, amd.com",
    "rx9070": "AMD Radeon RX 9070 / 9070 XT: 16 GB GDDR6 at 20 Gbps on 256 bits, 640 GB/s "
              "(https://multiplayer.it/notizie/amd-radeon-rx-9070-xt-rx-9070-specifiche.html)",
    "rx9060": "AMD Radeon RX 9060 XT: 8 or 16 GB GDDR6 at 20 Gbps on 128 bits, 320 GB/s "
              "(https://techpowerup.com/review/asus-radeon-rx-9060-xt-prime-oc-16-gb)",
    "r9700": "Radeon AI PRO R9700: the RX 9070 XT's Navi 48 chip and 256-bit GDDR6 memory "
             "system (gfx1201, ROCm GPU specifications, rocmdocs.amd.com/en/develop/reference/"
             "gpu-arch-specs.html); bandwidth taken as the RX 9070 XT's 640 GB/s (derived, "
             "not a quoted figure)",
    "strixhalo": "AMD Ryzen AI Max 300 (Strix Halo): 256-bit LPDDR5X-8000, 256 GB/s "
                 "(https://www.svethardware.cz/amd-predstavuje-ryzen-ai-max-strix-halo-s-az-16-"
                 "jadry-a-gpu-se-40-cu/61477); Radeon 8060S 40 CU (395, 390), 8050S 32 CU (385)",
    "amdpro": "AMD Radeon PRO product specifications, amd.com",
    "amdmi": "AMD Instinct accelerator datasheets, amd.com",
    "arc": "Intel Arc graphics product specifications, intel.com / ark.intel.com",
    "arcpro": "Intel Arc Pro B60: the Arc B580's BMG-G21 chip with a 192-bit memory interface "
              "(https://havefunesports.com/?p=25622); bandwidth taken as the B580's 456 GB/s "
              "(derived, not a quoted figure)",
    "apple": "Apple chip announcements and Mac technical specifications, apple.com",
    "m5pro": "Apple M5 Pro (up to 20-core GPU, up to 307 GB/s) and M5 Max (up to 40-core GPU, up "
             "to 614 GB/s), from Apple's press release as reported at https://www.lowyat.net/2026/"
             "385170/apple-m5-pro-m5-max; Apple says 'up to': a cut-down variant may read less",
    "rtxpro5000": "NVIDIA RTX PRO 5000 Blackwell: 48 GB GDDR7 on 384 bits, 1344 GB/s (GTC 2025, as "
                  "reported at https://www.purepc.pl/nvidia-rtx-pro-6000-rtx-pro-6000-max-q-rtx-"
                  "pro-5000-rtx-pro-4500-oraz-rtx-pro-4000-profesjonalne-karty-graficzne-blackwell)",
    "rtxpro4500": "NVIDIA RTX PRO 4500 Blackwell: 32 GB GDDR7, 896 GB/s (https://hmc-tech.com/gpus/"
                  "nvidia-geforce-rtx-4090-vs-nvidia-rtx-pro-4500-blackwell)",
    "rtxpro4000": "NVIDIA RTX PRO 4000 Blackwell: 24 GB GDDR7 on 192 bits, 672 GB/s; RTX PRO 2000 "
                  "Blackwell: 16 GB, 288 GB/s (https://cputronic.com/gpu/compare/nvidia-rtx-pro-"
                  "4000-blackwell-vs-nvidia-rtx-pro-2000-blackwell)",
    "rtxpro4000sff": "NVIDIA RTX PRO 4000 Blackwell SFF: 24 GB GDDR7 on 192 bits at 18 GT/s, 432 GB/s "
                     "(https://hmc-tech.com/gpu/nvidia-rtx-pro-4000-blackwell-sff)",
    "h200nvl": "NVIDIA H200 NVL (the PCIe card): 141 GB HBM3e at 4.8 TB/s, as the SXM5 module "
               "(https://www.saulelectric.com/nvidia-h200.html; https://openmetal.io/resources/blog/"
               "how-the-h200-is-built-for-memory-bound-ai-workloads/)",
    "arcprob50": "Intel Arc Pro B50: 16 GB GDDR6 on 128 bits, 224 GB/s (https://technical.city/en/"
                 "video/Iris-Plus-Graphics-650-vs-Arc-Pro-B50)",
    "rtx2060super": "GeForce RTX 2060 Super: 8 GB GDDR6 on 256 bits at 14 Gbps, 448 GB/s "
                    "(https://techpowerup.com/review/nvidia-geforce-rtx-2060-super)",
    "m4max": "Apple M4 Max in two variants, 14-core CPU + 32-core GPU and 16-core CPU + 40-core "
             "GPU, the latter with 546 GB/s (http://www.notebookcheck.net/Apple-M4-Max-official-"
             "with-incremental-upgrades-over-the-M3-Max.911098.0.html); 410 GB/s for the 32-core "
             "GPU from Apple's MacBook Pro technical specifications",
}


class GpuSpec(NamedRecord):
    """One known GPU: its peak memory bandwidth and the source of that figure."""

    name: str
    vendor: str
    bandwidth_bytes_per_second: float
    source: str
    note: str = ""
    arch: str = ""  # GPU architecture: the prompt-speed calibration is per architecture
    unified: bool = False  # shares the CPU's memory (Apple, GB10, Strix Halo, Jetson)
    gpu_cores: int = 0  # variant selector: GPU cores (Apple) or compute units (AMD)
    cpu_cores: int = 0  # variant selector: the CPU cores sold with this GPU variant


class GpuMatch(NamedRecord):
    """The table row for a device, and the assumption made to choose it, if any."""

    spec: GpuSpec
    assumption: str = ""


# (match tokens, display name, vendor, GB/s, source key, note, arch, flags)
# flags: "u" unified memory; "g<N>" GPU cores / CUs of this variant; "c<N>" its CPU cores.
_ROWS: tuple[tuple[str, str, str, float, str, str, str, str], ...] = (
    # NVIDIA GeForce, desktop
    ("rtx 5090", "GeForce RTX 5090", "nvidia", 1792, "rtx50", "", "blackwell", ""),
    ("rtx 5080", "GeForce RTX 5080", "nvidia", 960, "rtx50", "", "blackwell", ""),
    ("rtx 5070 ti", "GeForce RTX 5070 Ti", "nvidia", 896, "rtx50", "", "blackwell", ""),
    ("rtx 5070", "GeForce RTX 5070", "nvidia", 672, "rtx50", "", "blackwell", ""),
    ("rtx 5060 ti", "GeForce RTX 5060 Ti", "nvidia", 448, "rtx50", "", "blackwell", ""),
    ("rtx 5060", "GeForce RTX 5060", "nvidia", 448, "rtx50", "", "blackwell", ""),
    ("rtx 4090", "GeForce RTX 4090", "nvidia", 1008, "rtx40", "", "ada", ""),
    ("rtx 4080 super", "GeForce RTX 4080 Super", "nvidia", 736, "rtx40", "", "ada", ""),
    ("rtx 4080", "GeForce RTX 4080", "nvidia", 717, "rtx40", "", "ada", ""),
    ("rtx 4070 ti super", "GeForce RTX 4070 Ti Super", "nvidia", 672, "rtx40", "", "ada", ""),
    ("rtx 4070 ti", "GeForce RTX 4070 Ti", "nvidia", 504, "rtx40", "", "ada", ""),
    ("rtx 4070 super", "GeForce RTX 4070 Super", "nvidia", 504, "rtx40", "", "ada", ""),
    ("rtx 4070", "GeForce RTX 4070", "nvidia", 504, "rtx40", "", "ada", ""),
    ("rtx 4060 ti", "GeForce RTX 4060 Ti", "nvidia", 288, "rtx40", "", "ada", ""),
    ("rtx 4060", "GeForce RTX 4060", "nvidia", 272, "rtx40", "", "ada", ""),
    ("rtx 3090 ti", "GeForce RTX 3090 Ti", "nvidia", 1008, "rtx30", "", "ampere", ""),
    ("rtx 3090", "GeForce RTX 3090", "nvidia", 936, "rtx30", "", "ampere", ""),
    ("rtx 3080 ti", "GeForce RTX 3080 Ti", "nvidia", 912, "rtx30", "", "ampere", ""),
    ("rtx 3080", "GeForce RTX 3080", "nvidia", 760, "rtx30", "12 GB model: 912 GB/s", "ampere", ""),
    ("rtx 3080 12gb", "GeForce RTX 3080 12GB", "nvidia", 912, "rtx30", "", "ampere", ""),
    ("rtx 3070 ti", "GeForce RTX 3070 Ti", "nvidia", 608, "rtx30", "", "ampere", ""),
    ("rtx 3070", "GeForce RTX 3070", "nvidia", 448, "rtx30", "", "ampere", ""),
    ("rtx 3060 ti", "GeForce RTX 3060 Ti", "nvidia", 448, "rtx30", "", "ampere", ""),
    ("rtx 3060", "GeForce RTX 3060", "nvidia", 360, "rtx30", "8 GB model: 240 GB/s", "ampere", ""),
    ("rtx 3050", "GeForce RTX 3050", "nvidia", 224, "rtx30", "", "ampere", ""),
    ("rtx 2080 ti", "GeForce RTX 2080 Ti", "nvidia", 616, "rtx20", "", "turing", ""),
    ("rtx 2080 super", "GeForce RTX 2080 Super", "nvidia", 496, "rtx20", "", "turing", ""),
    ("rtx 2080", "GeForce RTX 2080", "nvidia", 448, "rtx20", "", "turing", ""),
    ("rtx 2070", "GeForce RTX 2070", "nvidia", 448, "rtx20", "", "turing", ""),
    ("rtx 2060", "GeForce RTX 2060", "nvidia", 336, "rtx20", "", "turing", ""),
    ("rtx 2060 super", "GeForce RTX 2060 Super", "nvidia", 448, "rtx2060super", "", "turing", ""),
    ("gtx 1080 ti", "GeForce GTX 1080 Ti", "nvidia", 484, "gtx", "", "pascal", ""),
    ("gtx 1080", "GeForce GTX 1080", "nvidia", 320, "gtx", "", "pascal", ""),
    ("gtx 1070", "GeForce GTX 1070", "nvidia", 256, "gtx", "", "pascal", ""),
    ("gtx 1660 ti", "GeForce GTX 1660 Ti", "nvidia", 288, "gtx", "", "turing", ""),
    ("gtx 1660", "GeForce GTX 1660", "nvidia", 192, "gtx", "", "turing", ""),
    # NVIDIA GeForce, laptop (names carry "Laptop GPU")
    ("rtx 5090 laptop", "GeForce RTX 5090 Laptop", "nvidia", 896, "rtx50", "", "blackwell", ""),
    ("rtx 5080 laptop", "GeForce RTX 5080 Laptop", "nvidia", 896, "rtx50", "", "blackwell", ""),
    ("rtx 5070 ti laptop", "GeForce RTX 5070 Ti Laptop", "nvidia", 672, "rtx50", "", "blackwell", ""),
    ("rtx 5070 laptop", "GeForce RTX 5070 Laptop", "nvidia", 384, "rtx50", "", "blackwell", ""),
    ("rtx 5060 laptop", "GeForce RTX 5060 Laptop", "nvidia", 384, "rtx50", "", "blackwell", ""),
    ("rtx 4090 laptop", "GeForce RTX 4090 Laptop", "nvidia", 576, "rtx40m", "", "ada", ""),
    ("rtx 4080 laptop", "GeForce RTX 4080 Laptop", "nvidia", 432, "rtx40m", "", "ada", ""),
    ("rtx 4070 laptop", "GeForce RTX 4070 Laptop", "nvidia", 256, "rtx40m", "", "ada", ""),
    ("rtx 4060 laptop", "GeForce RTX 4060 Laptop", "nvidia", 256, "rtx40m", "", "ada", ""),
    ("rtx 4050 laptop", "GeForce RTX 4050 Laptop", "nvidia", 192, "rtx40m", "", "ada", ""),
    ("rtx 3080 laptop", "GeForce RTX 3080 Laptop", "nvidia", 448, "rtx30m", "varies by model", "ampere", ""),
    ("rtx 3070 laptop", "GeForce RTX 3070 Laptop", "nvidia", 448, "rtx30m", "", "ampere", ""),
    ("rtx 3060 laptop", "GeForce RTX 3060 Laptop", "nvidia", 336, "rtx30m", "", "ampere", ""),
    # NVIDIA workstation
    ("rtx pro 6000", "RTX PRO 6000 Blackwell", "nvidia", 1792, "nvws", "", "blackwell", ""),
    ("rtx pro 5000", "RTX PRO 5000 Blackwell", "nvidia", 1344, "rtxpro5000", "", "blackwell", ""),
    ("rtx pro 4500", "RTX PRO 4500 Blackwell", "nvidia", 896, "rtxpro4500", "", "blackwell", ""),
    ("rtx pro 4000", "RTX PRO 4000 Blackwell", "nvidia", 672, "rtxpro4000", "", "blackwell", ""),
    ("rtx pro 4000 sff", "RTX PRO 4000 Blackwell SFF", "nvidia", 432, "rtxpro4000sff", "",
     "blackwell", ""),
    ("rtx pro 2000", "RTX PRO 2000 Blackwell", "nvidia", 288, "rtxpro4000", "", "blackwell", ""),
    ("rtx 6000 ada", "RTX 6000 Ada Generation", "nvidia", 960, "nvws", "", "ada", ""),
    ("rtx 5000 ada", "RTX 5000 Ada Generation", "nvidia", 576, "nvws", "", "ada", ""),
    ("rtx 4000 ada", "RTX 4000 Ada Generation", "nvidia", 360, "nvws", "", "ada", ""),
    ("rtx a6000", "RTX A6000", "nvidia", 768, "nvws", "", "ampere", ""),
    ("rtx a5000", "RTX A5000", "nvidia", 768, "nvws", "", "ampere", ""),
    ("rtx a4000", "RTX A4000", "nvidia", 448, "nvws", "", "ampere", ""),
    ("rtx a2000", "RTX A2000", "nvidia", 288, "nvws", "", "ampere", ""),
    ("quadro rtx 8000", "Quadro RTX 8000", "nvidia", 672, "nvws", "", "turing", ""),
    # NVIDIA data center
    ("b200", "B200", "nvidia", 8000, "nvdc", "", "blackwell", ""),
    ("gh200", "GH200", "nvidia", 4000, "nvdc", "HBM3e version: 4900 GB/s", "hopper", ""),
    ("h200", "H200", "nvidia", 4800, "nvdc", "", "hopper", ""),
    ("h200 nvl", "H200 NVL", "nvidia", 4800, "h200nvl", "", "hopper", ""),
    ("h100", "H100 SXM", "nvidia", 3350, "nvdc", "", "hopper", ""),
    ("h100 pcie", "H100 PCIe", "nvidia", 2000, "nvdc", "", "hopper", ""),
    ("h100 nvl", "H100 NVL", "nvidia", 3900, "nvdc", "", "hopper", ""),
    ("a100", "A100 40GB", "nvidia", 1555, "nvdc", "", "ampere", ""),
    ("a100 80gb", "A100 80GB SXM", "nvidia", 2039, "nvdc", "", "ampere", ""),
    ("a100 80gb pcie", "A100 80GB PCIe", "nvidia", 1935, "nvdc", "", "ampere", ""),
    ("a40", "A40", "nvidia", 696, "nvdc", "", "ampere", ""),
    ("a30", "A30", "nvidia", 933, "nvdc", "", "ampere", ""),
    ("a10", "A10", "nvidia", 600, "nvdc", "", "ampere", ""),
    ("a10g", "A10G", "nvidia", 600, "nvdc", "", "ampere", ""),
    ("l40s", "L40S", "nvidia", 864, "nvdc", "", "ada", ""),
    ("l40", "L40", "nvidia", 864, "nvdc", "", "ada", ""),
    ("l4", "L4", "nvidia", 300, "nvdc", "", "ada", ""),
    ("t4", "T4", "nvidia", 320, "nvdc", "", "turing", ""),
    ("v100", "V100", "nvidia", 900, "nvdc", "", "volta", ""),
    ("v100s", "V100S", "nvidia", 1134, "nvdc", "", "volta", ""),
    ("p100", "P100 16GB", "nvidia", 732, "nvdc", "", "pascal", ""),
    ("p40", "P40", "nvidia", 346, "nvdc", "", "pascal", ""),
    # NVIDIA unified-memory boxes and modules
    ("gb10", "NVIDIA GB10 (DGX Spark)", "nvidia", 273, "gb10", "", "blackwell", "u"),
    ("dgx spark", "NVIDIA GB10 (DGX Spark)", "nvidia", 273, "gb10", "", "blackwell", "u"),
    ("orin nano", "Jetson Orin Nano 8GB", "nvidia", 68, "orin",
     "Super clocks (JetPack 6.1): 102 GB/s", "ampere", "u"),
    ("orin nano super", "Jetson Orin Nano 8GB (Super)", "nvidia", 102, "orin", "", "ampere", "u"),
    # AMD Radeon and Instinct
    ("rx 9070 xt", "Radeon RX 9070 XT", "amd", 640, "rx9070", "", "rdna4", ""),
    ("rx 9070", "Radeon RX 9070", "amd", 640, "rx9070", "", "rdna4", ""),
    ("rx 9060 xt", "Radeon RX 9060 XT", "amd", 320, "rx9060", "", "rdna4", ""),
    ("ai pro r9700", "Radeon AI PRO R9700", "amd", 640, "r9700", "", "rdna4", ""),
    ("rx 7900 xtx", "Radeon RX 7900 XTX", "amd", 960, "amdrx", "", "rdna3", ""),
    ("rx 7900 xt", "Radeon RX 7900 XT", "amd", 800, "amdrx", "", "rdna3", ""),
    ("rx 7900 gre", "Radeon RX 7900 GRE", "amd", 576, "amdrx", "", "rdna3", ""),
    ("rx 7800 xt", "Radeon RX 7800 XT", "amd", 624, "amdrx", "", "rdna3", ""),
    ("rx 7700 xt", "Radeon RX 7700 XT", "amd", 432, "amdrx", "", "rdna3", ""),
    ("rx 7600", "Radeon RX 7600", "amd", 288, "amdrx", "", "rdna3", ""),
    ("rx 6950 xt", "Radeon RX 6950 XT", "amd", 576, "amdrx", "", "rdna2", ""),
    ("rx 6900 xt", "Radeon RX 6900 XT", "amd", 512, "amdrx", "", "rdna2", ""),
    ("rx 6800 xt", "Radeon RX 6800 XT", "amd", 512, "amdrx", "", "rdna2", ""),
    ("rx 6800", "Radeon RX 6800", "amd", 512, "amdrx", "", "rdna2", ""),
    ("rx 6700 xt", "Radeon RX 6700 XT", "amd", 384, "amdrx", "", "rdna2", ""),
    ("rx 6600 xt", "Radeon RX 6600 XT", "amd", 256, "amdrx", "", "rdna2", ""),
    ("pro w7900", "Radeon PRO W7900", "amd", 864, "amdpro", "", "rdna3", ""),
    ("pro w7800", "Radeon PRO W7800", "amd", 576, "amdpro", "", "rdna3", ""),
    ("mi325x", "Instinct MI325X", "amd", 6000, "amdmi", "", "cdna", ""),
    ("mi300x", "Instinct MI300X", "amd", 5300, "amdmi", "", "cdna", ""),
    ("mi250x", "Instinct MI250X", "amd", 3277, "amdmi", "", "cdna", ""),
    ("mi210", "Instinct MI210", "amd", 1638, "amdmi", "", "cdna", ""),
    # AMD Strix Halo APUs (unified LPDDR5X; the iGPU named in the CPU's brand string)
    ("radeon 8060s", "Radeon 8060S (Ryzen AI Max, Strix Halo)", "amd", 256, "strixhalo", "",
     "rdna3.5", "u g40"),
    ("radeon 8050s", "Radeon 8050S (Ryzen AI Max 385, Strix Halo)", "amd", 256, "strixhalo", "",
     "rdna3.5", "u g32"),
    ("ryzen ai max 395", "Radeon 8060S (Ryzen AI Max, Strix Halo)", "amd", 256, "strixhalo", "",
     "rdna3.5", "u g40"),
    ("ryzen ai max 390", "Radeon 8060S (Ryzen AI Max, Strix Halo)", "amd", 256, "strixhalo", "",
     "rdna3.5", "u g40"),
    ("ryzen ai max 385", "Radeon 8050S (Ryzen AI Max 385, Strix Halo)", "amd", 256, "strixhalo", "",
     "rdna3.5", "u g32"),
    # Intel Arc
    ("arc b580", "Arc B580", "intel", 456, "arc", "", "xe2", ""),
    ("arc b570", "Arc B570", "intel", 380, "arc", "", "xe2", ""),
    ("arc pro b60", "Arc Pro B60", "intel", 456, "arcpro", "", "xe2", ""),
    ("arc pro b50", "Arc Pro B50", "intel", 224, "arcprob50", "", "xe2", ""),
    ("arc a770", "Arc A770", "intel", 560, "arc", "8 GB model: 512 GB/s", "alchemist", ""),
    ("arc a750", "Arc A750", "intel", 512, "arc", "", "alchemist", ""),
    ("arc a580", "Arc A580", "intel", 512, "arc", "", "alchemist", ""),
    ("arc a380", "Arc A380", "intel", 186, "arc", "", "alchemist", ""),
    # Apple Silicon (unified memory: the CPU reads the same memory)
    ("m1", "Apple M1", "apple", 68.25, "apple", "", "m1", "u"),
    ("m1 pro", "Apple M1 Pro", "apple", 200, "apple", "", "m1", "u"),
    ("m1 max", "Apple M1 Max", "apple", 400, "apple", "", "m1", "u"),
    ("m1 ultra", "Apple M1 Ultra", "apple", 800, "apple", "", "m1", "u"),
    ("m2", "Apple M2", "apple", 100, "apple", "", "m2", "u"),
    ("m2 pro", "Apple M2 Pro", "apple", 200, "apple", "", "m2", "u"),
    ("m2 max", "Apple M2 Max", "apple", 400, "apple", "", "m2", "u"),
    ("m2 ultra", "Apple M2 Ultra", "apple", 800, "apple", "", "m2", "u"),
    ("m3", "Apple M3", "apple", 100, "apple", "", "m3", "u"),
    ("m3 pro", "Apple M3 Pro", "apple", 150, "apple", "", "m3", "u"),
    ("m3 max", "Apple M3 Max (30-core GPU)", "apple", 300, "apple", "", "m3", "u g30 c14"),
    ("m3 max", "Apple M3 Max (40-core GPU)", "apple", 400, "apple", "", "m3", "u g40 c16"),
    ("m3 ultra", "Apple M3 Ultra", "apple", 819, "apple", "", "m3", "u"),
    ("m4", "Apple M4", "apple", 120, "apple", "", "m4", "u"),
    ("m4 pro", "Apple M4 Pro", "apple", 273, "apple", "", "m4", "u"),
    ("m4 max", "Apple M4 Max (32-core GPU)", "apple", 410, "m4max", "", "m4", "u g32 c14"),
    ("m4 max", "Apple M4 Max (40-core GPU)", "apple", 546, "m4max", "", "m4", "u g40 c16"),
    ("m5", "Apple M5", "apple", 153, "apple", "", "m5", "u"),
    ("m5 pro", "Apple M5 Pro", "apple", 307, "m5pro", "", "m5", "u"),
    ("m5 max", "Apple M5 Max", "apple", 614, "m5pro", "", "m5", "u"),
)

# Compiled on first use (re keeps them), not at import: a machine without a GPU never asks.
_TOKEN = r"[a-z0-9]+"
_CORES = r"(\d+)[\s-]*(?:cores?|cus?)\b(?:\s*(cpu|gpu))?"
_APU = r"\bw/\s*(radeon\s+\w+)"


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(re.findall(_TOKEN, text.lower()))


def _flag(flags: str, letter: str) -> int:
    found = re.search(rf"\b{letter}(\d+)\b", flags)
    return int(found.group(1)) if found else 0


@lru_cache(maxsize=1)
def _table() -> tuple[tuple[frozenset[str], GpuSpec], ...]:
    """Built on first use: a machine without a GPU never pays for it."""
    return tuple(
        (frozenset(_tokens(match)), GpuSpec(
            name, vendor, gbps * 1e9, _SOURCES[source], note, arch,
            unified="u" in flags.split(), gpu_cores=_flag(flags, "g"), cpu_cores=_flag(flags, "c")))
        for match, name, vendor, gbps, source, note, arch, flags in _ROWS
    )


def known_gpus() -> tuple[GpuSpec, ...]:
    """Every row, for documentation and tests."""
    return tuple(spec for _, spec in _table())


def _candidates(name: str) -> list[GpuSpec]:
    """The rows whose tokens all appear in `name`, keeping only the most specific match
    (several rows when a chip comes in variants)."""
    tokens = set(_tokens(name))
    # "40-core" in a name is a core count, not part of the chip's name
    best_len = 0
    found: list[GpuSpec] = []
    for wanted, spec in _table():
        if wanted <= tokens:
            if len(wanted) > best_len:
                best_len, found = len(wanted), [spec]
            elif len(wanted) == best_len and spec not in found:
                found.append(spec)
    return found


def resolve_gpu(name: str | None, cpu_name: str | None = None,
                cpu_cores: int | None = None) -> GpuMatch | None:
    """The table row for a device as NVML, ROCm, sysctl, sysfs or `--gpu` name it, with the
    variant chosen by the core counts the probe read; None when the device is unknown.

    `cpu_name` stands in for a generic sysfs name of an AMD APU ("AMD GPU (PCI device
    0x1586)"): its brand string names the iGPU. `cpu_cores` picks Apple variants.
    """
    if not name and not cpu_name:
        return None
    found = _candidates(name or "")
    if not found and cpu_name:
        apu = re.search(_APU, cpu_name, re.IGNORECASE)
        found = _candidates(apu.group(1)) if apu else []
        if not found:
            found = [spec for spec in _candidates(cpu_name) if spec.unified and spec.vendor == "amd"]
    if not found:
        return None
    if len(found) == 1:
        return GpuMatch(found[0])
    for count, unit in re.findall(_CORES, name or "", re.IGNORECASE):  # "40-core GPU", "16-core CPU"
        for spec in found:
            if (spec.cpu_cores if unit.lower() == "cpu" else spec.gpu_cores) == int(count):
                return GpuMatch(spec)
    if cpu_cores:
        for spec in found:
            if spec.cpu_cores == cpu_cores:
                return GpuMatch(spec)
    slowest = min(found, key=lambda spec: spec.bandwidth_bytes_per_second)
    variants = ", ".join(f"{spec.gpu_cores}-core GPU {spec.bandwidth_bytes_per_second / 1e9:.0f} GB/s"
                         for spec in found)
    base = re.sub(r"\s*\(.*\)$", "", slowest.name)
    return GpuMatch(slowest, (
        f"{base} comes as {variants}; the GPU core count was not read, so the "
        f"{slowest.gpu_cores}-core variant is assumed (name it, e.g. --gpu '{base} "
        f"{max(spec.gpu_cores for spec in found)}-core')"))


def lookup_gpu(name: str | None) -> GpuSpec | None:
    """The table row for a GPU name as NVML, ROCm, sysctl or `--gpu` spell it; None when unknown.
    A chip sold in variants gives the variant its name says, else the slower one."""
    match = resolve_gpu(name)
    return match.spec if match else None
