"""Put a pack of DeepFace model weights into ``$DEEPFACE_HOME/.deepface/weights`` and verify it.

The Lambda image must carry its weights: DeepFace and retina-face download a missing file
on first use, which fails (or silently stalls a cold start) inside Lambda. This script runs
at image build time and fails the build if any file is missing, corrupt or not the model
the code expects. onnx graphs are then stored with their weights in a file beside them
(``<name>.data``, see EXTERNAL_DATA_SUFFIX), which loads faster and needs the ``onnx``
package at build time.

    python layers/model_weights/provision.py --pack production --home /opt/deepface
    python layers/model_weights/provision.py --pack production --home /opt/deepface \
        --source-dir /build/weights          # air-gapped build: copy instead of download
    python layers/model_weights/provision.py --pack offline --home .cache/deepface
    python layers/model_weights/provision.py --pack offline --home DIR --check-only

Only the standard library is imported at module level; numpy, onnx, onnxruntime and dlib
are imported when a file needs them, and deepface never is (importing it pulls in its whole
model zoo and may itself try to download).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import importlib.metadata
import json
import os
import shutil
import stat
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Literal, TextIO

DEFAULT_MANIFEST = Path(__file__).resolve().with_name("manifest.json")
# Both deepface.commons.weight_utils and retinaface.commons.weight_utils use this layout.
WEIGHTS_SUBDIR = Path(".deepface") / "weights"
PACKS = ("production", "offline")

FILE_MODE = 0o644
DIR_MODE = 0o755
CHUNK = 1 << 20
DEFAULT_TIMEOUT = 60.0
USER_AGENT = "deepface-weights-provision/1"

# An onnx graph's weights are moved out of it into "<name>.data" beside it (ONNX's
# external-data layout). onnxruntime then reads them as raw bytes instead of parsing them
# out of a protobuf, which takes about 0.25 s off loading each production graph, and so
# off every cold start. The pair joins back into the verified file byte for byte: the
# manifest's size and sha256 keep meaning the published file, and are checked so.
EXTERNAL_DATA_SUFFIX = ".data"
EXTERNAL_DATA_MIN_BYTES = 1024  # smaller tensors stay inline

# manifest dtype name -> the type string onnxruntime reports, and the numpy dtype to probe with
ORT_TYPES = {
    "float32": ("tensor(float)", "float32"),
    "float16": ("tensor(float16)", "float16"),
    "uint8": ("tensor(uint8)", "uint8"),
    "int64": ("tensor(int64)", "int64"),
}

# A manifest dim is an int (must be that size), None (any size) or "dynamic" (must not be
# fixed in the graph, e.g. RetinaFace height/width which follow the input image).
Dim = int | None | Literal["dynamic"]
DlibLoader = Literal["face_recognition_model_v1", "shape_predictor"]


class ManifestError(ValueError):
    """The manifest is missing, not JSON, or not of the expected form."""


class SourceError(RuntimeError):
    """A source for a file cannot be used (not installed, not found, download failed)."""


@dataclass(frozen=True)
class Problem:
    """Something wrong with one file (or directory) of a pack."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[Dim, ...]
    dtype: str
    role: str = ""
    # concrete input shape fed once through the graph to confirm the real output shapes
    probe: tuple[int, ...] | None = None


@dataclass(frozen=True)
class OnnxCheck:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass(frozen=True)
class DlibCheck:
    loader: DlibLoader
    descriptor_size: int | None = None
    num_parts: int | None = None


@dataclass(frozen=True)
class FileSpec:
    name: str
    size: int | None
    sha256: str | None
    check: OnnxCheck | DlibCheck
    urls: tuple[str, ...] = ()
    package: str | None = None
    package_path: str | None = None
    package_version: str | None = None


@dataclass(frozen=True)
class FileReport:
    problems: list[Problem]
    size: int | None = None
    sha256: str | None = None


# ---------------------------------------------------------------------------- manifest


