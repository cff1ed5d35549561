"""The `mgdesk` command: one function per subcommand; heavy imports inside them; --json is an API."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from mgdesk.core.sizes import human_size

JSON_VERSION = 1


class CliError(Exception):
    """Printed as one line on stderr; exit status 1."""


class Interrupted(CliError):
    """Ctrl+C, with what was kept: exit status 130, as the shell gives an interrupted command."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _emit(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


class _Progress:
    """A one-line progress bar on stderr (redrawn at most 10 times a second), for a scan's
    progress (phase, rate) or grouping's (stage). With ``delay`` nothing shows until the work
    has taken that long: a quick answer prints no bar."""

    def __init__(self, label: str, delay: float = 0.0):
        self.label, self.last, self.shown, self.line = label, 0.0, False, ""
        self.tty = sys.stderr.isatty()
        self.quiet_until = time.monotonic() + delay

    def __call__(self, p: Any) -> None:
        now = time.monotonic()
        stage = getattr(p, "stage", None)
        final = getattr(p, "phase", None) == "done" or (stage is not None and p.done >= p.total)
        if now < self.quiet_until or (not final and now - self.last < (0.1 if self.tty else 2.0)):
            return
        if getattr(p, "phase", "walk") != "walk" and p.total == 0:  # nothing to read: no empty bar
            return
        self.last = now
        total = max(p.total, 1)
        width = 30
        filled = int(width * min(p.done, total) / total)
        label = f"{self.label} ({stage})" if stage else self.label
        rate = getattr(p, "rate", None)
        line = f"{label} [{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total}" + \
            (f" {rate:.1f}/s" if rate is not None else "")
        if getattr(p, "phase", None) == "walk":  # no total yet: a count, not a bar
            line = f"{label}: looking for photos… {p.done} found"
            if not p.done and not self.tty:  # a log line that says nothing yet
                return
        if line == self.line:  # the last batch's line, said again as the work ends
            return
        self.line = line
        if self.tty:
            sys.stderr.write("\r" + line[:120].ljust(120))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown and self.tty:
            sys.stderr.write("\n")


def _result_count(text: str) -> int:
    """-k: bad values are usage errors (exit 2), like any other bad argument."""
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= k <= 1_000_000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000000")
    return k


