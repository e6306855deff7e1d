"""The wrinkle maps packed for game engines: every key normal map and region mask in a few RGBA
textures, since many engine materials allow 16 samplers and one map per file needs 18.

- Key normal maps, two per texture: a tangent-space normal is a unit vector, so its X and Y (R, G
  of the one-key map) are enough; the engine rebuilds Z = sqrt(max(0, 1 - X^2 - Y^2)). RG hold the
  first key, BA the second.
- Region masks, four channels per texture: a left/right pair is one region's mask times the side
  weight s and one minus it (`bake.region_masks`), so it packs as the region's channel and one
  shared 'side' channel, rebuilt exactly: mask_L = c * s, mask_R = c * (1 - s).

OpenHead's 8 keys and 12 regions (7 channels + side) take 4 + 2 = 6 textures. Every channel is
linear data (not sRGB) and alpha is data, not transparency. The layout goes into the sidecar
('packed'), so an engine needs no Headsmith code to read it.

A MetaHuman-like layout as well ('metahuman' in the sidecar, `metahuman_layout`): MetaHuman
blends up to three animated wrinkle normal maps (WM1..WM3), each holding several expressions'
wrinkles in different face regions, through masks weighted by animation curves. Here each key
goes to the first of WM1..WM3 that holds no other key of the same region, WMn is each of its
keys' normal map inside that key's region (the static map elsewhere), and a curve per key and
side ('WM1_brows_up_L') carries the key's weight for that region: the same blend as the keys'.
"""
from __future__ import annotations

import numpy as np

NORMALS_FILE = "wrinkle_normals_{}.png"
MASKS_FILE = "wrinkle_masks_{}.png"
SIDE_CHANNEL = "side"
SIDES = {1: "left", -1: "right", 0: "both"}
DECODE = ("per key: X = 2 * first channel - 1, Y = 2 * second channel - 1, Z = sqrt(max(0, 1 - X^2 - Y^2)); "
          "per region: c = its channel, s = the 'side' channel: mask = c * s (left), c * (1 - s) (right), "
          "c (both); channels are linear values in [0, 1] (not sRGB), alpha is data (not transparency)")


def region_channel(name: str, side: int) -> str:
    """The packed channel of a region: a pair's two halves share one ('forehead.L' -> 'forehead')."""
    return name.rsplit(".", 1)[0] if side else name