def load_manifest(path: str | os.PathLike[str] = DEFAULT_MANIFEST) -> dict[str, list[FileSpec]]:
    """Parse the manifest into ``{pack: [FileSpec, ...]}``; raises ManifestError."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ManifestError(f"cannot read manifest {path}: {err}") from err
    try:
        packs = raw["packs"]
        return {
            pack: [_parse_file(entry) for entry in body["files"]] for pack, body in packs.items()
        }
    except (KeyError, TypeError, ValueError) as err:
        raise ManifestError(f"manifest {path} is malformed: {err!r}") from err


def _parse_file(entry: dict[str, Any]) -> FileSpec:
    name = entry["name"]
    # the name becomes a path under the weights dir: refuse anything that could escape it
    if not isinstance(name, str) or not name or Path(name).name != name or name.startswith("."):
        raise ValueError(f"bad file name {name!r}")
    size = entry.get("size")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise ValueError(f"{name}: bad size {size!r}")
    sha = entry.get("sha256")
    if sha is not None and (
        not isinstance(sha, str) or len(sha) != 64 or set(sha) - set("0123456789abcdef")
    ):
        raise ValueError(f"{name}: sha256 must be 64 lowercase hex digits")
    source = entry["source"]
    urls = tuple(source.get("urls", ()))
    package = source.get("package")
    if not urls and not package:
        raise ValueError(f"{name}: source needs urls or a package")
    return FileSpec(
        name=name,
        size=size,
        sha256=sha,
        check=_parse_check(name, entry["check"]),
        urls=urls,
        package=package,
        package_path=source.get("path"),
        package_version=source.get("version"),
    )


def _parse_check(name: str, check: dict[str, Any]) -> OnnxCheck | DlibCheck:
    kind = check["kind"]
    if kind == "onnx":
        inputs = tuple(_parse_tensor(name, t) for t in check["inputs"])
        if any(t.probe is None for t in inputs):
            raise ValueError(f"{name}: every onnx input needs a probe shape")
        outputs = tuple(_parse_tensor(name, t) for t in check["outputs"])
        return OnnxCheck(inputs=inputs, outputs=outputs)
    if kind == "dlib":
        loader = check["loader"]
        if loader not in ("face_recognition_model_v1", "shape_predictor"):
            raise ValueError(f"{name}: unknown dlib loader {loader!r}")
        return DlibCheck(
            loader=loader,
            descriptor_size=check.get("descriptor_size"),
            num_parts=check.get("num_parts"),
        )
    raise ValueError(f"{name}: unknown check kind {kind!r}")


def _parse_tensor(name: str, tensor: dict[str, Any]) -> TensorSpec:
    shape = tuple(tensor["shape"])
    for dim in shape:
        if not (dim is None or dim == "dynamic" or (isinstance(dim, int) and dim > 0)):
            raise ValueError(f"{name}: bad dim {dim!r}")
    if tensor["dtype"] not in ORT_TYPES:
        raise ValueError(f"{name}: unsupported dtype {tensor['dtype']!r}")
    probe = tensor.get("probe")
    if probe is not None and (
        len(probe) != len(shape) or not all(isinstance(d, int) and d > 0 for d in probe)
    ):
        raise ValueError(f"{name}: probe {probe!r} does not fit shape {list(shape)!r}")
    return TensorSpec(
        shape=shape,
        dtype=tensor["dtype"],
        role=tensor.get("role", ""),
        probe=tuple(probe) if probe is not None else None,
    )


def expected_files(
    pack: str, manifest: str | os.PathLike[str] = DEFAULT_MANIFEST
) -> list[FileSpec]:
    """The files a pack must provide (for the Lambda init to know what to expect)."""
    packs = load_manifest(manifest)
    if pack not in packs:
        raise ManifestError(f"pack {pack!r} is not in {manifest} (has {sorted(packs)})")
    return packs[pack]


def weights_dir(home: str | os.PathLike[str]) -> Path:
    """Where DeepFace and retina-face look for weights given DEEPFACE_HOME=home."""
    return Path(home) / WEIGHTS_SUBDIR


# ---------------------------------------------------------------------------- checks


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(
    path: str | os.PathLike[str], spec: FileSpec, *, deep: bool = True, check_mode: bool = True
) -> list[Problem]:
    """Problems with one weight file; empty when it is usable.

    deep=False checks only presence, size and mode (cheap enough for a Lambda cold start);
    deep=True also checks sha256 and loads the model the way DeepFace will.
    """
    return _inspect(Path(path), spec, deep=deep, check_mode=check_mode).problems


def _inspect(path: Path, spec: FileSpec, *, deep: bool, check_mode: bool) -> FileReport:
    def fail(message: str) -> FileReport:
        return FileReport([Problem(spec.name, message)])

    data_file = external_data_file(path)
    split = data_file.exists()
    for file in (path, data_file) if split else (path,):
        try:
            st = file.stat()
        except FileNotFoundError:
            return fail(f"missing (expected at {file})")
        if not stat.S_ISREG(st.st_mode):
            return fail(f"{file} is not a regular file")
        if check_mode and not st.st_mode & stat.S_IROTH:
            which = "" if file == path else f"{file.name}: "
            return fail(
                f"{which}mode is {stat.S_IMODE(st.st_mode):04o}, must be world-readable (0644): "
                "the Lambda runs as a non-root user"
            )
    size = path.stat().st_size
    if not split and spec.size is not None and size != spec.size:
        return fail(f"size is {size} bytes, expected {spec.size} (truncated or wrong file)")
    if not deep:
        return FileReport([], size=size)
    if split:
        try:
            content = joined_onnx(path)
        except ImportError as err:
            return fail(f"cannot be checked: {err.name} is not installed")
        except Exception as err:  # onnx raises several types for bad or missing data
            return fail(f"its graph and {data_file.name} do not load together: {_first_line(err)}")
        size, digest = len(content), hashlib.sha256(content).hexdigest()
        if spec.size is not None and size != spec.size:
            return fail(f"graph and {data_file.name} join into {size} bytes, expected {spec.size}")
    else:
        digest = sha256_of(path)
    if spec.sha256 is not None and digest != spec.sha256:
        return fail(f"sha256 is {digest}, expected {spec.sha256} (corrupt or wrong file)")
    if isinstance(spec.check, OnnxCheck):
        problems = _check_onnx(path, spec.name, spec.check)
    else:
        problems = _check_dlib(path, spec.name, spec.check)
    return FileReport(problems, size=size, sha256=digest)


# ---------------------------------------------------------------------------- external data


def external_data_file(graph: Path) -> Path:
    return graph.with_name(graph.name + EXTERNAL_DATA_SUFFIX)


def joined_onnx(graph: Path) -> bytes:
    """The single-file form of a graph whose weights are in external data: byte for byte
    the file it was split from."""
    import onnx
    from onnx.external_data_helper import load_external_data_for_model, uses_external_data

    model = onnx.load(str(graph), load_external_data=False)
    external = [tensor for tensor in _tensors(model.graph) if uses_external_data(tensor)]
    load_external_data_for_model(model, str(graph.parent))
    for tensor in external:  # loading marks them DEFAULT; the unsplit file has no mark at all
        tensor.ClearField("data_location")
    return model.SerializeToString()


def _tensors(graph: Any) -> Iterator[Any]:
    """Every initializer of a graph and of the graphs nested in its nodes."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            for subgraph in (attribute.g, *attribute.graphs):
                yield from _tensors(subgraph)


