"""PyInstaller runtime hook: qtawesome loads only the icon fonts the bundle carries.

qtawesome opens each of its twelve fonts at the first icon and fails on a missing file; the spec
keeps only the fonts the app draws (ICON_FONTS in streamdesk.spec). Once qtawesome is imported,
its list of bundled fonts is cut to the files present. Nothing is imported here before qtawesome
itself is (it loads after the window's first paint).
"""

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types


class _PresentFontsOnly(importlib.abc.Loader):
    """Runs qtawesome's own loader, then drops the fonts whose files are not in the bundle."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        folder = os.path.join(os.path.dirname(os.path.realpath(module.__file__ or "")), "fonts")
        # qtawesome has no public setting for which bundled fonts to load: this list is it.
        bundled = module._BUNDLED_FONTS  # noqa: SLF001
        present = tuple(font for font in bundled if os.path.isfile(os.path.join(folder, font[1])))
        module._BUNDLED_FONTS = present  # noqa: SLF001


class _QtawesomeFinder(importlib.abc.MetaPathFinder):
    """Finds qtawesome the usual way once, and wraps its loader."""

    def find_spec(
        self, name: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != "qtawesome":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _PresentFontsOnly(spec.loader)
        return spec


sys.meta_path.insert(0, _QtawesomeFinder())
