"""A smaller ICU data library for the Linux bundle: 31 MB of ICU data down to about 5 MB.

PySide6's QtCore links ICU, and ICU's data library (`libicudata.so.NN`, one symbol
`icudtNN_dat` holding a common-data package) is the largest file of the bundle. Qt asks ICU
for collation (`QCollator`, which sorts the file dialog's names), case mapping and
normalisation; it formats numbers and dates from its own CLDR tables and finds text
boundaries itself. So the package keeps the collation tree, the property, normalisation and
string-prep items and the few root resource bundles that locale fallback reads, and leaves
out locale display names, currencies, units, time-zone names, transliteration, spell-out
rules, break-iterator dictionaries and the legacy character-set converters (the app decodes
only UTF-8; `QStringDecoder("Shift_JIS")` is invalid in the bundle).

The package is taken out of the wheel's library, filtered with ICU's own `icupkg` (Debian:
icu-devtools) and linked back into a data-only shared library with the C compiler. Without
either tool, or off Linux, the wheel's library is kept as it is.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess

KEPT_ROOT_BUNDLES = frozenset(
    {
        "res_index.res",
        "pool.res",
        "root.res",
        "likelySubtags.res",
        "metadata.res",
        "supplementalData.res",
        "keyTypeData.res",
        "langInfo.res",
    }
)
KEPT_ROOT_KINDS = frozenset({"icu", "nrm", "spp", "cfu"})  # properties, normalisation, stringprep
KEPT_TREES = ("coll/",)

ASSEMBLY = """\
    .section .rodata
    .globl {symbol}
    .type {symbol}, @object
    .balign 16
{symbol}:
    .incbin "{package}"
    .size {symbol}, . - {symbol}
    .section .note.GNU-stack,"",@progbits
"""


def kept(item: str) -> bool:
    """Whether the bundle's ICU package keeps `item` (a name as `icupkg -l` lists it)."""
    if "/" in item:
        return item.startswith(KEPT_TREES)
    return item in KEPT_ROOT_BUNDLES or item.rsplit(".", 1)[-1] in KEPT_ROOT_KINDS


def symbol_span(library: str, symbol: str) -> tuple[int, int]:
    """File offset and size of `symbol` in an ELF64 shared library, from its section table."""
    with open(library, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        raise ValueError(f"{library}: not an ELF64 file")
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    for sh in sections:
        if sh[1] != 11:  # SHT_DYNSYM
            continue
        strtab = sections[sh[6]]
        for offset in range(sh[4], sh[4] + sh[5], sh[9]):
            name_at, _info, _other, _shndx, value, size = struct.unpack_from("<IBBHQQ", elf, offset)
            start = strtab[4] + name_at
            name = elf[start : elf.index(b"\0", start)].decode()
            if name == symbol:
                home = next(s for s in sections if s[3] <= value < s[3] + s[5] and s[1] != 8)
                return home[4] + value - home[3], size
    raise ValueError(f"{library}: no symbol {symbol}")


def trimmed_icu_data(library: str, workdir: str) -> str | None:
    """Path of a trimmed copy of `library` (libicudata.so.NN), or None when it cannot be made."""
    match = re.fullmatch(r"libicudata\.so\.(\d+)", os.path.basename(library))
    icupkg, cc = shutil.which("icupkg"), shutil.which("cc") or shutil.which("gcc")
    if match is None or icupkg is None or cc is None:
        print(f"icu_trim: keeping {library} whole (needs icupkg and a C compiler)")
        return None
    version = match.group(1)
    package_name = f"icudt{version}l"  # icupkg names the items after the output file
    out = os.path.join(workdir, "icu-trim")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "trimmed"))
    offset, size = symbol_span(library, f"icudt{version}_dat")
    whole = os.path.join(out, f"{package_name}.dat")
    with open(library, "rb") as src, open(whole, "wb") as dst:
        src.seek(offset)
        dst.write(src.read(size))
    listing = subprocess.run([icupkg, "-l", whole], capture_output=True, text=True, check=True)
    removed = os.path.join(out, "removed.txt")  # icupkg reads a list from a .txt name only
    with open(removed, "w") as f:
        f.writelines(f"{item}\n" for item in listing.stdout.split() if not kept(item))
    package = os.path.join(out, "trimmed", f"{package_name}.dat")
    subprocess.run([icupkg, "-r", removed, whole, package], check=True, capture_output=True)
    source = os.path.join(out, "icudata.S")
    with open(source, "w") as f:
        f.write(ASSEMBLY.format(symbol=f"icudt{version}_dat", package=package))
    trimmed = os.path.join(out, os.path.basename(library))
    soname = f"-Wl,-soname,{os.path.basename(library)}"
    subprocess.run([cc, "-shared", "-nostdlib", soname, "-o", trimmed, source], check=True)
    print(f"icu_trim: {size / 1e6:.1f} MB of ICU data -> {os.path.getsize(package) / 1e6:.1f} MB")
    return trimmed