def split_onnx(path: Path, spec: FileSpec, out: TextIO) -> list[Problem]:
    """Move a verified graph's weights into ``<name>.data`` (see EXTERNAL_DATA_SUFFIX)."""
    if not isinstance(spec.check, OnnxCheck) or external_data_file(path).exists():
        return []
    try:
        import onnx
    except ImportError as err:
        return [Problem(spec.name, f"cannot be split: {err.name} is not installed (pip install onnx)")]
    original = path.read_bytes()
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".split", dir=path.parent))
    try:
        staged = staging / path.name
        onnx.save_model(
            onnx.load_model_from_string(original), str(staged), save_as_external_data=True,
            all_tensors_to_one_file=True, location=external_data_file(path).name,
            size_threshold=EXTERNAL_DATA_MIN_BYTES,
        )
        if not external_data_file(staged).exists():
            return []  # no tensor big enough to move: the graph stays one file
        if joined_onnx(staged) != original:
            return [Problem(spec.name, "splitting out its weights changed the graph; left as one file")]
        problems = _check_onnx(staged, spec.name, spec.check)
        if problems:
            return problems
        for file in (external_data_file(staged), staged):
            os.chmod(file, FILE_MODE)
        # The data first: the single-file graph still in place does not read it.
        os.replace(external_data_file(staged), external_data_file(path))
        os.replace(staged, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"ok {spec.name} weights moved to {external_data_file(path).name} (joins back byte for byte)",
          file=out, flush=True)
    return []


def _fmt_shape(shape: Sequence[object] | None) -> str:
    if shape is None:
        return "unknown"
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _label(kind: str, index: int, spec: TensorSpec) -> str:
    return f"{kind} {index}" + (f" ({spec.role})" if spec.role else "")


