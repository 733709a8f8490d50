"""``autoposter`` command line.

Exit codes: 0 posters written; 1 unexpected error (a bug: please report it); 2 bad arguments or
settings, or the output folder cannot be written (``IO::NoSpace``, ``IO::PathTooLong``…);
3 video error (missing, empty, unreadable, too small); 4 template error;
5 model error; 6 the video was read but no poster passed (reasons printed).
"""
from __future__ import annotations

import argparse
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

from .errors import AutoposterError, SettingsError

EXIT_NO_POSTER = 6


def _split(v: str | None, what: str, limit: int = 10):
    items = tuple(x.strip() for x in v.split(",") if x.strip()) if v else None
    if items and len(items) > limit:
        raise SettingsError(f"{what} names {len(items)} items; the limit is {limit}", code="Settings::Invalid")
    return items


def _settings(args):
    from .settings import Settings

    overrides = {}
    if getattr(args, "top", None) is not None:
        overrides["score.top_k"] = args.top
    if getattr(args, "rate", None) is not None:
        overrides["frames.rate"] = args.rate
    return Settings.from_env(**overrides)


def _editor(args) -> tuple[dict, int]:
    """The overrides (a file, then --pin/--veto/--language on top) and the number of variants, checked."""
    from .editors import Overrides, parse_language, parse_pin, parse_veto
    from .inputs import LIMITS, check_text, load_json_file

    ov = Overrides()
    if args.overrides:
        doc = load_json_file(args.overrides, "--overrides", "Overrides::Invalid", LIMITS["feedback_bytes"])
        ov = Overrides.from_dict(doc, f"--overrides {Path(args.overrides).name}")
    flags = Overrides(check_text("author", args.author or "", 120), tuple(parse_pin(p) for p in args.pin or ()),
                      tuple(parse_veto(v) for v in args.veto or ()), dict(parse_language(x) for x in args.language or ()))
    ov = ov.merged(flags)
    if args.variants is not None and not 1 <= args.variants <= 3:
        raise SettingsError(f"--variants {args.variants}: expected 1 to 3 (a test takes up to three)",
                            code="Settings::Invalid")
    return (ov.to_dict() if ov else {}), (args.variants or 0)


def _feedback(args):
    from .inputs import LIMITS, check_feedback, load_json_file

    if not args.feedback:
        return None
    return check_feedback(load_json_file(args.feedback, "--feedback", "Feedback::Invalid", LIMITS["feedback_bytes"]))


def cmd_run(args) -> int:
    from .inputs import check_link, check_text, parse_meta
    from .pipeline import Job, run_video
    from .progress import Progress

    # everything a user typed is checked here, before the output folder or the video is touched
    settings = _settings(args)
    meta = parse_meta(args.meta)
    if args.tagline is not None:
        meta["tagline"] = check_text("tagline", args.tagline)
    import os
    stem = os.fsencode(Path(args.video).stem).decode("utf-8", "replace")     # a file name need not be UTF-8
    title = check_text("title", args.title if args.title is not None else stem.replace("_", " "))
    overrides, variants = _editor(args)
    job = Job(link=check_link(args.link or ""), title=title, meta=meta,
              templates=_split(args.template, "--template") or ("streaming",),
              scenarios=_split(args.scenario, "--scenario"), overrides=overrides, variants=variants)
    feedback = _feedback(args)
    from .models import check_all, default_threads
    from .quality import load_model
    check_all(), load_model(), default_threads()        # Model::* before any work
    bar = Progress("autoposter", sys.stderr) if not args.quiet else None
    t0 = time.monotonic()
    manifest = run_video(args.video, args.out, job, settings, progress=bar, debug=args.debug, feedback=feedback)
    return _report(args, manifest, bar, t0)


