"""A screenshot-like picture of the extension's N-panel, drawn without a window (the bpy wheel has
none): each panel's own draw() runs on a layout that records what it is asked to show, and the
record is painted in Blender's dark theme. Not part of the extension zip.

    .venv/bin/python blender_addon/panel_picture.py BUNDLE OUT.png [--open "Brows,Head & eyes"]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


class Recorder:
    """The subset of bpy's UILayout the panels use; every call appends a line (kind, text, value)."""

    def __init__(self, lines: list, depth: int = 0):
        self.lines, self.depth, self.enabled = lines, depth, True

    def _sub(self, boxed: bool = False):
        if boxed:
            self.lines.append(("box", "", None, self.depth))
        return Recorder(self.lines, self.depth + (1 if boxed else 0))

    def column(self, align=False):
        return self._sub()

    def row(self, align=False):
        return self._sub()

    def box(self):
        return self._sub(boxed=True)

    def grid_flow(self, columns=0, align=False, **kw):
        return self._sub()

    def label(self, text="", icon="NONE"):
        self.lines.append(("label", text, None, self.depth))

    def operator(self, idname, text="", icon="NONE"):
        import bpy

        op = getattr(getattr(bpy.ops, idname.split(".")[0]), idname.split(".")[1])
        self.lines.append(("button", text or op.get_rna_type().name, None, self.depth))
        return SimpleNamespace()

    def prop(self, data, prop, text=None, slider=False, index=-1, **kw):
        if prop.startswith('["'):
            value = data[prop[2:-2]]
        else:
            value = getattr(data, prop)
            if index >= 0:
                value = value[index]
        label = text if text is not None else data.bl_rna.properties[prop].name
        kind = "slider" if slider else "field"
        if hasattr(value, "__len__") and not isinstance(value, str):
            value = "  ".join(f"{v:.2f}" for v in value)
        self.lines.append((kind, label, value, self.depth))


def record_panels(context, open_panels: set) -> list:
    """[(panel label, is_sub, folded, lines)] for the extension's panels that poll true."""
    from headsmith_blender.ui import panel

    out = []
    for cls in panel.CLASSES:
        if hasattr(cls, "poll") and not cls.poll(context):
            continue
        sub = bool(getattr(cls, "bl_parent_id", ""))
        folded = sub and cls.bl_label not in open_panels
        lines: list = []
        if not folded:
            cls.draw(SimpleNamespace(layout=Recorder(lines), prefixes=getattr(cls, "prefixes", ())), context)
        out.append((cls.bl_label, sub, folded, lines))
    return out


def paint(panels: list, width: int = 420) -> np.ndarray:
    """Blender's dark theme, one 26 px line per recorded item."""
    import cv2

    rows = []
    font, bg, header, text, widget = cv2.FONT_HERSHEY_SIMPLEX, (40, 40, 40), (55, 55, 55), (220, 220, 220), (84, 84, 84)

    def line(h=26, colour=bg):
        img = np.zeros((h, width, 3), np.uint8)
        img[:] = colour
        rows.append(img)
        return img

    for label, sub, folded, lines in panels:
        img = line(28, header)
        cv2.putText(img, ("> " if folded else "v ") + label, (10 + (14 if sub else 0), 19), font, 0.5, text, 1,
                    cv2.LINE_AA)
        for kind, t, value, depth in lines:
            x = 16 + 12 * depth + (14 if sub else 0)
            img = line()
            if kind == "label" or kind == "box":
                cv2.putText(img, t, (x, 18), font, 0.45, (170, 170, 170), 1, cv2.LINE_AA)
            elif kind == "button":
                cv2.rectangle(img, (x, 3), (width - 12, 23), widget, -1)
                cv2.putText(img, t, (x + 8, 18), font, 0.45, text, 1, cv2.LINE_AA)
            else:
                cv2.rectangle(img, (x, 3), (width - 12, 23), (34, 34, 34), -1)
                if kind == "slider" and isinstance(value, (int, float)):
                    cv2.rectangle(img, (x, 3), (x + int((width - 12 - x) * min(max(value, 0), 1)), 23), (115, 90, 70), -1)
                shown = f"{value:.3f}" if isinstance(value, float) else str(value)
                cv2.putText(img, f"{t}: {shown}", (x + 8, 18), font, 0.45, text, 1, cv2.LINE_AA)
        line(6)
    return np.concatenate(rows, 0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--open", default="Mouth,Head & eyes", help="sub-panels drawn unfolded")
    ap.add_argument("--preset", default="smile")
    a = ap.parse_args()
    import bpy
    import cv2

    import headsmith_blender
    from headsmith_blender.core.bundle import read_avatar
    from headsmith_blender.scene.rig_builder import build_head

    bpy.ops.wm.read_factory_settings(use_empty=True)
    headsmith_blender.register()
    try:
        rig = build_head(read_avatar(a.bundle), pack=False)
        bpy.context.view_layer.objects.active = rig.head
        bpy.ops.headsmith.expression_preset(preset=a.preset)
        pic = paint(record_panels(bpy.context, set(a.open.split(","))))
    finally:
        headsmith_blender.unregister()
    cv2.imwrite(str(a.out), cv2.cvtColor(pic, cv2.COLOR_RGB2BGR))
    print(a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