def _declared_mismatch(actual: Sequence[object] | None, expected: tuple[Dim, ...]) -> bool:
    # onnxruntime reports a dim as an int, a symbolic name (str) or None. A symbolic dim where
    # the manifest wants a fixed size is accepted here; the probe run checks the real size.
    if actual is None:
        return False
    if len(actual) != len(expected):
        return True
    for got, want in zip(actual, expected):
        if isinstance(want, int) and isinstance(got, int) and got != want:
            return True
        if want == "dynamic" and isinstance(got, int):
            return True
    return False


def _check_onnx(path: Path, name: str, check: OnnxCheck) -> list[Problem]:
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as err:
        return [Problem(name, f"cannot be checked: {err.name} is not installed")]

    options = ort.SessionOptions()
    options.log_severity_level = 3  # only errors; big graphs log harmless optimizer warnings
    try:
        session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as err:  # onnxruntime raises several unrelated exception types
        return [Problem(name, f"onnxruntime cannot load it: {_first_line(err)}")]

    inputs, outputs = session.get_inputs(), session.get_outputs()
    problems: list[Problem] = []
    if len(inputs) != len(check.inputs):
        problems.append(Problem(name, f"has {len(inputs)} inputs, expected {len(check.inputs)}"))
    if len(outputs) != len(check.outputs):
        problems.append(
            Problem(name, f"has {len(outputs)} outputs, expected {len(check.outputs)}")
        )
    if problems:
        return problems

    for kind, args, specs in (("input", inputs, check.inputs), ("output", outputs, check.outputs)):
        for i, (arg, spec) in enumerate(zip(args, specs)):
            label = _label(kind, i, spec)
            expected_type = ORT_TYPES[spec.dtype][0]
            if arg.type != expected_type:
                message = f"{label} has type {arg.type}, expected {expected_type}"
                problems.append(Problem(name, message))
            elif _declared_mismatch(arg.shape, spec.shape):
                problems.append(
                    Problem(
                        name,
                        f"{label} has shape {_fmt_shape(arg.shape)}, "
                        f"expected {_fmt_shape(spec.shape)}",
                    )
                )
    if problems:
        return problems

    # Run once on zeros: proves the graph executes and gives the real output shapes even
    # when the graph declares them symbolically.
    feeds = {
        arg.name: np.zeros(spec.probe or (), dtype=ORT_TYPES[spec.dtype][1])
        for arg, spec in zip(inputs, check.inputs)
    }
    try:
        results = session.run(None, feeds)
    except Exception as err:
        shapes = ", ".join(_fmt_shape(s.probe) for s in check.inputs)
        return [Problem(name, f"inference on zeros of shape {shapes} failed: {_first_line(err)}")]
    for i, (result, spec) in enumerate(zip(results, check.outputs)):
        label = _label("output", i, spec)
        array = np.asarray(result)
        if array.ndim != len(spec.shape) or any(
            isinstance(want, int) and got != want for got, want in zip(array.shape, spec.shape)
        ):
            problems.append(
                Problem(
                    name,
                    f"{label} is {_fmt_shape(array.shape)} on the probe input, "
                    f"expected {_fmt_shape(spec.shape)}",
                )
            )
        elif np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            problems.append(Problem(name, f"{label} has NaN/inf on the probe input"))
    return problems


def _check_dlib(path: Path, name: str, check: DlibCheck) -> list[Problem]:
    try:
        import dlib
        import numpy as np
    except ImportError as err:
        return [Problem(name, f"cannot be checked: {err.name} is not installed (dlib-bin)")]
    try:
        if check.loader == "face_recognition_model_v1":
            model = dlib.face_recognition_model_v1(str(path))
            if check.descriptor_size is not None:
                # DeepFace feeds 150x150 aligned chips
                descriptor = model.compute_face_descriptor(np.zeros((150, 150, 3), np.uint8))
                if len(descriptor) != check.descriptor_size:
                    return [
                        Problem(
                            name,
                            f"descriptor has {len(descriptor)} values, "
                            f"expected {check.descriptor_size}",
                        )
                    ]
        else:
            predictor = dlib.shape_predictor(str(path))
            if check.num_parts is not None:
                shape = predictor(np.zeros((64, 64, 3), np.uint8), dlib.rectangle(8, 8, 56, 56))
                if shape.num_parts != check.num_parts:
                    message = f"predicts {shape.num_parts} landmarks, expected {check.num_parts}"
                    return [Problem(name, message)]
    except RuntimeError as err:
        return [Problem(name, f"dlib.{check.loader} cannot load it: {_first_line(err)}")]
    return []


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]