def _cosine(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not -1.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError("a cosine threshold is between -1 and 1")
    return x


def _library(args: argparse.Namespace, create: bool = False):
    """The library at --db (or the user data folder's). Only a scan creates one: a mistyped
    --db for any other command is an error, not a new empty library that finds nothing."""
    from mgdesk.core.service import Library
    from mgdesk.paths import card_paths
    db = Path(args.db) if args.db else None
    if db is not None and not create and (not db.exists() or (db.is_file() and db.stat().st_size == 0)):
        raise CliError(f"no library at {args.db} (`mgdesk scan FOLDER --db {args.db}` creates one)")
    known = sorted({p.stem for p in card_paths()})
    if args.model not in known:  # a mistyped name would otherwise read as an empty library
        raise CliError(f"unknown model {args.model!r} (known: {', '.join(known) or 'none'})")
    return Library(db, model=args.model)


def _require_embeddings(lib: Any, model: str) -> None:
    """A model the library holds no vectors of, beside one it does, would read as a library
    with no duplicates, matches or tags: say so instead."""
    have = {m: n for m, n in lib.status().models.items() if n}
    if have and model not in have:
        held = ", ".join(f"{m}: {_count(n, 'photo')}" for m, n in sorted(have.items()))
        raise CliError(f"no photo in this library is embedded with model {model!r} (it holds {held}); "
                       f"`mgdesk scan --model {model}` embeds them")


def cmd_scan(args: argparse.Namespace) -> int:
    for p in args.paths:
        if not Path(p).exists():
            raise CliError(f"no such folder: {p}")
        if not Path(p).is_dir():  # a scanned path is watched from then on: a folder, not one file
            raise CliError(f"not a folder: {p} (mgdesk scans folders: give the one that holds it)")
        if not os.access(p, os.R_OK):
            raise CliError(f"cannot read: {p}")
    from mgdesk.core.service import weights_missing
    try:  # before a library is created: a model whose weights are not here would leave it empty
        missing = weights_missing(args.model)
    except (KeyError, TypeError, ValueError):
        missing = None  # unknown or unreadable: _library says which
    if missing is not None:
        raise CliError(missing)
    with _library(args, create=bool(args.paths)) as lib:
        if not args.paths:  # bring the whole library up to date: every folder it watches
            roots = [r.path for r in lib.roots()]
            if not roots:
                raise CliError("the library watches no folder yet: `mgdesk scan FOLDER` adds one")
            args.paths = [r for r in roots if os.path.exists(r) and os.access(r, os.R_OK)]
            for r in sorted(set(roots) - set(args.paths)):  # an unplugged disk: its photos are kept
                why = "cannot be read" if os.path.exists(r) else "not found"
                print(f"mgdesk: skipped {r}: {why} (its photos stay in the library)", file=sys.stderr)
            if not args.paths:
                raise CliError("none of the library's folders is there (an unplugged disk?)")
        bar = _Progress("scanning")
        try:
            report = lib.scan(args.paths, progress=bar)
        except KeyboardInterrupt:
            bar.close()
            raise Interrupted("scan interrupted; finished batches are saved, run the scan again to resume") from None
        bar.close()
        unreadable = len(lib.errors())  # the library's, as `mgdesk errors` lists them (not only this scan's)
    counts = report.counts()
    if args.json:
        _emit({"version": JSON_VERSION, "scan": counts})
    else:
        shown = ("new", "changed", "moved", *(("restored",) if counts["restored"] else ()), "unchanged", "removed",
                 "errors", "embedded")
        print(", ".join(f"{k} {counts[k]}" for k in shown) + f" in {counts['seconds']:.1f} s")
        if unreadable:
            print(f"{_count(unreadable, 'file')} cannot be read: `mgdesk errors` lists them with the reason")
    for path, why in report.unreadable:
        print(f"mgdesk: cannot read {path}: {why}" + (" (the photos known there are left as they were)"
                                                      if os.path.isdir(path) else ""), file=sys.stderr)
    return 0


def cmd_dupes(args: argparse.Namespace) -> int:
    if args.level == "exact" and args.threshold is not None:
        raise CliError("--threshold is a cosine for the copy and similar levels: exact copies have the same bytes")
    with _library(args) as lib:
        if args.level != "exact":  # same bytes need no model
            _require_embeddings(lib, args.model)
        bar = _Progress("grouping", delay=1.0)  # a first grouping verifies pairs for minutes
        try:
            groups = lib.groups(args.level, args.threshold, progress=bar)
        except KeyboardInterrupt:
            bar.close()
            raise Interrupted("grouping interrupted; what was done (local features, verified pairs) is "
                              "saved, run it again to go on") from None
        bar.close()
    if args.json:
        _emit({"version": JSON_VERSION, "level": args.level, "groups": [g.to_json() for g in groups]})
        return 0
    if not groups:
        print(f"no {args.level} duplicates")
        return 0
    total = sum(g.reclaimable for g in groups)
    for n, g in enumerate(groups, 1):
        print(f"group {n} ({g.level}, {len(g.members)} photos, {human_size(g.reclaimable)} reclaimable)")
        for m in g.members:
            mark = "keep  " if m.keep else "remove"
            print(f"  {mark} {m.score:5.3f}  {m.path}  — {m.reason}")
    print(f"{len(groups)} groups, {human_size(total)} reclaimable")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    if not Path(args.image).is_file():
        raise CliError(f"{'not a file' if Path(args.image).is_dir() else 'no such file'}: {args.image}")
    with _library(args) as lib:
        _require_embeddings(lib, args.model)
        hits = lib.search(args.image, k=args.k)
    if args.json:
        _emit({"version": JSON_VERSION, "query": os.path.abspath(args.image),
               "results": [{"path": h.path, "score": round(h.score, 4)} for h in hits]})
    else:
        for h in hits:
            print(f"{h.score:6.3f}  {h.path}")
        if not hits:
            print("the library is empty: run `mgdesk scan FOLDER` first")
    return 0


def cmd_tags(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        _require_embeddings(lib, args.model)
        if args.tag:
            photos = lib.photos_with_tag(args.tag)
            if args.json:
                _emit({"version": JSON_VERSION, "tag": args.tag,
                       "photos": [{"path": p, "score": round(s, 4)} for p, s in photos]})
            else:
                for p, s in photos:
                    print(f"{s:5.3f}  {p}")
                if not photos:
                    print(f"no photos tagged {args.tag!r}")
            return 0
        counts = lib.tags()
    if args.json:
        _emit({"version": JSON_VERSION, "tags": [{"label": label, "count": n} for label, n in counts]})
    else:
        for label, n in counts:
            print(f"{n:6d}  {label}")
    return 0


def cmd_trash(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if not Path(p).is_file()]
    if missing:
        what = "a folder, not a photo" if Path(missing[0]).is_dir() else "no such file"
        raise CliError(f"{what}: {missing[0]}")
    size = sum(Path(p).stat().st_size for p in args.paths)
    where = f"to {args.to}" if args.to else "to the trash"
    with _library(args) as lib:
        levels = ("copy",) if lib.index else ()
        if not args.yes:
            if not sys.stdin or not sys.stdin.isatty():
                raise CliError(f"refusing to move {_count(len(args.paths), 'file')} without confirmation: pass --yes")
            lib.trash(args.paths, destination=args.to, check_levels=levels, check_only=True)  # refusals first
            try:
                answer = input(f"Move {_count(len(args.paths), 'file')}, {human_size(size)}, {where}? [y/N] ")
            except EOFError:  # Ctrl+D: no answer is no
                answer = ""
                print()
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing moved")
                return 1
        action = lib.trash(args.paths, destination=args.to, check_levels=levels)
    n = len(action.done_items)
    print(f"moved {_count(n, 'file')}, {human_size(action.bytes)}, {where}; "
          f"`mgdesk undo` puts {'them' if n != 1 else 'it'} back")
    for original, now in action.renamed.items():
        print(f"  {Path(original).name} is {now}: that folder already had a file of its name")
    failed = [i for i in action.items if not i.done]
    for i in failed:
        print(f"mgdesk: could not move {i.original_path}: {i.error}", file=sys.stderr)
    return 1 if failed else 0


def cmd_not_duplicates(args: argparse.Namespace) -> int:
    """The user's word that photos are not copies of each other: they never share a group again."""
    if len(args.paths) < 2:
        raise CliError("give at least two photos that are not duplicates of each other")
    with _library(args) as lib:
        action = lib.keep_all(args.paths)
    print(f"marked {len(action.items)} photos as not duplicates of each other; `mgdesk undo` takes it back")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from mgdesk.core.store import NOT_DUPLICATE
    with _library(args) as lib:
        action = lib.undo()
    if action is None:
        print("nothing to undo")
        return 0
    if action.kind == NOT_DUPLICATE:
        print(f"undid 'not duplicates' for {len(action.items)} photos: they may be grouped again")
        return 0
    renamed = action.renamed
    print(f"restored {_count(len(action.undone_now), 'file')}:")
    for path in action.undone_now:
        print(f"  {path}" + (f" (its path was taken by another file: restored as {renamed[path]})"
                             if path in renamed else ""))
    failed = action.undoable_items
    for i in failed:
        print(f"mgdesk: could not restore {i.original_path}: {i.error}", file=sys.stderr)
    if failed:
        them = "them" if len(failed) != 1 else "it"
        print(f"mgdesk: put {them} back and run 'mgdesk undo' again to restore {them}", file=sys.stderr)
    return 0 if not failed else 1


def cmd_status(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        st = lib.status()
    if args.json:
        _emit({"version": JSON_VERSION, **st.to_json()})
        return 0
    print(f"database: {st.db_path}")
    print(f"model: {st.model} ({st.indexed} photos indexed; whitening: {st.whitening})")
    print("files: " + ", ".join(f"{st.files.get(k, 0)} {words}" for k, words in _STATUS_WORDS.items()
                                 if k == "ok" or st.files.get(k, 0)))
    if st.models:
        print("models: " + ", ".join(f"{k} ({v})" for k, v in st.models.items()))
    if st.last_scan:
        s = st.last_scan
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.started))
        print(f"last scan: {when} of {', '.join(s.roots)}{' (cancelled)' if s.cancelled else ''}")
    if st.not_duplicates:
        print(f"not duplicates: {_count(st.not_duplicates, 'pair')} of photos you marked")
    if st.undo is not None:
        print(f"undo would: {_undo_text(st.undo)}")
    return 0


#: what each file status means to a user, in `status` (the JSON keeps the status names)
_STATUS_WORDS = {"ok": "photos", "error": "unreadable (mgdesk errors)", "pending": "waiting to be read",
                 "missing": "gone from disk (trashed, moved away or deleted; a trash can be undone)"}


def _count(n: int, noun: str) -> str:
    """'1 file', '2 files'."""
    return f"{n} {noun}{'s' * (n != 1)}"


def _undo_text(action: Any) -> str:
    """What `mgdesk undo` would take back, in the words of the action."""
    from mgdesk.core.store import NOT_DUPLICATE
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(action.created))
    n = len(action.undoable_items)
    if action.kind == NOT_DUPLICATE:
        return f"lift 'not duplicates' of {n} photos ({when})"
    where = "the trash" if action.kind == "trash" else action.destination
    return f"put back {_count(n, 'file')} moved to {where} ({when})"