def cmd_render(args) -> int:
    """S14: a new set from the analysis a previous run kept in OUT — other templates, title, tagline, link,
    scenarios, top k, pins, vetoes, languages, variants — without analysing a frame."""
    from .inputs import check_link, check_text, parse_meta
    from .pipeline import render_stored
    from .progress import Progress

    settings = _settings(args)
    meta = parse_meta(args.meta)
    if args.tagline is not None:
        meta["tagline"] = check_text("tagline", args.tagline)
    overrides, variants = _editor(args)
    changes = {"link": check_link(args.link) if args.link is not None else None,
               "title": check_text("title", args.title) if args.title is not None else None,
               "meta": meta, "templates": _split(args.template, "--template"),
               "scenarios": _split(args.scenario, "--scenario"), "overrides": overrides or None,
               "variants": variants or None}
    bar = Progress("autoposter", sys.stderr) if not args.quiet else None
    t0 = time.monotonic()
    manifest = render_stored(args.out, {k: v for k, v in changes.items() if v not in (None, {}, ())}, settings,
                             feedback=_feedback(args), debug=args.debug, progress=bar)
    return _report(args, manifest, bar, t0)


def _report(args, manifest: dict, bar, t0: float) -> int:
    from .gallery import rejection_summary

    if bar:
        bar.done(f"{len(manifest['posters'])} posters")
    v = manifest["video"]
    if v.get("partial_read"):
        print(f"autoposter: warning: only {v['frames_decoded'] + v.get('frames_skipped', 0)} of the "
              f"{v['frames_expected']} frames expected could be read (truncated or damaged video); posters come "
              "from what was read",
              file=sys.stderr)
    for w in manifest.get("warnings", []):
        print(f"autoposter: warning: {w}", file=sys.stderr)
    if not manifest["posters"]:
        print(f"autoposter: no poster passed: {rejection_summary(manifest)}; {args.out} left as it was",
              file=sys.stderr)
        return EXIT_NO_POSTER
    if not args.quiet:
        try:
            _summary(manifest, args.out, time.monotonic() - t0)
        except (OSError, ValueError):            # stdout is /dev/full or a closed pipe: the posters are written
            pass
    return 0