def _check_dirs(home: Path) -> list[Problem]:
    problems = []
    for directory in (home / WEIGHTS_SUBDIR.parent, home / WEIGHTS_SUBDIR):
        try:
            mode = directory.stat().st_mode
        except FileNotFoundError:
            continue  # the per-file checks already report the missing files
        if mode & 0o005 != 0o005:
            problems.append(
                Problem(
                    str(directory),
                    f"directory mode is {stat.S_IMODE(mode):04o}, must be 0755: "
                    "the Lambda runs as a non-root user",
                )
            )
    return problems


def verify_pack(
    home: str | os.PathLike[str],
    pack: str,
    *,
    manifest: str | os.PathLike[str] = DEFAULT_MANIFEST,
    deep: bool = True,
) -> list[Problem]:
    """Problems with a pack installed under ``home``; empty when every file is usable."""
    home = Path(home)
    problems = _check_dirs(home)
    for spec in expected_files(pack, manifest):
        problems += verify_file(weights_dir(home) / spec.name, spec, deep=deep)
    return problems


# ---------------------------------------------------------------------------- provisioning

Filler = Callable[[BinaryIO], None]


def _download(url: str, dest: BinaryIO, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        declared = response.headers.get("Content-Length")
        received = 0
        while chunk := response.read(CHUNK):
            dest.write(chunk)
            received += len(chunk)
    # a dropped connection can end the stream early without an error
    if declared is not None and declared.isdigit() and received != int(declared):
        raise SourceError(f"transfer cut short: got {received} of {declared} bytes")


def _copy_from(src: Path) -> Filler:
    def fill(dest: BinaryIO) -> None:
        with src.open("rb") as fh:
            shutil.copyfileobj(fh, dest, CHUNK)

    return fill


def _package_file(spec: FileSpec) -> Path:
    assert spec.package is not None and spec.package_path is not None
    try:
        dist = importlib.metadata.distribution(spec.package)
    except importlib.metadata.PackageNotFoundError as err:
        raise SourceError(
            f"package {spec.package} is not installed (pip install {spec.package})"
        ) from err
    wanted = spec.package_path.strip("/")
    # locate through the distribution's file list: importing the package is not needed
    for entry in dist.files or ():
        posix = entry.as_posix()
        if posix == wanted or posix.endswith("/" + wanted):
            return Path(str(dist.locate_file(entry)))
    raise SourceError(f"{spec.package} {dist.version} has no file {spec.package_path}")


def _sources(
    spec: FileSpec, source_dir: Path | None, timeout: float
) -> list[tuple[str, Filler | SourceError]]:
    """(description, filler) per candidate source, in the order to try them."""
    if source_dir is not None:
        src = source_dir / spec.name
        if not src.is_file():
            return [(f"copy from {source_dir}", SourceError(f"{src} does not exist"))]
        return [(f"copy from {src}", _copy_from(src))]
    if spec.package is not None:
        try:
            src = _package_file(spec)
        except SourceError as err:
            return [(f"copy from package {spec.package}", err)]
        description = f"copy from package {spec.package} ({src})"
        installed = importlib.metadata.version(spec.package)
        if spec.package_version and installed != spec.package_version:
            description += f" [installed {installed}, manifest pins {spec.package_version}]"
        return [(description, _copy_from(src))]
    return [(f"download from {url}", partial(_download, url, timeout=timeout)) for url in spec.urls]


def _stage(target: Path, fill: Filler) -> Path:
    """Write a candidate next to the target (same filesystem, so the rename is atomic)."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _prepare_dirs(home: Path) -> Path:
    if not home.exists():
        home.mkdir(parents=True)
        os.chmod(home, DIR_MODE)
    for directory in (home / WEIGHTS_SUBDIR.parent, home / WEIGHTS_SUBDIR):
        directory.mkdir(exist_ok=True)
        os.chmod(directory, DIR_MODE)
    return home / WEIGHTS_SUBDIR


def _ok_line(spec: FileSpec, report: FileReport, how: str) -> str:
    return f"ok {spec.name} ({report.size} bytes, sha256 {report.sha256}) {how}"


def provision_file(
    spec: FileSpec,
    weights: Path,
    *,
    source_dir: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    out: TextIO | None = None,
) -> list[Problem]:
    """Make ``weights/spec.name`` a verified copy of the file (an onnx graph split from its
    weights); idempotent."""
    out = out or sys.stdout
    target = weights / spec.name
    if target.exists():
        current = _inspect(target, spec, deep=True, check_mode=False)
        if not current.problems:
            os.chmod(target, FILE_MODE)
            print(_ok_line(spec, current, "already present"), file=out, flush=True)
            return split_onnx(target, spec, out)
        print(f"replacing {spec.name}: {current.problems[0].message}", file=out, flush=True)

    failures = []
    for description, source in _sources(spec, source_dir, timeout):
        if isinstance(source, SourceError):
            failures.append(f"{description}: {source}")
            continue
        try:
            tmp = _stage(target, source)
        except (OSError, ValueError, http.client.HTTPException, SourceError) as err:
            # URLError, HTTPError and timeouts are OSErrors; a malformed URL is a ValueError
            failures.append(f"{description}: {type(err).__name__}: {_first_line(err)}")
            continue
        # verify before the rename so a bad candidate never sits where DeepFace looks
        report = _inspect(tmp, spec, deep=True, check_mode=False)
        if report.problems:
            tmp.unlink(missing_ok=True)
            failures.append(f"{description}: " + "; ".join(p.message for p in report.problems))
            continue
        os.chmod(tmp, FILE_MODE)
        external_data_file(target).unlink(missing_ok=True)  # of a graph being replaced
        os.replace(tmp, target)
        print(_ok_line(spec, report, description), file=out, flush=True)
        return split_onnx(target, spec, out)
    return [Problem(spec.name, "could not be provisioned: " + " | ".join(failures))]


def provision_pack(
    home: str | os.PathLike[str],
    pack: str,
    *,
    source_dir: str | os.PathLike[str] | None = None,
    manifest: str | os.PathLike[str] = DEFAULT_MANIFEST,
    timeout: float = DEFAULT_TIMEOUT,
    out: TextIO | None = None,
) -> list[Problem]:
    """Install every file of ``pack`` under ``home``; returns the problems (empty on success)."""
    specs = expected_files(pack, manifest)
    home = Path(home).resolve()
    weights = _prepare_dirs(home)
    src = Path(source_dir).resolve() if source_dir is not None else None
    problems: list[Problem] = []
    for spec in specs:
        problems += provision_file(spec, weights, source_dir=src, timeout=timeout, out=out)
    return problems + _check_dirs(home)


def check_pack(
    home: str | os.PathLike[str],
    pack: str,
    *,
    manifest: str | os.PathLike[str] = DEFAULT_MANIFEST,
    out: TextIO | None = None,
) -> list[Problem]:
    """verify_pack, printing an ok line (with size and sha256, for pinning) per good file."""
    out = out or sys.stdout
    home = Path(home).resolve()
    problems = _check_dirs(home)
    for spec in expected_files(pack, manifest):
        report = _inspect(weights_dir(home) / spec.name, spec, deep=True, check_mode=True)
        if report.problems:
            problems += report.problems
        else:
            print(_ok_line(spec, report, "verified"), file=out, flush=True)
    return problems


# ---------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Install and verify DeepFace model weights under HOME/.deepface/weights."
    )
    parser.add_argument("--pack", required=True, choices=PACKS)
    parser.add_argument(
        "--home",
        default=os.environ.get("DEEPFACE_HOME"),
        required="DEEPFACE_HOME" not in os.environ,
        help="DEEPFACE_HOME the Lambda will run with (default: $DEEPFACE_HOME)",
    )
    parser.add_argument(
        "--source-dir",
        help="copy the files from this directory instead of their manifest sources "
        "(air-gapped builds)",
    )
    parser.add_argument("--check-only", action="store_true", help="only verify, change nothing")
    parser.add_argument(
        "--manifest",
        default=str(DEFAULT_MANIFEST),
        help="manifest to use (default: the one next to this script)",
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="per-request network timeout (s)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.check_only:
            problems = check_pack(args.home, args.pack, manifest=args.manifest)
        else:
            problems = provision_pack(
                args.home,
                args.pack,
                source_dir=args.source_dir,
                manifest=args.manifest,
                timeout=args.timeout,
            )
    except ManifestError as err:
        print(f"provision: ERROR {err}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"provision: ERROR {problem}", file=sys.stderr)
    if problems:
        print(f"provision: {args.pack} pack under {args.home} is NOT usable", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
