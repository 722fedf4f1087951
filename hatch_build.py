"""Hatchling build hook: compile walrus's optional C helpers.

``walrus/drivers/embedded/_native.c`` (argument packing for the in-process
engines, one rlite command per C call: see its comment) is compiled with the
C compiler Python was built with, against Python's headers only (it links to
nothing else). Without a compiler, or if compiling fails, the wheel is built
without it and walrus uses the pure-Python twins (ctypes for rlite): the
build never fails for it. ``python hatch_build.py`` compiles it in place (a
source checkout).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from typing import Any

_PACKAGE = ("walrus", "drivers", "embedded")
SOURCE = os.path.join(*_PACKAGE, "_native.c")
TARGET = os.path.join(*_PACKAGE, "_native")


def compile_accelerator(root: str, directory: str) -> str | None:
    """Compile the accelerator into ``directory``; its path, or None (with
    the reason on stderr) when it cannot be built here."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    linker = sysconfig.get_config_var("LDSHARED")
    include = sysconfig.get_paths().get("include")
    if not linker or not include or sys.platform == "win32":
        sys.stderr.write("walrus: no C compiler settings: no compiled helpers\n")
        return None
    output = os.path.join(directory, os.path.basename(TARGET) + suffix)
    command = [
        *shlex.split(linker),
        *shlex.split(sysconfig.get_config_var("CCSHARED") or "-fPIC"),
        "-O2",
        "-I",
        include,
        os.path.join(root, SOURCE),
        "-o",
        output,
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        sys.stderr.write(
            f"walrus: the compiled helpers were not built ({exc})\n"
            + detail.decode("utf-8", "replace")
        )
        return None
    return output


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run by hand, outside a build
    BuildHookInterface = object  # type: ignore[assignment,misc]


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    """Add the compiled accelerator to a wheel (in place for an editable one)."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        if version == "editable":  # imported from the source tree
            compile_accelerator(self.root, os.path.join(self.root, *_PACKAGE))
            return
        self._scratch = tempfile.mkdtemp(prefix="walrus-build-")
        built = compile_accelerator(self.root, self._scratch)
        if built is not None:
            target = os.path.join(os.path.dirname(TARGET), os.path.basename(built))
            build_data["force_include"][built] = target
            build_data["pure_python"] = False
            build_data["infer_tag"] = True

    def finalize(
        self, version: str, build_data: dict[str, Any], artifact_path: str
    ) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    built = compile_accelerator(here, os.path.join(here, os.path.dirname(TARGET)))
    raise SystemExit(0 if built else 1)