def _summary(m: dict, out: str, seconds: float) -> None:
    rows = [("template", "scenario", "size", "#", "t (s)", "shot", "sharp", "expr", "aesth", "total", "upscale",
             "flags", "file")]
    for p in m["posters"]:
        s = p["scores"]
        flags = ",".join(f for f, on in (("BELOW-THRESHOLD", p.get("below_threshold")),
                                         ("UPSCALED", p.get("upscaled")), ("FACE-CUT", p.get("faces_cut")),
                                         ("LAYER-ON-FACE", p.get("layer_on_face", 0) > 0.05),
                                         ("FIT", p.get("mode") == "fit")) if on) or "-"
        rows.append((p["template"], p["scenario"], f"{p['width']}x{p['height']}", str(p["rank"]),
                     f"{p['frame_time']:.1f}", str(p.get("shot", "")), f"{s['sharpness']:.2f}",
                     "-" if s["expression"] is None else f"{s['expression']:.2f}",
                     f"{s['aesthetics']:.2f}", f"{s['total']:.2f}", f"x{p.get('upscale', 1):.1f}", flags, p["path"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    v = m["video"]
    pinned = [p for p in m["posters"] if p.get("pinned")]
    for p in pinned:
        pin = p["pinned"]
        was = pin.get("method_choice") or {}
        print(f"\n{p['template']}/{p['scenario']}: pinned by {pin.get('by') or 'the editor'} at "
              f"{pin['frame_time']:.1f}s (the method chose {was.get('frame_time', '-')}s)")
    formats = m.get("formats", [])
    if any(f["note"] for f in formats):                  # Q8: every format asked, and why one came back short
        print("\nformats asked:")
        for f in formats:
            print(f"  {f['template']:12s} {f['scenario']:10s} {f['count']} poster(s){'  ' + f['note'] if f['note'] else ''}")
    up = sum(1 for p in m["posters"] if p.get("upscaled"))
    if up:
        print(f"\n{up} poster(s) enlarged more than their setting allows (UPSCALED): the source is smaller than "
              "the output; they rank below sharper alternatives")
    print(f"\n{len(m['posters'])} posters from {v['path']} ({v['width']}x{v['height']}, {v['duration']:.1f}s, "
          f"{len(v.get('cuts', []))} cuts) in {seconds:.1f}s; {len(m['rejected'])} rejections; "
          f"manifest: {Path(out) / 'latest' / 'manifest.json'}")


def _editor_flags(p) -> None:
    p.add_argument("--pin", action="append", metavar="SCENARIO@SECONDS[:X,Y]",
                   help="pin a moment and/or a focus point (fractions of the frame) for a scenario (* = all); "
                        "repeatable, e.g. story@12.5 or feed@40:0.3,0.4")
    p.add_argument("--veto", action="append", metavar="SCENARIO@SECONDS", help="never publish that moment there")
    p.add_argument("--overrides", metavar="FILE", help="a JSON file of pins, vetoes and languages "
                                                      "(schema/overrides.schema.json)")
    p.add_argument("--author", help="who decided the pins and vetoes (recorded in the manifest)")
    p.add_argument("--language", action="append", metavar="CODE=TITLE[|TAGLINE]",
                   help="also a set in this language, e.g. ar=عنوان or zh=标题|副标题; repeatable")
    p.add_argument("--variants", type=int, help="1–3 posters per format that differ on purpose, for A/B tests")


def cmd_templates(args) -> int:
    from .templates import bundled_names, load

    for name in bundled_names():
        t = load(name)
        layers = ", ".join(f"{ly.name}({ly.kind})" for ly in t.layers)
        print(f"{t.name:10s} {','.join(t.scenarios):38s} {layers}\n{'':10s} {t.description}")
    return 0


def cmd_settings(args) -> int:
    from .settings import Settings

    from .models import default_threads, model_dir
    for env, name, value in Settings.from_env().table():
        print(f"{env:42s} {name:28s} {value}")
    try:
        folder = str(model_dir())
    except AutoposterError as exc:
        folder = f"({exc.code})"
    print(f"{'AUTOPOSTER_ORT_THREADS':42s} {'onnxruntime threads':28s} {default_threads()}")
    print(f"{'AUTOPOSTER_MODEL_DIR':42s} {'model folder':28s} {folder}")
    return 0


def cmd_validate(args) -> int:
    from .templates import load

    for path in args.templates:
        t = load(path)
        print(f"{path}: ok ({t.name}, {len(t.layers)} layers, scenarios {', '.join(t.scenarios)})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="autoposter", description="Turn a video into ready-to-publish posters.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="make posters from a video file")
    r.add_argument("video")
    r.add_argument("--out", required=True, help="output folder (created; nothing is written outside it)")
    r.add_argument("--template", help="bundled template names or template files, comma-separated "
                                      "(default: streaming)")
    r.add_argument("--scenario", help="story,feed,portrait,landscape,cover (default: the templates' own)")
    r.add_argument("--title", help="title text, at most 300 characters (default: the file name)")
    r.add_argument("--tagline", help="at most 200 characters")
    r.add_argument("--link", help="the video's http(s) URL, bound to every poster")
    r.add_argument("--meta", action="append", metavar="KEY=VALUE", help="any other metadata field")
    r.add_argument("--top", type=int, help="posters per template and scenario, 1..50 (default 3)")
    r.add_argument("--rate", type=float, help="candidate frames per second, in (0, 30] (default 1)")
    r.add_argument("--feedback", help="JSON of {\"scenario@time\": {\"ctr\":…, \"retention\":…}} (M13)")
    r.add_argument("--debug", action="store_true", help="also write debug overlays under OUT/latest/debug/")
    r.add_argument("--quiet", action="store_true")
    _editor_flags(r)
    r.set_defaults(fn=cmd_run)
    rr = sub.add_parser("render", help="a new set from the analysis kept in OUT (other templates, title, pins, "
                                       "languages, variants) without analysing again")
    rr.add_argument("out", metavar="OUT", help="the folder a previous `autoposter run` wrote")
    rr.add_argument("--template")
    rr.add_argument("--scenario")
    rr.add_argument("--title")
    rr.add_argument("--tagline")
    rr.add_argument("--link")
    rr.add_argument("--meta", action="append", metavar="KEY=VALUE")
    rr.add_argument("--top", type=int)
    rr.add_argument("--feedback")
    rr.add_argument("--debug", action="store_true")
    rr.add_argument("--quiet", action="store_true")
    _editor_flags(rr)
    rr.set_defaults(fn=cmd_render)
    sub.add_parser("templates", help="list the bundled templates").set_defaults(fn=cmd_templates)
    sub.add_parser("settings", help="list every setting, its variable and value").set_defaults(fn=cmd_settings)
    v = sub.add_parser("validate", help="check template files against the schema")
    v.add_argument("templates", nargs="+")
    v.set_defaults(fn=cmd_validate)
    for ep in entry_points(group="autoposter.commands"):   # e.g. local-cloud, from autoposter_local
        ep.load()(sub)
    return ap


def _terminate(signum, frame):
    """SIGTERM (what `timeout` and Lambda send), SIGHUP (the terminal closed) and SIGQUIT unwind like
    Ctrl-C: staging removed, a folder this run created removed, --out as it was; exit 128 + the signal."""
    from .stopping import ask
    ask(signum)


# errno names a user can act on: the disk, the path, the permissions (exit 2, like any other --out problem)
IO_CODES = {"ENOSPC": "IO::NoSpace", "EDQUOT": "IO::NoSpace", "EFBIG": "IO::NoSpace", "ENAMETOOLONG": "IO::PathTooLong",
            "EACCES": "IO::Denied", "EPERM": "IO::Denied", "EROFS": "IO::ReadOnly", "ENOTDIR": "IO::NotAFolder",
            "EISDIR": "IO::NotAFile", "EMFILE": "IO::TooManyFiles", "ENFILE": "IO::TooManyFiles"}
EXIT_IO = 2


def _say(text: str, stream) -> None:
    """One line to stdout or stderr; a stream that cannot take it (/dev/full, a closed pipe) is not the
    run's failure: the posters are written, so the exit code stays the run's."""
    try:
        print(text, file=stream)
        stream.flush()
    except (OSError, ValueError):
        pass


def _quiet_streams() -> None:
    """Flush stdout now and, if it fails, point it at /dev/null so the interpreter's own flush at exit
    cannot turn a finished run into exit 120."""
    import os
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            stream.flush()
        except (OSError, ValueError):
            try:
                setattr(sys, name, open(os.devnull, "w"))
            except OSError:
                pass


def _signal_exit(exc: BaseException) -> SystemExit | None:
    """The ``SystemExit(128 + signal)`` that ``_terminate`` raised, if ``exc`` is it or was caused by it."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, SystemExit):
            return exc if isinstance(exc.code, int) and exc.code > 128 else None
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def main(argv=None) -> int:
    import errno
    import signal

    args = build_parser().parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, _terminate)
    try:
        return args.fn(args)
    except AutoposterError as exc:
        _say(f"autoposter: {exc}", sys.stderr)
        return exc.exit_code
    except OSError as exc:                   # the disk is full, a path too long, a folder made read-only mid-run
        code = IO_CODES.get(errno.errorcode.get(exc.errno or 0, ""), "IO::Error")
        where = exc.filename if isinstance(exc.filename, str) else ""
        _say(f"autoposter: {code}: {exc.strerror or exc}{': ' + where if where else ''}; "
             f"nothing was left half-written", sys.stderr)
        return EXIT_IO
    except KeyboardInterrupt:
        _say("autoposter: interrupted; nothing was left half-written", sys.stderr)
        return 130
    except (SystemExit, ImportError) as exc:
        stop = _signal_exit(exc)                 # a signal that landed while a native module initialised
        if stop is None:                         # (onnxruntime) arrives wrapped in an ImportError
            raise
        _say(f"autoposter: {signal.Signals(stop.code - 128).name}: stopped; nothing was left half-written",
             sys.stderr)
        raise stop from None
    finally:
        _quiet_streams()


if __name__ == "__main__":
    sys.exit(main())
