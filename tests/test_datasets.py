"""snnlib.datasets: offline data, the IDX reader, and downloads against a loopback server (of files
generated here in the official layouts: no real dataset is fetched)."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from snnlib import datasets
from snnlib.datasets import DownloadError, RemoteFile


# --- digits --------------------------------------------------------------------------------

def test_digits_split_is_fixed_stratified_and_disjoint():
    train, test = datasets.digits("train"), datasets.digits("test")
    assert (len(train), len(test)) == (1437, 360)
    assert train.info.offline and "scikit-learn" in str(train.info)
    for label in range(10):  # every class in both splits, in proportion
        frac = (test.targets == label).sum() / ((train.targets == label).sum() + (test.targets == label).sum())
        assert 0.15 < frac < 0.25
    flat = lambda d: {tuple(np.round(d.samples[i].flatten().numpy(), 4)) for i in range(len(d))}  # noqa: E731
    assert len(flat(train) & flat(test)) <= 3  # the UCI set has a few duplicate images, nothing more
    again = datasets.digits("test")
    assert torch.equal(again.samples, test.samples) and np.array_equal(again.targets, test.targets)


def test_digits_items_and_upsampling():
    image, label = datasets.digits("test", upsample=4)[0]
    assert image.shape == (1, 32, 32) and image.dtype == torch.float32 and isinstance(label, int)
    assert 0.0 <= image.min() and image.max() <= 1.0


@pytest.mark.parametrize("kwargs, error", [(dict(split="val"), "split must be one of"),
                                           (dict(upsample=0), "upsample must be an integer >= 1"),
                                           (dict(upsample=2.5), "upsample must be an integer >= 1")])
def test_digits_bad_arguments(kwargs, error):
    with pytest.raises(ValueError, match=error):
        datasets.digits(**kwargs)


# --- event digits ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def events():
    return datasets.event_digits("test", noise_hz=2.0)


def test_event_streams_are_tonic_structured_arrays(events):
    ev, label = events[3]
    assert ev.dtype == datasets.EVENT_DTYPE and ev.dtype.names == ("x", "y", "t", "p")
    assert events.sensor_size == (34, 34, 2) and events.ordering == "xytp"
    assert (np.diff(ev["t"]) >= 0).all() and ev["t"].min() >= 0 and ev["t"].max() <= events.duration_us
    assert ev["x"].min() >= 0 and ev["x"].max() < 34 and ev["y"].min() >= 0 and ev["y"].max() < 34
    assert set(np.unique(ev["p"])) == {0, 1}
    assert 1000 < len(ev) < 20000 and label == events.targets[3]


def test_events_follow_the_digit(events):
    # Without noise, events come from the digit's edges moving: none far outside its box.
    clean = datasets.event_digits("test")
    ev, _ = clean[0]
    margin = (34 - 24) // 2 - 3  # the digit box, widened by the saccade amplitude
    assert ev["x"].min() >= margin and ev["x"].max() < 34 - margin
    # the same image, the same events
    again, _ = datasets.event_digits("test")[0]
    assert np.array_equal(ev, again)
    # noise adds events, reproducibly
    assert len(events[0][0]) > len(ev)
    assert np.array_equal(events[0][0], datasets.event_digits("test", noise_hz=2.0)[0][0])


def test_tonic_transforms_apply(events):
    tonic = pytest.importorskip("tonic")
    frames = tonic.transforms.ToFrame(sensor_size=events.sensor_size, n_time_bins=10)(events[0][0])
    assert frames.shape == (10, 2, 34, 34)
    denoised = tonic.transforms.Denoise(filter_time=10_000)(events[0][0])
    assert 0 < len(denoised) < len(events[0][0])
    with_transform = datasets.event_digits("test", transform=tonic.transforms.ToFrame(
        sensor_size=(34, 34, 2), n_time_bins=5))
    assert with_transform[0][0].shape == (5, 2, 34, 34)


@pytest.mark.parametrize("kwargs, error", [(dict(split="dev"), "split must be one of"),
                                           (dict(threshold=0), "threshold must be > 0"),
                                           (dict(digit_size=34), "must fit the sensor"),
                                           (dict(noise_hz=-1), "noise_hz must be >= 0")])
def test_event_digits_bad_arguments(kwargs, error):
    with pytest.raises(ValueError, match=error):
        datasets.event_digits(**kwargs)


# --- IDX ---------------------------------------------------------------------------------------

def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_read_idx_plain_and_gzip(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    (tmp_path / "img.idx").write_bytes(idx_bytes(images))
    (tmp_path / "img.idx.gz").write_bytes(gzip.compress(idx_bytes(images)))
    labels = np.array([3, -7], dtype=">i4")
    (tmp_path / "lab.idx").write_bytes(idx_bytes(labels, 0x0C))
    assert np.array_equal(datasets.read_idx(tmp_path / "img.idx"), images)
    assert np.array_equal(datasets.read_idx(tmp_path / "img.idx.gz"), images)
    assert datasets.read_idx(tmp_path / "lab.idx").tolist() == [3, -7]


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="is not an IDX file"):
        datasets.read_idx(tmp_path / "bad")
    good = idx_bytes(np.zeros((3, 4, 4), np.uint8))
    (tmp_path / "short").write_bytes(good[:-5])
    with pytest.raises(ValueError, match=r"header says \[3, 4, 4\].*truncated or corrupt"):
        datasets.read_idx(tmp_path / "short")


# --- downloads, against a server on 127.0.0.1 ----------------------------------------------------

class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a folder, honouring 'Range: bytes=N-' unless the path has 'norange'."""

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        path = Path(self.directory) / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        header = self.headers.get("Range")
        if header and "norange" not in self.path:
            start = int(header.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(RangeHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def remote_for(served: Path, base: str, name: str, content: bytes, sha: str | None = None) -> RemoteFile:
    (served / name).write_bytes(content)
    return RemoteFile("toy", name, f"{base}/{name}", sha or hashlib.sha256(content).hexdigest())


def leave_part(cache: Path, name: str, data: bytes) -> None:
    """A ``.part`` file in the toy dataset's folder, as an earlier download left it."""
    (cache / "toy").mkdir(parents=True, exist_ok=True)
    (cache / "toy" / f"{name}.part").write_bytes(data)


def test_good_file_is_downloaded_verified_and_reused(server, tmp_path):
    served, base = server
    content = bytes(range(256)) * 5000
    remote = remote_for(served, base, "good.bin", content)
    path = datasets.fetch(remote, root=tmp_path / "cache", progress=False)
    assert path.read_bytes() == content and not path.with_name("good.bin.part").exists()
    (served / "good.bin").unlink()  # a second call must not need the server
    assert datasets.fetch(remote, root=tmp_path / "cache", progress=False) == path


def test_corrupt_download_is_rejected_and_removed(server, tmp_path):
    served, base = server
    remote = remote_for(served, base, "bad.bin", b"not what was promised", sha="0" * 64)
    with pytest.raises(DownloadError) as err:
        datasets.fetch(remote, root=tmp_path / "cache", progress=False)
    message = str(err.value)
    assert "toy" in message and remote.url in message and "0" * 64 in message and "by hand" in message
    assert list((tmp_path / "cache" / "toy").iterdir()) == []  # nothing that looks complete, no .part


def test_truncated_archive_is_rejected(server, tmp_path):
    served, base = server
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = b"x" * 100_000
        info = tarfile.TarInfo("inside.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    archive = buf.getvalue()
    full_sha = hashlib.sha256(archive).hexdigest()
    remote = remote_for(served, base, "data.tar.gz", archive[: len(archive) // 2], sha=full_sha)
    with pytest.raises(DownloadError, match="sha256"):
        datasets.fetch(remote, root=tmp_path / "cache", progress=False)
    assert not (tmp_path / "cache" / "toy" / "data.tar.gz").exists()
    # and a truncated archive that somehow got in is refused by extract
    (tmp_path / "trunc.tar.gz").write_bytes(archive[: len(archive) // 2])
    with pytest.raises(DownloadError, match="could not be unpacked"):
        datasets.extract(tmp_path / "trunc.tar.gz", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    (tmp_path / "ok.tar.gz").write_bytes(archive)
    out = datasets.extract(tmp_path / "ok.tar.gz", tmp_path / "ok")
    assert (out / "inside.txt").read_bytes() == data


def test_interrupted_download_resumes_with_range(server, tmp_path):
    served, base = server
    content = np.random.default_rng(0).bytes(300_000)
    remote = remote_for(served, base, "big.bin", content)
    leave_part(tmp_path / "cache", "big.bin", content[:123_456])  # what an interrupted run left
    path = datasets.fetch(remote, root=tmp_path / "cache", progress=False)
    assert path.read_bytes() == content


def test_server_without_range_restarts_cleanly(server, tmp_path):
    served, base = server
    content = b"abc" * 50_000
    remote = remote_for(served, base, "norange.bin", content)
    leave_part(tmp_path / "cache", "norange.bin", b"stale" * 100)
    assert datasets.fetch(remote, root=tmp_path / "cache", progress=False).read_bytes() == content


def test_unreachable_url_names_dataset_url_and_manual_path(tmp_path):
    remote = RemoteFile("toy", "gone.bin", "http://127.0.0.1:9/gone.bin", "a" * 64)
    with pytest.raises(DownloadError) as err:
        datasets.fetch(remote, root=tmp_path, progress=False, timeout=2)
    message = str(err.value)
    assert "toy" in message and remote.url in message and str(tmp_path / "toy" / "gone.bin") in message


def test_file_placed_by_hand_is_accepted_or_removed(tmp_path):
    content = b"placed by hand"
    good = RemoteFile("toy", "hand.bin", "http://127.0.0.1:9/hand.bin", hashlib.sha256(content).hexdigest())
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "hand.bin").write_bytes(content)
    assert datasets.fetch(good, root=tmp_path, progress=False).read_bytes() == content
    bad = RemoteFile("toy", "hand.bin", good.url, "b" * 64)
    with pytest.raises(DownloadError, match="removed it"):
        datasets.fetch(bad, root=tmp_path, progress=False)
    assert not (tmp_path / "toy" / "hand.bin").exists()


def test_bad_checksum_spec_is_refused():
    with pytest.raises(ValueError, match="64 lower-case hex digits"):
        RemoteFile("toy", "f", "http://x", "ABC")


def test_cache_dir_follows_snnlib_data(monkeypatch, tmp_path):
    monkeypatch.setenv("SNNLIB_DATA", str(tmp_path))
    assert datasets.cache_dir() == tmp_path
    monkeypatch.delenv("SNNLIB_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert datasets.cache_dir() == tmp_path / "xdg" / "snnlib"  # the user's cache, never the checkout
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert datasets.cache_dir() == tmp_path / "home" / ".cache" / "snnlib"


# --- frames, augmentation, splits ----------------------------------------------------------------

def make_events(rows):
    ev = np.zeros(len(rows), datasets.EVENT_DTYPE)
    for i, (x, y, t, p) in enumerate(rows):
        ev[i] = (x, y, t, p)
    return ev


def test_frames_by_count_splits_by_event_number():
    # 7 events, T=3: chunks of 7//3 = 2 events, the last takes 3 (spikingjelly's split_by='number')
    ev = make_events([(0, 0, 50, 1), (1, 0, 10, 0), (1, 1, 20, 1), (0, 1, 30, 1),
                      (2, 1, 40, 0), (2, 0, 60, 1), (2, 0, 70, 1)])
    frames = datasets.frames_by_count(ev, 3, (3, 2, 2))
    assert frames.shape == (3, 2, 2, 3)
    assert frames.reshape(3, -1).sum(1).tolist() == [2, 2, 3]
    assert frames[0, 0, 0, 1] == 1 and frames[0, 1, 1, 1] == 1          # t=10 OFF at (1,0); t=20 ON at (1,1)
    assert frames[2, 1, 0, 2] == 2 and frames[2, 1, 0, 0] == 1          # t=50.. in the last chunk
    with pytest.raises(ValueError, match="outside the sensor"):
        datasets.frames_by_count(ev, 3, (2, 2, 2))
    with pytest.raises(ValueError, match="T must be an integer >= 1"):
        datasets.frames_by_count(ev, 0, (3, 2, 2))


def test_flip_roll_moves_every_time_step_alike():
    frames = torch.zeros(3, 2, 8, 8)
    frames[:, :, 2, 1] = 1
    gen = torch.Generator().manual_seed(0)
    out = datasets.FlipRoll(shift=2, p=1.0, generator=gen)(frames)
    spots = [tuple(torch.nonzero(out[t, 0])[0].tolist()) for t in range(3)]
    assert len(set(spots)) == 1                                    # the same transform at every step
    y, x = spots[0]
    assert abs(y - 2) <= 2 and min(abs(x - 6), 8 - abs(x - 6)) <= 2  # flipped column 1 -> 6, rolled <= 2
    assert torch.equal(datasets.FlipRoll(shift=0, p=0.0)(frames), frames)
    with pytest.raises(ValueError, match=r"\[T, C, H, W\]"):
        datasets.FlipRoll()(torch.zeros(2, 8, 8))


def test_first_fraction_split_is_per_class_and_ordered():
    targets = [0] * 10 + [1] * 20 + [0] * 10
    train, test = datasets.first_fraction_split(targets, 0.9)
    assert len(train) == 18 + 18 and len(test) == 2 + 2
    assert test.tolist() == [28, 29, 38, 39]  # the last 10 % of each class, in dataset order
    assert not set(train) & set(test)


# --- regressions found in review --------------------------------------------------------------------

def test_complete_part_file_is_finished_not_refetched_forever(server, tmp_path):
    served, base = server
    content = b"complete but not renamed" * 1000
    remote = remote_for(served, base, "done.bin", content)
    leave_part(tmp_path / "cache", "done.bin", content)  # killed between the last byte and the rename
    assert datasets.fetch(remote, root=tmp_path / "cache", progress=False).read_bytes() == content


class ShortBodyHandler(RangeHandler):
    def do_GET(self):  # noqa: N802  announces 1000 bytes, sends 100, closes
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"x" * 100)


def test_a_cut_connection_keeps_the_part_for_resuming(tmp_path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ShortBodyHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        remote = RemoteFile("toy", "cut.bin", f"http://127.0.0.1:{httpd.server_address[1]}/cut.bin", "c" * 64)
        with pytest.raises(DownloadError, match="partial download is kept"):
            datasets.fetch(remote, root=tmp_path, progress=False, timeout=5)
        assert (tmp_path / "toy" / "cut.bin.part").stat().st_size == 100
        assert not (tmp_path / "toy" / "cut.bin").exists()
    finally:
        httpd.shutdown()


def test_fewer_events_than_frames_go_to_the_last_frame():
    ev = make_events([(0, 0, 5, 1), (1, 1, 9, 0)])
    frames = datasets.frames_by_count(ev, 4, (2, 2, 2))
    assert frames[:3].sum() == 0 and frames[3].sum() == 2


def test_first_fraction_split_rounds_up_like_spikingjelly():
    train_idx, test_idx = datasets.first_fraction_split([0] * 47, 0.9)
    assert len(train_idx) == 43 and len(test_idx) == 4  # ceil(42.3)


def test_train_and_test_noise_differ():
    a, _ = datasets.event_digits("train", noise_hz=50.0)[0]
    b, _ = datasets.event_digits("test", noise_hz=50.0)[0]
    clean_a, _ = datasets.event_digits("train")[0]
    clean_b, _ = datasets.event_digits("test")[0]
    noise_a = np.setdiff1d(a, clean_a)
    noise_b = np.setdiff1d(b, clean_b)
    assert len(noise_a) and len(noise_b) and not np.array_equal(noise_a[:20], noise_b[:20])


def test_to_frames_bins_every_stream_once(events):
    tonic = pytest.importorskip("tonic")
    frames = datasets.to_frames(events, 5)
    assert frames.samples.shape == (len(events), 5, 2, 34, 34) and frames.info.sample_shape == (5, 2, 34, 34)
    expected = tonic.transforms.ToFrame(sensor_size=events.sensor_size, n_time_bins=5)(events[2][0])
    assert torch.equal(frames[2][0], torch.from_numpy(expected.astype(np.float32)).clamp(max=1.0))
    assert frames[2][1] == events[2][1]


def test_md5_checksums_are_accepted_where_the_publisher_lists_only_md5(server, tmp_path):
    served, base = server
    content = b"tonic publishes md5 sums" * 100
    (served / "m.bin").write_bytes(content)
    remote = RemoteFile("toy", "m.bin", f"{base}/m.bin", md5=hashlib.md5(content).hexdigest())
    assert datasets.fetch(remote, root=tmp_path, progress=False).read_bytes() == content
    with pytest.raises(ValueError, match="exactly one of sha256 and md5"):
        RemoteFile("toy", "f", "http://x", sha256="a" * 64, md5="b" * 32)
    with pytest.raises(ValueError, match="md5 must be 32 lower-case hex digits"):
        RemoteFile("toy", "f", "http://x", md5="abc")


# --- the papers' neuromorphic datasets through tonic (a small archive in tonic's layout, served locally) ---

def gesture_archive(folder_name: str, users: int = 10, per_user: int = 11) -> tuple[bytes, list]:
    """A tar.gz laid out like tonic's DVSGesture release: <folder>/userNN_<lighting>/<label>.npy with
    columns x, y, p, t (ms). Returns the archive and the recordings (label, events) in tonic's order."""
    rng = np.random.default_rng(0)
    buf, recordings = io.BytesIO(), []
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for user in range(1, users + 1):
            for label in range(per_user):
                n = int(rng.integers(50, 200))
                ev = np.stack([rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n),
                               np.sort(rng.integers(0, 5000, n))], axis=1).astype(np.int64)
                data = io.BytesIO()
                np.save(data, ev)
                info = tarfile.TarInfo(f"{folder_name}/user{user:02d}_fluorescent/{label}.npy")
                info.size = len(data.getvalue())
                tar.addfile(info, io.BytesIO(data.getvalue()))
                recordings.append((label, ev))
    return buf.getvalue(), recordings


def serve_gesture(monkeypatch, served, base, md5=None):
    from snnlib.datasets import neuromorphic

    archive, recordings = gesture_archive("ibmGestureTrain")
    (served / "train.tar.gz").write_bytes(archive)
    remote = RemoteFile("DVSGesture", "ibmGestureTrain.tar.gz", f"{base}/train.tar.gz",
                        md5=md5 or hashlib.md5(archive).hexdigest())
    source = neuromorphic.SOURCES["dvs_gesture"]
    monkeypatch.setitem(neuromorphic.SOURCES, "dvs_gesture",
                        neuromorphic.TonicSource(source.name, {"train": (remote,)}, (), source.canvas, source.classes))
    return remote, recordings


def test_dvs_gesture_downloads_a_generated_archive_unpacks_reads_through_tonic_and_bins_by_count(server, tmp_path, monkeypatch):
    served, base = server
    remote, recordings = serve_gesture(monkeypatch, served, base)
    ds = datasets.dvs_gesture("train", T=4, root=tmp_path / "cache", progress=False)
    assert len(ds) == len(recordings) and ds.info.sample_shape == (4, 2, 128, 128) and not ds.info.offline
    assert "official split" in ds.info.source and ds.transform is None
    # tonic walks the user folders in sorted order and the files as listed; match by content
    by_label = {}
    for label, ev in recordings:
        by_label.setdefault((label, len(ev)), ev)
    for i in (0, 7, 50):
        frames, label = ds[i]
        assert frames.dtype == torch.float32 and frames.shape == (4, 2, 128, 128)
        ev = by_label[(label, int(frames.sum()))]
        structured = np.zeros(len(ev), dtype=datasets.EVENT_DTYPE)
        for k, field in enumerate("xypt"):
            structured[field] = ev[:, k]
        structured["t"] *= 1000
        expected = datasets.frames_by_count(structured, 4, (128, 128, 2))
        assert np.array_equal(frames.numpy(), expected)
    (served / "train.tar.gz").unlink()  # cached: no server needed any more
    again = datasets.dvs_gesture("train", T=4, root=tmp_path / "cache", progress=False)
    assert np.array_equal(again.targets, ds.targets)


def test_a_corrupt_dataset_archive_is_rejected_and_nothing_looks_complete(server, tmp_path, monkeypatch):
    served, base = server
    remote, _ = serve_gesture(monkeypatch, served, base, md5="0" * 32)
    with pytest.raises(DownloadError) as err:
        datasets.dvs_gesture("train", T=4, root=tmp_path / "cache", progress=False)
    assert "DVSGesture" in str(err.value) and remote.url in str(err.value) and "by hand" in str(err.value)
    folder = tmp_path / "cache" / "tonic" / "DVSGesture"
    assert list(folder.iterdir()) == []
    assert not (tmp_path / "cache" / "frames").exists()


class FakeTonic(list):
    """Stands in for a tonic dataset: (events, label) pairs and a targets list."""

    def __init__(self, items):
        super().__init__(items)
        self.targets = [label for _, label in items]


def test_cifar10_dvs_and_ncaltech101_use_the_papers_split_and_augmentation_on_stand_in_recordings(tmp_path, monkeypatch):
    from snnlib.datasets import neuromorphic

    rng = np.random.default_rng(1)

    def recording(n, w, h):
        ev = np.zeros(n, dtype=datasets.EVENT_DTYPE)
        ev["x"], ev["y"] = rng.integers(0, w, n), rng.integers(0, h, n)
        ev["t"], ev["p"] = np.sort(rng.integers(0, 10**6, n)), rng.integers(0, 2, n)
        return ev

    fakes = {"CIFAR10DVS": FakeTonic([(recording(100, 128, 128), c) for c in range(3) for _ in range(10)]),
             # N-Caltech101: string labels, recordings larger than the 240×180 canvas
             "NCALTECH101": FakeTonic([(recording(100, 300, 200), name) for name in ("b", "a") for _ in range(10)])}
    monkeypatch.setattr(neuromorphic, "_unpacked", lambda source, split, root, progress: root)
    monkeypatch.setattr(neuromorphic, "_tonic_dataset", lambda source, split, save_to: fakes[source.name])

    train = datasets.cifar10_dvs("train", T=5, root=tmp_path, progress=False)
    test = datasets.cifar10_dvs("test", T=5, root=tmp_path, progress=False)
    assert (len(train), len(test)) == (27, 3)            # the first 9 of every 10 per class train
    assert isinstance(train.transform, datasets.FlipRoll) and test.transform is None
    assert "first 90 %" in train.info.source and "flip" in train.info.source
    assert datasets.cifar10_dvs("train", T=5, root=tmp_path, augment=False, progress=False).transform is None
    assert train[0][0].shape == (5, 2, 128, 128) and sorted(set(test.targets)) == [0, 1, 2]

    cal = datasets.ncaltech101("train", T=3, root=tmp_path, progress=False)
    frames, label = cal[0]
    assert frames.shape == (3, 2, 180, 240) and label == 1   # "b" sorts after "a"
    assert set(cal.targets.tolist()) == {0, 1} and len(cal) == 18
    assert frames.sum() < 100                              # events off the canvas are dropped


def test_neuromorphic_datasets_check_arguments_before_any_work(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        datasets.dvs_gesture("val", root=tmp_path)
    with pytest.raises(ValueError, match="T must be an integer >= 1; got 0"):
        datasets.cifar10_dvs("train", T=0, root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_fashion_mnist_reads_generated_idx_files_in_the_official_layout_verified_by_md5(server, tmp_path, monkeypatch):
    import gzip

    from snnlib.datasets import idx

    served, base = server
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8), rng.integers(0, 10, 7).astype(np.uint8)
    files = {}
    for (name, _), payload in zip(idx.FASHION_FILES["test"], (
            b"\x00\x00\x08\x03" + b"".join(d.to_bytes(4, "big") for d in images.shape) + images.tobytes(),
            b"\x00\x00\x08\x01" + (7).to_bytes(4, "big") + labels.tobytes())):
        (served / name).write_bytes(gzip.compress(payload))
        files[name] = hashlib.md5((served / name).read_bytes()).hexdigest()
    monkeypatch.setattr(idx, "FASHION_URL", base)
    monkeypatch.setitem(idx.FASHION_FILES, "test", tuple(files.items()))
    ds = datasets.fashion_mnist("test", root=tmp_path, progress=False)
    assert len(ds) == 7 and ds.info.sample_shape == (1, 28, 28) and not ds.info.offline
    x, y = ds[3]
    assert torch.allclose(x[0], torch.from_numpy(images[3] / 255.0).float()) and y == labels[3]
    assert ds.classes[0] == "T-shirt/top"
    # a file whose md5 does not match the official one is removed, never used
    monkeypatch.setitem(idx.FASHION_FILES, "test", ((next(iter(files)), "0" * 32), tuple(files.items())[1]))
    (tmp_path / "fashion_mnist" / next(iter(files))).unlink()
    with pytest.raises(DownloadError, match="fashion_mnist"):
        datasets.fashion_mnist("test", root=tmp_path, progress=False)
    assert not (tmp_path / "fashion_mnist" / next(iter(files))).exists()


def test_fashion_mnist_official_checksums_are_listed_in_data_readme():
    from snnlib.datasets import idx

    readme = (Path(__file__).resolve().parent.parent / "data" / "README.md").read_text()
    for name, md5 in idx.FASHION_FILES["train"] + idx.FASHION_FILES["test"] + idx.MNIST_FILES["train"] \
            + idx.MNIST_FILES["test"]:
        assert md5 in readme and name in readme
    assert idx.MNIST_URL in readme
    from snnlib.datasets import neuromorphic

    for source in neuromorphic.SOURCES.values():
        for remotes in source.files.values():
            for remote in remotes:
                assert remote.checksum in readme and remote.url in readme


# --- CelebA (chapter 6, paper) against the loopback server ---------------------------------------

class HtmlHandler(RangeHandler):
    def do_GET(self):  # noqa: N802  what Google Drive sends when a file's quota is spent
        body = b"<html><body>Too many users have viewed or downloaded this file recently.</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_web_page_instead_of_the_file_is_refused_and_leaves_nothing(tmp_path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HtmlHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        remote = RemoteFile("toy", "big.zip", f"http://127.0.0.1:{httpd.server_address[1]}/big.zip", md5="d" * 32)
        with pytest.raises(DownloadError, match="web page instead of the file.*quota") as err:
            datasets.fetch(remote, root=tmp_path, progress=False, timeout=5)
        assert "partial download is kept" not in str(err.value) and "by hand" in str(err.value)
        assert list((tmp_path / "toy").iterdir()) == []
    finally:
        httpd.shutdown()


def face_jpeg(seed: int) -> bytes:
    """A 178×218 picture: a green band above and below CelebA's 148×148 centre crop, red left
    and blue right inside it, so the crop and its orientation can be read off the result."""
    from PIL import Image

    pixels = np.zeros((218, 178, 3), dtype=np.uint8)
    pixels[:, :89] = (220, 20, 20)
    pixels[:, 89:] = (20, 20, 220)
    pixels[:30], pixels[188:] = (20, 220, 20), (20, 220, 20)   # outside rows 35..182
    pixels[100, seed] = 255                                    # makes every file different
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def test_celeba_pipeline_on_a_generated_archive_crops_resizes_and_splits_by_its_partition_file(server, tmp_path, monkeypatch):
    pytest.importorskip("PIL")
    from snnlib.datasets import faces as celeba_module

    served, base = server
    names = [f"{i:06d}.jpg" for i in range(1, 6)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, name in enumerate(names):
            zf.writestr(f"img_align_celeba/{name}", face_jpeg(i))
    files = {"img_align_celeba.zip": buf.getvalue(),
             "list_eval_partition.txt": "".join(f"{n} {c}\n" for n, c in zip(names, "00120")).encode()}
    for name, content in files.items():
        (served / name).write_bytes(content)
    monkeypatch.setattr(celeba_module, "GDRIVE_URL", base + "/{}")
    monkeypatch.setattr(celeba_module, "CELEBA_FILES",
                        {name: (name, hashlib.md5(content).hexdigest()) for name, content in files.items()})

    train = datasets.celeba("train", root=tmp_path, progress=False)
    assert train.names == [names[0], names[1], names[4]] and len(train) == 3
    assert train.samples.dtype == torch.uint8 and train.samples.shape == (3, 3, 64, 64)
    assert train[0][1] == -1 and train.info.classes == 0
    red, blue = torch.tensor([220, 20, 20]), torch.tensor([20, 20, 220])
    img = train.samples[0].permute(1, 2, 0).int()                           # [64, 64, 3]
    assert (img[:, :28] - red).abs().max() < 30 and (img[:, 36:] - blue).abs().max() < 30  # left red, right blue
    assert (img[..., 1] < 60).all()                                          # no green: the bands were cropped away
    for name in files:
        (served / name).unlink()                                             # later calls need no server
    assert torch.equal(datasets.celeba("train", root=tmp_path, progress=False).samples, train.samples)
    assert datasets.celeba("test", root=tmp_path, progress=False).names == [names[3]]
    assert datasets.celeba("valid", root=tmp_path, progress=False).names == [names[2]]
    assert not list((tmp_path / "celeba").glob("*.part"))


@pytest.mark.parametrize("kwargs, error", [
    ({"split": "val"}, r"split must be one of \('train', 'valid', 'test'\); got 'val'"),
    ({"size": 200}, r"size must be an int between 8 and 148; got 200"),
])
def test_celeba_bad_arguments(kwargs, error, tmp_path):
    with pytest.raises(ValueError, match=error):
        datasets.celeba(root=tmp_path, progress=False, **kwargs)
    assert not (tmp_path / "celeba").exists()   # refused before any download


def test_celeba_partition_file_with_a_bad_line_is_named(tmp_path):
    from snnlib.datasets.faces import read_partition

    (tmp_path / "p.txt").write_text("000001.jpg 0\n000002.jpg 7\n")
    with pytest.raises(ValueError, match=r"p.txt, line 2: expected '<image>.jpg <0\|1\|2>'"):
        read_partition(tmp_path / "p.txt")


def test_celeba_with_an_undecodable_image_names_it_and_leaves_no_array(server, tmp_path, monkeypatch):
    pytest.importorskip("PIL")
    from snnlib.datasets import faces as celeba_module

    served, base = server
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("img_align_celeba/000001.jpg", face_jpeg(0))
        zf.writestr("img_align_celeba/000002.jpg", b"not a jpeg")
    files = {"img_align_celeba.zip": buf.getvalue(), "list_eval_partition.txt": b"000001.jpg 0\n000002.jpg 0\n"}
    for name, content in files.items():
        (served / name).write_bytes(content)
    monkeypatch.setattr(celeba_module, "GDRIVE_URL", base + "/{}")
    monkeypatch.setattr(celeba_module, "CELEBA_FILES",
                        {name: (name, hashlib.md5(content).hexdigest()) for name, content in files.items()})
    with pytest.raises(ValueError, match="000002.jpg could not be decoded"):
        datasets.celeba("train", root=tmp_path, progress=False)
    assert not list((tmp_path / "celeba").glob("*.npy*"))


# --- the moving-target task (chapter 5) --------------------------------------------------------

def test_moving_target_is_deterministic_per_seed_and_splits_differ():
    from snnlib.datasets import moving_target

    a, b = moving_target("train", n=20, seed=3), moving_target("train", n=20, seed=3)
    assert torch.equal(a.samples, b.samples) and (a.targets == b.targets).all()
    assert not torch.equal(a.samples, moving_target("train", n=20, seed=4).samples)
    assert not torch.equal(a.samples, moving_target("test", n=20, seed=3).samples)
    x, y = a[0]
    assert x.shape == (8, 2, 16, 16) and x.dtype == torch.float32 and set(x.unique().tolist()) <= {0.0, 1.0}
    assert isinstance(y, int) and set(a.targets.tolist()) <= {0, 1, 2, 3}
    assert len(moving_target("test")) == 400 and len(moving_target("train")) == 800


def test_moving_target_trajectory_and_labels_as_documented():
    from snnlib.datasets import moving_target
    from snnlib.datasets.moving_target import SHAPES, SHAPE_NAMES, target_columns

    T, size = 6, 12
    assert target_columns(T, size).tolist() == [0, 2, 4, 5, 7, 9]       # round(t·9/5)
    assert target_columns(T, size, rightward=False).tolist() == [9, 7, 5, 4, 2, 0]
    # every shape pixel fires at rate 1 and no background: each frame shows exactly the patches
    d = moving_target("train", n=30, T=T, size=size, rate=(1.0, 1.0), noise=0.0, seed=1)
    for i in range(len(d)):
        x, label = d[i]
        seen = x.sum(1)                                                  # [T, H, W], both polarities
        row, cols = d.trajectory[i, 0, 0], d.trajectory[i, :, 1]
        assert (d.trajectory[i, :, 0] == row).all()
        rightward = cols[-1] > cols[0]
        assert cols.tolist() == target_columns(T, size, rightward).tolist()
        for t in range(T):
            target = seen[t, row:row + 3, cols[t]:cols[t] + 3]
            assert torch.equal(target.bool(), torch.tensor(SHAPES[SHAPE_NAMES[label]], dtype=torch.bool))
            far = cols[-1] if t < T // 2 else cols[0]                   # the distractor on the path
            k = d.distractor_classes[i, 0 if t < T // 2 else 1]
            assert torch.equal(seen[t, row:row + 3, far:far + 3].bool(),
                               torch.tensor(SHAPES[SHAPE_NAMES[k]], dtype=torch.bool))
            assert seen[t].sum() == target.sum() + seen[t, row:row + 3, far:far + 3].sum()
            # between the two end patches only the target is ever drawn
            alone = torch.zeros(size, size)
            alone[row:row + 3, cols[t]:cols[t] + 3] = target
            assert torch.equal(seen[t, :, 3:size - 3], alone[:, 3:size - 3])
    # the labels do not depend on the frame options: same seed, same labels and trajectory
    e = moving_target("train", n=30, T=T, size=size, seed=1)
    assert (e.targets == d.targets).all() and (e.trajectory == d.trajectory).all()
    # the target's firing rate rises over the recording, the distractors' stays at the mean
    big = moving_target("train", n=400, T=T, size=size, noise=0.0, seed=2)
    first, last = [], []
    for i in range(len(big)):
        x, label = big[i]
        mask = torch.tensor(SHAPES[SHAPE_NAMES[label]], dtype=torch.float32)
        row, cols = big.trajectory[i, 0, 0], big.trajectory[i, :, 1]
        for t, store in ((0, first), (T - 1, last)):
            store.append((x[t].sum(0)[row:row + 3, cols[t]:cols[t] + 3] * mask).sum() / mask.sum())
    assert abs(torch.stack(first).mean() - 0.4) < 0.03 and abs(torch.stack(last).mean() - 0.9) < 0.03


def test_moving_target_bad_inputs():
    from snnlib.datasets import moving_target

    with pytest.raises(ValueError, match="split must be one of"):
        moving_target("validation")
    with pytest.raises(ValueError, match="T must be an integer >= 4; got 3"):
        moving_target(T=3)
    with pytest.raises(ValueError, match="size must be an integer >= 8; got 7"):
        moving_target(size=7)
    with pytest.raises(ValueError, match=r"rate must be a finite number in \(0, 1\]; got 1.5"):
        moving_target(rate=(0.5, 1.5))
    with pytest.raises(ValueError, match="rate must be a pair"):
        moving_target(rate=0.5)
    with pytest.raises(ValueError, match=r"noise must be a finite number in \[0, 1\); got -0.1"):
        moving_target(noise=-0.1)
    with pytest.raises(ValueError, match="n must be an integer >= 1; got 0"):
        moving_target(n=0)



@pytest.mark.parametrize("decoy", ["reverse", "swap"])
def test_moving_target_decoy_variants_deterministic_per_seed(decoy):
    from snnlib.datasets import moving_target

    kw = dict(T=6, size=10, decoy=decoy)
    a, b = moving_target("train", n=20, seed=3, **kw), moving_target("train", n=20, seed=3, **kw)
    assert torch.equal(a.samples, b.samples) and (a.targets == b.targets).all()
    assert not torch.equal(a.samples, moving_target("train", n=20, seed=4, **kw).samples)
    assert not torch.equal(a.samples, moving_target("test", n=20, seed=3, **kw).samples)
    assert a.distractor_classes.shape == (20, 1) and a.decoy_trajectory.shape == (20, 6, 2)


def test_moving_target_reverse_decoy_as_documented():
    from snnlib.datasets import moving_target
    from snnlib.datasets.moving_target import SHAPES, SHAPE_NAMES, target_columns

    T, size = 6, 12
    kw = dict(T=T, size=size, decoy="reverse")
    # every shape pixel fires at rate 1, no background: each frame shows the union of the two
    d = moving_target("train", n=40, rate=(1.0, 1.0), noise=0.0, seed=1, **kw)
    cols = target_columns(T, size)
    shape = lambda k: torch.tensor(SHAPES[SHAPE_NAMES[k]], dtype=torch.bool)
    for i in range(len(d)):
        x, label = d[i]
        seen = x.sum(1).bool()                                           # [T, H, W]
        row, k = d.trajectory[i, 0, 0], d.distractor_classes[i, 0]
        assert k != label                                                # the decoy is another class
        assert d.trajectory[i, :, 1].tolist() == cols.tolist()          # always rightward
        assert d.decoy_trajectory[i, :, 1].tolist() == cols[::-1].tolist()   # col(T - 1 - t)
        assert (d.trajectory[i, :, 0] == row).all() and (d.decoy_trajectory[i, :, 0] == row).all()
        for t in range(T):
            drawn = torch.zeros(size, size, dtype=torch.bool)
            drawn[row:row + 3, cols[t]:cols[t] + 3] |= shape(label)
            drawn[row:row + 3, cols[T - 1 - t]:cols[T - 1 - t] + 3] |= shape(k)
            assert torch.equal(seen[t], drawn)
    # labels are the target's class, roughly uniform; the default stream is untouched
    big = moving_target("train", n=400, noise=0.0, seed=2, **kw)
    assert set(big.targets.tolist()) == {0, 1, 2, 3}
    assert (big.distractor_classes[:, 0] != big.targets).all()
    assert torch.equal(moving_target("train", n=20, seed=3, T=T, size=size).samples,
                       moving_target("train", n=20, seed=3, T=T, size=size, decoy=None).samples)
    # the decoy fires with the target's probability of the mirrored step: p(T - 1 - t)
    first, last = [], []
    for i in range(len(big)):
        x, label = big[i]
        k, row = big.distractor_classes[i, 0], big.trajectory[i, 0, 0]
        m = torch.tensor(SHAPES[SHAPE_NAMES[k]], dtype=torch.float32)
        for t, store in ((0, first), (T - 1, last)):
            c = cols[T - 1 - t]
            store.append((x[t].sum(0)[row:row + 3, c:c + 3] * m).sum() / m.sum())
    assert abs(torch.stack(first).mean() - 0.9) < 0.03 and abs(torch.stack(last).mean() - 0.4) < 0.03
    with pytest.raises(ValueError, match="decoy must be None, 'reverse' or 'swap'; got 'left'"):
        moving_target(decoy="left")
    with pytest.raises(ValueError, match="T must be an integer >= 4; got 3"):
        moving_target(T=3, decoy="reverse")


def test_moving_target_swap_decoy_as_documented():
    from snnlib.datasets import moving_target
    from snnlib.datasets.moving_target import SHAPES, SHAPE_NAMES

    T, size = 6, 10
    kw = dict(T=T, size=size, decoy="swap")
    # rate 1, no background: each frame shows exactly the two patches
    d = moving_target("train", n=40, rate=(1.0, 1.0), noise=0.0, seed=1, **kw)
    shape = lambda k: torch.tensor(SHAPES[SHAPE_NAMES[k]], dtype=torch.bool)
    first_sides = []
    for i in range(len(d)):
        x, label = d[i]
        seen = x.sum(1).bool()                                           # [T, H, W]
        k = d.distractor_classes[i, 0]
        target, decoy = d.trajectory[i], d.decoy_trajectory[i]
        assert k != label
        assert {int(target[0, 1]), int(decoy[0, 1])} == {0, size - 3}    # one at each side
        assert (target[:T // 2] == target[0]).all() and (decoy[:T // 2] == decoy[0]).all()
        assert (target[T // 2:] == decoy[0]).all() and (decoy[T // 2:] == target[0]).all()  # swap
        first_sides.append(int(target[0, 1]) == 0)
        for t in range(T):
            drawn = torch.zeros(size, size, dtype=torch.bool)
            (r, c), (rd, cd) = target[t].tolist(), decoy[t].tolist()
            drawn[r:r + 3, c:c + 3] = True if t == 0 else shape(label)   # a solid square at t = 0
            drawn[rd:rd + 3, cd:cd + 3] = shape(k)
            assert torch.equal(seen[t], drawn)
    assert 0 < sum(first_sides) < len(first_sides)                       # both first sides occur
    # both shapes fire with the probability of the step, rising from rate[0] to rate[1]
    big = moving_target("train", n=400, noise=0.0, seed=2, **kw)
    assert set(big.targets.tolist()) == {0, 1, 2, 3}
    rates = {name: [[], []] for name in ("target", "decoy")}
    for i in range(len(big)):
        x, label = big[i]
        for name, traj, k in (("target", big.trajectory, label),
                              ("decoy", big.decoy_trajectory, big.distractor_classes[i, 0])):
            m = torch.tensor(SHAPES[SHAPE_NAMES[k]], dtype=torch.float32)
            for j, t in enumerate((1, T - 1)):
                r, c = traj[i, t].tolist()
                rates[name][j].append((x[t].sum(0)[r:r + 3, c:c + 3] * m).sum() / m.sum())
    p1 = 0.4 + 0.5 * 1 / (T - 1)
    for name in rates:
        assert abs(torch.stack(rates[name][0]).mean() - p1) < 0.03
        assert abs(torch.stack(rates[name][1]).mean() - 0.9) < 0.03
    with pytest.raises(ValueError, match="T must be an integer >= 4; got 3"):
        moving_target(T=3, decoy="swap")


# --- gated_digits: the generated task of chapter 4 --------------------------------------------


@pytest.fixture(scope="module")
def gated():
    return datasets.gated_digits("test", T=6, seed=1)


def test_gated_digits_is_deterministic_per_seed(gated):
    again = datasets.gated_digits("test", T=6, seed=1)
    assert torch.equal(gated.samples, again.samples) and torch.equal(gated.decoy_mask, again.decoy_mask)
    other = datasets.gated_digits("test", T=6, seed=2)
    assert not torch.equal(gated.samples, other.samples)
    assert gated.samples.shape == (360, 6, 2, 8, 20) and set(gated.samples.unique().tolist()) <= {0.0, 1.0}


def test_gated_digits_marker_exactly_on_the_decoy_steps(gated):
    mask = gated.decoy_mask
    assert (mask.sum(1) == 3).all()                                   # T // 2 decoy steps per sample
    marker = gated.samples[..., -4:].sum(dim=(2, 3, 4))                 # [n, T] marker events
    assert (marker[~mask] == 0).all() and (marker[mask] > 0).all()
    assert (gated.samples[..., 8:16] == 0).all()                        # the gap stays empty


def test_gated_digits_labels_are_the_digit_not_the_decoy(gated):
    assert (gated.decoy_labels != torch.as_tensor(gated.targets)).all()
    assert np.array_equal(gated.targets, datasets.digits("test").targets)
    images = datasets.digits("test").samples[:, 0]                      # [n, 8, 8]
    digit_events = gated.samples[..., :8].sum(2)                        # [n, T, 8, 8]
    on_digit = digit_events[~gated.decoy_mask]                          # steps of the labelled digit
    owner = images[:, None].expand(-1, 6, -1, -1)[~gated.decoy_mask]
    assert (on_digit[owner == 0] == 0).all()                            # events only where the digit has ink


def test_gated_digits_control_has_no_decoy():
    clean = datasets.gated_digits("test", T=4, decoy_steps=0)
    assert not clean.decoy_mask.any() and (clean.samples[..., -4:] == 0).all()
    assert (clean.decoy_labels == -1).all()


@pytest.fixture(scope="module")
def by_polarity():
    return datasets.gated_digits("test", T=6, decoy_in="polarity", seed=1)


def test_gated_digits_polarity_is_deterministic_per_seed(by_polarity):
    again = datasets.gated_digits("test", T=6, decoy_in="polarity", seed=1)
    assert torch.equal(by_polarity.samples, again.samples)
    assert torch.equal(by_polarity.decoy_polarity, again.decoy_polarity)
    other = datasets.gated_digits("test", T=6, decoy_in="polarity", seed=2)
    assert not torch.equal(by_polarity.samples, other.samples)
    assert by_polarity.samples.shape == (360, 6, 2, 8, 20)


def test_gated_digits_polarity_marker_only_in_the_decoys_polarity(by_polarity):
    x, q = by_polarity.samples, by_polarity.decoy_polarity          # [n, T, 2, 8, 20], [n, T]
    assert by_polarity.decoy_mask.all()                               # default: a decoy at every step
    assert (q == q[:, :1]).all() and set(q.unique().tolist()) == {0, 1}  # one polarity per sample, both used
    marker = x[..., -4:].sum(dim=(3, 4))                              # [n, T, 2]
    flagged = torch.nn.functional.one_hot(q, 2).bool()               # [n, T, 2]
    assert (marker[flagged] > 0).all() and (marker[~flagged] == 0).all()
    assert (x[..., 8:16] == 0).all()


def test_gated_digits_polarity_each_polarity_shows_one_digit(by_polarity):
    # the digit's polarity has events only where the digit has ink; the decoy's only where some
    # image of the decoy's class has ink
    images = datasets.digits("test").samples[:, 0] > 0               # [n, 8, 8] ink
    x, q = by_polarity.samples[..., :8], by_polarity.decoy_polarity[:, 0]
    n = torch.arange(len(q))
    on_digit, on_decoy = x[n, :, 1 - q].sum(1) > 0, x[n, :, q].sum(1) > 0   # [n, 8, 8]
    assert not (on_digit & ~images).any()
    labels = torch.as_tensor(by_polarity.targets)
    for i in range(0, len(q), 7):
        candidates = images[labels == by_polarity.decoy_labels[i]]
        assert (~(on_decoy[i] & ~candidates).flatten(1).any(1)).any()
    assert np.array_equal(by_polarity.targets, datasets.digits("test").targets)
    assert (by_polarity.decoy_labels != labels).all()
    assert on_digit.any(dim=(1, 2)).all() and on_decoy.any(dim=(1, 2)).all()


def test_gated_digits_control_is_the_same_for_both_places():
    a = datasets.gated_digits("test", T=4, decoy_steps=0, seed=3)
    b = datasets.gated_digits("test", T=4, decoy_in="polarity", decoy_steps=0, seed=3)
    assert torch.equal(a.samples, b.samples) and (b.decoy_polarity == -1).all()


def test_gated_digits_polarity_partial_steps():
    part = datasets.gated_digits("test", T=6, decoy_in="polarity", decoy_steps=2, seed=0)
    assert (part.decoy_mask.sum(1) == 2).all()
    assert ((part.decoy_polarity >= 0) == part.decoy_mask).all()
    marker = part.samples[..., -4:].sum(dim=(2, 3, 4))
    assert (marker[~part.decoy_mask] == 0).all() and (marker[part.decoy_mask] > 0).all()


@pytest.mark.parametrize("kwargs, error", [
    (dict(split="val"), "split must be one of"),
    (dict(T=1), "T must be an integer >= 2"),
    (dict(T=4, decoy_steps=4), "at least one step for the digit"),
    (dict(T=4, decoy_in="polarity", decoy_steps=5), "be at most T"),
    (dict(decoy_in="channel"), "decoy_in must be one of"),
    (dict(event_rate=0), r"event_rate must be a number in \(0, 1\]"),
    (dict(marker_density=1.5), r"marker_density must be a number in \(0, 1\]"),
    (dict(gap=-1), "gap must be an integer >= 0"),
])
def test_gated_digits_bad_arguments(kwargs, error):
    with pytest.raises(ValueError, match=error):
        datasets.gated_digits(**kwargs)
