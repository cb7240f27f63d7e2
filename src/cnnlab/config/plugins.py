"""Make cnnlab's own Hydra plugins (src/hydra_plugins/) visible to Hydra's plugin scan.

Hydra instantiates only plugins it finds by listing the folders of the `hydra_plugins`
namespace package (pkgutil). An editable install (`pip install -e .`) puts src/hydra_plugins
behind an import hook that pkgutil cannot list, so the commands add the folder itself; in a
wheel install it is already one of the package's folders.
"""

from __future__ import annotations

from pathlib import Path


def expose_hydra_plugins() -> None:
    """Add src/hydra_plugins to `hydra_plugins.__path__` before Hydra scans it."""
    import hydra_plugins

    folder = Path(__file__).resolve().parents[2] / "hydra_plugins"
    if folder.is_dir() and str(folder) not in list(hydra_plugins.__path__):
        hydra_plugins.__path__.append(str(folder))
