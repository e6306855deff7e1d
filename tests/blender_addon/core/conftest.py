"""The core tests import the extension's package from its source folder, as Blender would."""
import sys
from pathlib import Path

ADDON_SRC = Path(__file__).resolve().parents[3] / "blender_addon"
if str(ADDON_SRC) not in sys.path:
    sys.path.insert(0, str(ADDON_SRC))