def cmd_errors(args: argparse.Namespace) -> int:
    with _library(args) as lib:
        errs = lib.errors()
    if args.json:
        _emit({"version": JSON_VERSION, "errors": [{"path": f.path, "reason": f.error_reason,
                                                     "message": f.error_message} for f in errs]})
    else:
        for f in errs:
            message = f.error_message or ""
            # the loader's message names the failure and the path already: "corrupt image: PATH (why)"
            print(message if f.path in message else f"{f.error_reason}: {f.path} — {message}")
        if not errs:
            print("no errors")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from mgdesk.core.embedding import available_cards, load_card
    from mgdesk.core.embedding.weights import WeightsError, missing_weights  # no torch to list them

    if args.action == "import-multigrain":
        from mgdesk.core.embedding.importing import import_multigrain
        try:
            card = import_multigrain(args.file, name=args.name)
        except WeightsError as e:
            raise CliError(str(e)) from None
        print(f"imported {args.file} as model {card.name!r}; use it with --model {card.name}")
        return 0
    cards = []
    for name in available_cards():
        try:
            card = load_card(name)
        except (KeyError, TypeError, ValueError) as e:
            print(f"mgdesk: warning: model card {name} is unreadable: {e}", file=sys.stderr)
            continue
        missing = missing_weights(card.trunk, card.weights)
        cards.append({"name": card.name, "trunk": card.trunk, "side": card.retrieval_side,
                      "p_retrieval": card.p_retrieval, "licence": card.licence, "installed": missing is None,
                      **({"missing": missing} if missing else {})})
    if args.json:
        _emit({"version": JSON_VERSION, "models": cards})
    else:
        for c in cards:
            print(f"{c['name']:16} {c['trunk']:24} side {c['side']:4}  p {c['p_retrieval']:g}  {c['licence']}"
                  + (f"  ({c['missing']})" if "missing" in c else ""))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from mgdesk.train import TrainConfig
    from mgdesk.train.export import ExportError, check_name, default_name, export_model
    from mgdesk.train.fit import MIN_PHOTOS, TrainError, fit

    name = args.name or default_name(args.model)
    try:
        check_name(name)
    except ExportError as e:
        raise CliError(str(e)) from None
    with _library(args) as lib:
        ids, _ = lib.repo.descriptors(lib.model)
        paths = sorted(f.path for f in lib.repo.files_by_ids(ids.tolist()).values())
    if len(paths) < MIN_PHOTOS:
        raise CliError(f"the library has {len(paths)} photo(s) embedded with {args.model}; fine-tuning needs "
                       f"at least {MIN_PHOTOS}: run `mgdesk scan FOLDER --model {args.model}` first")
    config = TrainConfig(base_model=args.model, epochs=args.epochs, batch_size=args.batch_size,
                         input_size=args.size, device=args.device, max_photos=args.max_photos, lr=args.lr)
    bars: dict[str, _Progress] = {}

    def show(p: Any) -> None:
        if args.jsonl_progress:
            print(json.dumps({"event": "progress", **p.to_json()}), flush=True)
            return
        if p.phase not in bars:
            for bar in bars.values():
                bar.close()
            bars[p.phase] = _Progress("labelling" if p.phase == "labels" else "training")
        bars[p.phase](p)

    try:
        result = fit(paths, config, progress=show)
    except TrainError as e:
        raise CliError(str(e)) from None
    except KeyboardInterrupt:
        raise Interrupted("training interrupted; no model written") from None
    finally:
        for bar in bars.values():
            bar.close()
    if result.cancelled:
        raise CliError("training cancelled; no model written")
    summary = {"model": name, "base": args.model, "photos": len(result.paths), "skipped": len(result.skipped),
               "steps": result.steps, "first_loss": result.first_loss, "last_loss": result.last_loss,
               "beta": round(result.beta, 4), "seconds": round(result.seconds, 1)}
    card, card_path = export_model(result.net, result.base_card, name, extra={"fine_tuned": {
        **summary, "date": time.strftime("%Y-%m-%d %H:%M:%S"), "config": config.to_dict()}})
    if args.jsonl_progress:
        print(json.dumps({"event": "done", **summary, "card": str(card_path), "weights": card.weights}), flush=True)
        return 0
    print(f"fine-tuned {args.model} on {len(result.paths)} photos: {result.steps} steps in {result.seconds:.0f} s, "
          f"loss {result.first_loss:.3f} -> {result.last_loss:.3f}")
    print(f"wrote model {name!r} ({card_path})")
    print(f"use it: mgdesk scan FOLDER --model {name}   (then --model {name} with dupes, search, tags)")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        from mgdesk.gui.app import run
    except ImportError as e:
        raise CliError(f"the window is not available: {e}") from None
    return run()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mgdesk", description="Find near-duplicate photos, search by example, tag albums.")
    from mgdesk import __version__
    parser.add_argument("--version", action="version", version=f"mgdesk {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    def command(name: str, func, help: str, json_flag: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--db", help="library database (default: the user data folder)")
        p.add_argument("--model", default="lite0", help="embedding model (default: lite0)")
        if json_flag:
            p.add_argument("--json", action="store_true", help="machine-readable output (stable)")
        p.set_defaults(func=func)
        return p

    p = command("scan", cmd_scan, "add folders to the library, or bring all of it up to date (no PATH)",
                json_flag=True)
    p.add_argument("paths", nargs="*", metavar="PATH")
    p = command("dupes", cmd_dupes, "list duplicate groups", json_flag=True)
    p.add_argument("--level", choices=("exact", "copy", "similar"), default="copy")
    p.add_argument("--threshold", type=_cosine, default=None, help="cosine threshold override")
    p = command("search", cmd_search, "find photos like an image", json_flag=True)
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("-k", type=_result_count, default=20, help="number of results")
    p = command("tags", cmd_tags, "tags over the library, or the photos with one tag", json_flag=True)
    p.add_argument("--tag", metavar="NAME")
    p = command("trash", cmd_trash, "move files to the trash (or a folder); undoable")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--to", metavar="FOLDER", help="move into this folder instead of the trash")
    p = command("not-duplicates", cmd_not_duplicates,
                "mark photos as not duplicates of each other (never grouped again; undoable)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    command("undo", cmd_undo, "undo the last action (trash, move or not-duplicates)")
    command("status", cmd_status, "library status", json_flag=True)
    command("errors", cmd_errors, "files that could not be read", json_flag=True)
    p = command("models", cmd_models, "list models, or import a MultiGrain ResNet-50 checkpoint", json_flag=True)
    p.add_argument("action", nargs="?", choices=("list", "import-multigrain"), default="list")
    p.add_argument("file", nargs="?", metavar="FILE", help="checkpoint file for import-multigrain")
    p.add_argument("--name", default="multigrain-r50", help="model name for the import")
    p = command("train", cmd_train, "fine-tune the model on the library's photos; writes a new model")
    p.add_argument("--name", help="name of the new model (default: MODEL-ft-DATE)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=24)
    p.add_argument("--size", type=int, default=None, help="training crop side in pixels (default: the model's)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: 0.01 x batch / 512)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: CUDA when available")
    p.add_argument("--max-photos", type=int, default=None, help="train on a random subset of this size")
    p.add_argument("--jsonl-progress", action="store_true", help="one JSON object per line on stdout")
    sub.add_parser("gui", help="open the window").set_defaults(func=cmd_gui)
    return parser


def _stdout_closed() -> bool:
    """Whether the reader of our standard output has gone (a pipe whose reader closed polls as an
    error); where that cannot be asked (no poll on Windows), a broken pipe is taken to be it."""
    import select
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return True


def main(argv: list[str] | None = None) -> int:
    import logging
    logging.basicConfig(level=os.environ.get("MGDESK_LOG", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    if "MGDESK_LOG" not in os.environ:  # Pillow logs errors about broken files: each is recorded per file
        logging.getLogger("PIL").setLevel(logging.CRITICAL)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "action", None) == "import-multigrain" and not args.file:
        parser.error("models import-multigrain needs the checkpoint FILE")
    import warnings
    # Pillow's remarks on odd files ("Tag data larger than file", "Invalid APNG") are no failure:
    # what cannot be read is recorded per file and listed by `mgdesk errors`
    warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
    import sqlite3

    from mgdesk.core.actions import ActionError
    from mgdesk.core.service import LibraryError
    try:
        return int(getattr(args, "func", cmd_gui)(args) or 0)
    except Interrupted as e:
        print(f"mgdesk: {e}", file=sys.stderr)
        return 130
    except BrokenPipeError as e:
        if not _stdout_closed():  # some other pipe: a failure like any other
            print(f"mgdesk: error: {e}", file=sys.stderr)
            return 1
        # `mgdesk tags | head`: the reader has what it wanted; say nothing
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's flush at exit would fail on the pipe again
        return 0
    except (CliError, LibraryError, ActionError) as e:
        print(f"mgdesk: error: {e}", file=sys.stderr)
        return 1
    except RuntimeError as e:
        # a model whose weights are not installed says which package brings them (by name:
        # importing the embedding code here would load torch for every command)
        if type(e).__name__ != "WeightsError":
            raise
        print(f"mgdesk: error: {e}", file=sys.stderr)
        return 1
    except sqlite3.Error as e:  # not a database, a damaged one, or a path that cannot be one
        db = getattr(args, "db", None)
        print(f"mgdesk: error: cannot use the library database{f' {db}' if db else ''}: {e}",
              file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"mgdesk: error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mgdesk: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