def pack_normals(normal_maps: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """key -> (T, T, 3) uint8 RGB normal map  ->  (file -> (T, T, 4) uint8, file -> its two keys);
    an odd key out leaves its texture's BA at the flat normal's (128, 128)."""
    keys = list(normal_maps)
    files, layout = {}, {}
    for i in range(0, len(keys), 2):
        pair = keys[i:i + 2]
        first = normal_maps[pair[0]]
        rgba = np.full(first.shape[:2] + (4,), 128, np.uint8)
        for j, k in enumerate(pair):
            rgba[..., 2 * j:2 * j + 2] = normal_maps[k][..., :2]
        name = NORMALS_FILE.format(i // 2)
        files[name], layout[name] = rgba, pair
    return files, layout


def pack_masks(masks: dict[str, np.ndarray], sides: dict[str, int],
               side: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, list[str]], dict[str, dict]]:
    """region -> (T, T) float mask in [0, 1], region -> side (+1 left, -1 right, 0 both), the side
    weight (T, T) in [0, 1]  ->  (file -> (T, T, 4) uint8, file -> its channel names, region ->
    {channel, side}). A pair's channel is the sum of its halves."""
    channels: dict[str, np.ndarray] = {}
    regions = {}
    for name, m in masks.items():
        ch = region_channel(name, sides[name])
        channels[ch] = channels.get(ch, 0.0) + m
        regions[name] = {"channel": ch, "side": SIDES[sides[name]]}
    if any(sides.values()):
        channels[SIDE_CHANNEL] = side
    names = list(channels)
    files, layout = {}, {}
    for i in range(0, len(names), 4):
        group = names[i:i + 4]
        rgba = np.zeros(side.shape + (4,), np.uint8)
        for j, ch in enumerate(group):
            rgba[..., j] = np.round(np.clip(channels[ch], 0.0, 1.0) * 255).astype(np.uint8)
        name = MASKS_FILE.format(i // 4)
        files[name], layout[name] = rgba, group
    return files, layout, regions


def pack_for_engines(normal_maps: dict[str, np.ndarray], masks: dict[str, np.ndarray], sides: dict[str, int],
                     side: np.ndarray) -> tuple[dict[str, np.ndarray], dict]:
    """-> (file -> RGBA uint8 texture, the sidecar's 'packed' entry)."""
    nfiles, nlayout = pack_normals(normal_maps)
    mfiles, mlayout, regions = pack_masks(masks, sides, side)
    return nfiles | mfiles, {"normals": nlayout, "masks": mlayout, "regions": regions, "decode": DECODE}


def unpack(files: dict[str, np.ndarray], packed: dict) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The sidecar's decoding, as an engine does it: -> (key -> (T, T, 3) unit tangent normal,
    region -> (T, T) mask in [0, 1]). `files` maps the packed file names to their uint8 arrays."""
    normals = {}
    for name, keys in packed["normals"].items():
        t = files[name].astype(np.float64) / 255.0
        for j, k in enumerate(keys):
            xy = 2.0 * t[..., 2 * j:2 * j + 2] - 1.0
            z = np.sqrt(np.clip(1.0 - (xy ** 2).sum(-1, keepdims=True), 0.0, None))
            normals[k] = np.concatenate([xy, z], -1)
    channels = {ch: files[name][..., j].astype(np.float64) / 255.0
                for name, chs in packed["masks"].items() for j, ch in enumerate(chs)}
    factor = {"left": lambda s: s, "right": lambda s: 1.0 - s, "both": lambda s: 1.0}
    masks = {r: channels[d["channel"]] * factor[d["side"]](channels.get(SIDE_CHANNEL))
             for r, d in packed["regions"].items()}
    return normals, masks


ANIMATED_MAPS = 3                       # MetaHuman's WM1..WM3
ANIMATED_FILE = "wrinkle_WM{}_normal.png"
ANIMATED_FORMULA = ("n = normalize(N_static + sum_c curve_c * mask(region_c) * (N(map_c) - N_static)); N = 2 * rgb - 1; "
                    "curve_c = the key weight w[region_c][key_c] of the main formula")


def animated_groups(key_channels: dict[str, set[str]], n_maps: int = ANIMATED_MAPS) -> list[list[str]]:
    """Keys (in order) -> the keys of each animated map: each key into the first map with no key
    on any of its region channels. ValueError when the keys need more than n_maps maps."""
    maps: list[list[str]] = []
    for key, channels in key_channels.items():
        for m in maps:
            if not any(channels & key_channels[k] for k in m):
                m.append(key)
                break
        else:
            maps.append([key])
    if len(maps) > n_maps:
        raise ValueError(f"the wrinkle keys share regions too much for {n_maps} animated maps ({len(maps)} needed)")
    return maps


def metahuman_layout(normal_maps: dict[str, np.ndarray], static: np.ndarray, key_masks: dict[str, np.ndarray],
                     key_regions: dict[str, list[str]], sides: dict[str, int]) -> tuple[dict[str, np.ndarray], dict]:
    """key -> (T, T, 3) uint8 normal map, the static (T, T, 3) uint8 map, key -> (T, T) its
    regions' summed mask, key -> the regions it drives, region -> side  ->  (file -> (T, T, 3)
    uint8 WMn map, the sidecar's 'metahuman' entry)."""
    channels = {k: {region_channel(r, sides[r]) for r in rs} for k, rs in key_regions.items()}
    files, maps, curves = {}, {}, {}
    for n, keys in enumerate(animated_groups(channels), start=1):
        masks = np.stack([key_masks[k] for k in keys])                       # (K, T, T)
        best = masks.argmax(0)[None, ..., None]                              # whose region is strongest
        inside = np.take_along_axis(np.stack([normal_maps[k] for k in keys]), best, 0)[0]
        wm = np.where((masks.max(0) > 0)[..., None], inside, static)
        name = f"WM{n}"
        files[ANIMATED_FILE.format(n)] = wm.astype(np.uint8)
        maps[name] = {"file": ANIMATED_FILE.format(n), "keys": keys}
        for k in keys:
            for r in key_regions[k]:
                curves[f"{name}_{k}" + {1: "_L", -1: "_R", 0: ""}[sides[r]]] = {"map": name, "key": k, "region": r}
    return files, {"maps": maps, "curves": curves, "formula": ANIMATED_FORMULA}
