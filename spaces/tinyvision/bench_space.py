"""CPU latency of every endpoint of the demo, as the page sees it (upload, queue, inference, downloads).

    python spaces/tinyvision/bench_space.py --untrained_models --repeats 30 --burst 32 [--gradio_client] [--json b.json]
    python spaces/tinyvision/bench_space.py --models_dir outputs/ --repeats 30
    python spaces/tinyvision/bench_space.py --url http://127.0.0.1:7860/    # a server already running

Starts ``app.py`` on 127.0.0.1 in its own process (as the Space runs it: 2 requests at a time, one torch thread
each) unless ``--url`` is given, serving ``--models_dir`` or, with ``--untrained_models``, untrained models of the
default sizes (random weights cost the same time as trained ones). Then calls each named endpoint ``--repeats``
times in a row after two warm-up calls, one request at a time, over Gradio's HTTP protocol as the page speaks it
(:class:`HTTPCaller`: upload, join the queue, server-sent events, output files downloaded 6 at a time), and prints
p50 / p95 in milliseconds as a Markdown table, beside the same percentiles of the handler alone (called in this
process: the model's share) and, with ``--gradio_client``, of ``gradio_client``'s ``predict``. Finally a burst of
``--burst`` concurrent requests (the endpoints in turn): how many succeeded, their p50 / p95, and throughput.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent


def make_untrained_models(folder: Path) -> Path:
    """Untrained models of the real default sizes in every slot, for latency (random weights compute as fast).

    Classifiers: each ``--preset`` on 28×28 grayscale (Fashion-MNIST) and 32×32 RGB (CIFAR-10); the clock slot:
    ``ClockPhotoReaderConfig()`` (256 × 256 letterboxed, the architecture ``train_clock.py`` trains) with its
    ``detection_threshold`` at 0, so that every reading takes the *found* path (overlay drawn), and a
    single-stage hybrid reader (``ClockReaderConfig(head="hybrid")``, 96 × 96); the GAN and VAE of the
    ``cpu`` profiles (64 × 64 RGB).
    """
    import torch

    from tinyvision.data import image_processor_for
    from tinyvision.models import ClockPhotoReader, ClockPhotoReaderConfig, ClockReader, ClockReaderConfig
    from tinyvision.models.modeling_gan import GANConfig, GANModel
    from tinyvision.models.modeling_vae import VAEConfig, VAEModel
    from tinyvision.recipes import RECIPES
    from tinyvision.tasks.classification import MODEL_FAMILIES

    torch.manual_seed(0)
    for slug, size, channels, labels in (("fashion-mnist", 28, 1, 10), ("cifar10", 32, 3, 10)):
        for preset, recipe in RECIPES["classifier"].items():
            config_class, model_class = MODEL_FAMILIES[recipe.model]
            config = config_class(image_size=size, num_channels=channels,
                                  id2label={i: f"class {i}" for i in range(labels)}, **recipe.config)
            model_class(config).eval().save_pretrained(folder / f"{slug}-{preset}")
            image_processor_for(image_size=size, num_channels=channels).save_pretrained(folder / f"{slug}-{preset}")
    photo = ClockPhotoReaderConfig(detection_threshold=0.0)
    ClockPhotoReader(photo).eval().save_pretrained(folder / "clock-reader")
    image_processor_for(image_size=photo.image_size, num_channels=photo.num_channels,
                        letterbox=True).save_pretrained(folder / "clock-reader")
    hybrid = ClockReaderConfig(image_size=96, head="hybrid")
    ClockReader(hybrid).eval().save_pretrained(folder / "clock-reader-hybrid")
    image_processor_for(image_size=96, num_channels=hybrid.num_channels).save_pretrained(folder / "clock-reader-hybrid")
    GANModel(GANConfig(**RECIPES["gan"]["cpu"].config)).eval().save_pretrained(folder / "cat-gan")
    VAEModel(VAEConfig(**RECIPES["vae"]["cpu"].config)).eval().save_pretrained(folder / "cat-vae")
    return folder


def _load_app():
    spec = importlib.util.spec_from_file_location("tinyvision_space_app", HERE / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def calls_for(client, workdir: Path, cat_image: Path | None, gen_count: int = 16) -> dict[str, tuple]:
    """One representative call per endpoint the server offers: name → (api_name, args)."""
    from gradio_client import handle_file
    from PIL import Image

    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    calls: dict[str, tuple] = {}

    def choices(endpoint: str, parameter: str) -> list:
        for item in api[endpoint]["parameters"]:
            if item["parameter_name"] == parameter:
                return list(item["python_type"]["type"].split("Literal[", 1)[-1].rstrip("]").replace("'", "")
                            .split(", "))
        return []

    if "/classify" in api:
        for model in choices("/classify", "model_name"):
            dataset = "cifar10" if model.startswith("CIFAR") else "fashion_mnist"
            example = sorted((HERE / "examples" / dataset).glob("*.png"))[7]
            calls[f"classify ({model})"] = ("/classify", (model, handle_file(str(example)), False))
        sketch = workdir / "sketch.png"
        pixels = np.zeros((420, 420, 4), dtype=np.uint8)
        pixels[80:340, 190:230] = (0, 0, 0, 255)
        Image.fromarray(pixels, "RGBA").save(sketch)
        model = choices("/classify", "model_name")[0]
        calls["classify_sketch"] = ("/classify_sketch", (model, {"background": None, "layers": [],
                                                                 "composite": handle_file(str(sketch))}))
    scenes = any(item["parameter_name"] == "scene" for item in api["/render_clock"]["parameters"])
    calls["render_clock"] = ("/render_clock", (4, 20, 30, 7, False) if scenes else (4, 20, 30, 7))
    if scenes:  # a photo-like 640 × 480 scene with a clock in it
        calls["render_clock (scene)"] = ("/render_clock", (4, 20, 30, 7, True))
    if "/read_clock" in api:
        clock = client.predict(4, 20, 30, 7, api_name="/render_clock")[0]
        readers = choices("/read_clock", "reader_name")
        calls["read_clock"] = ("/read_clock", (handle_file(clock), readers[0], "4:20", None, False))
        if scenes:
            scene = client.predict(4, 20, 30, 7, True, api_name="/render_clock")[0]
            calls["read_clock (scene)"] = ("/read_clock", (handle_file(scene), readers[0], "4:20", None, False))
        if len(readers) > 1:
            calls[f"read_clock (all {len(readers)} heads)"] = ("/read_clock", (handle_file(clock), readers[0],
                                                                              "4:20", None, True))
    if "/generate" in api:
        for model in choices("/generate", "model_name"):
            calls[f"generate ({model}, {gen_count} images)"] = ("/generate", (model, 0, gen_count))
            calls[f"interpolate ({model}, 8 steps)"] = ("/interpolate", (model, 1, 2, 8))
    if "/reconstruct" in api:
        if cat_image is None:
            cat_image = workdir / "cat.png"
            Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(cat_image)
        calls["reconstruct"] = ("/reconstruct", (handle_file(str(cat_image)),))
    return calls


def _local_args(args, endpoint: str):
    """The client's arguments as the handler receives them (file dicts → paths, the sketch → PIL)."""
    from PIL import Image

    def convert(value):
        if isinstance(value, dict) and "path" in value:
            return value["path"]
        if isinstance(value, dict):
            return {key: convert(item) for key, item in value.items()}
        return value

    converted = [convert(value) for value in args]
    if endpoint == "/classify_sketch":
        converted[1] = {"composite": Image.open(converted[1]["composite"])}
    return converted


class HTTPCaller:
    """Gradio's HTTP protocol as the page speaks it: upload the input files, join the queue, read the server-sent
    events as they arrive, download every output file. (gradio_client polls its event queue every 50 ms, which
    adds 100–150 ms of its own to each call; a browser's EventSource does not.)"""

    def __init__(self, url: str):
        import httpx

        self.base = url.rstrip("/") + "/gradio_api"
        self.http = httpx.Client(timeout=600, limits=httpx.Limits(max_connections=256))
        config = self.http.get(url.rstrip("/") + "/config").json()
        self.fn_index = {dep["api_name"]: dep["id"] for dep in config["dependencies"] if dep.get("api_name")}

    def _upload(self, value):
        if isinstance(value, dict) and value.get("meta", {}).get("_type") == "gradio.FileData" and "url" not in value:
            with open(value["path"], "rb") as file:
                response = self.http.post(f"{self.base}/upload", files={"files": (Path(value["path"]).name, file)})
            response.raise_for_status()
            return {"path": response.json()[0], "meta": {"_type": "gradio.FileData"},
                    "orig_name": Path(value["path"]).name}
        if isinstance(value, dict):
            return {key: self._upload(item) for key, item in value.items()}
        return value

    def _urls(self, value) -> list[str]:
        if isinstance(value, dict) and isinstance(value.get("url"), str) and "path" in value:
            return [value["url"]]
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
        return [url for item in items for url in self._urls(item)]

    def _get(self, url: str) -> int:
        response = self.http.get(url)
        response.raise_for_status()
        return len(response.content)

    def _download(self, outputs) -> int:
        """Fetch every file the outputs name, up to 6 at a time as a browser does; returns the bytes read."""
        urls = self._urls(outputs)
        if len(urls) <= 1:
            return sum(map(self._get, urls))
        with ThreadPoolExecutor(6) as pool:
            return sum(pool.map(self._get, urls))

    def predict(self, *args, api_name: str):
        session = uuid.uuid4().hex
        data = [self._upload(value) for value in args]
        response = self.http.post(f"{self.base}/queue/join", json={
            "data": data, "fn_index": self.fn_index[api_name.lstrip("/")], "session_hash": session,
            "event_data": None, "trigger_id": None})
        response.raise_for_status()
        with self.http.stream("GET", f"{self.base}/queue/data", params={"session_hash": session}) as events:
            for line in events.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    if not message.get("success"):
                        raise RuntimeError(f"{api_name} failed: {message.get('output')}")
                    outputs = message["output"]["data"]
                    self._download(outputs)
                    return outputs
        raise RuntimeError(f"{api_name}: the event stream ended without a result")


def _timed(call, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _burst(predict, mix: list[tuple], burst: int) -> dict:
    """``burst`` requests at once (the endpoints of ``mix`` in turn), each on its own thread."""
    def one(i):
        endpoint, args = mix[i % len(mix)]
        started = time.perf_counter()
        try:
            predict(*args, api_name=endpoint)
        except Exception as error:  # noqa: BLE001 - counted and reported, not raised
            return None, repr(error)[:200]
        return (time.perf_counter() - started) * 1000, None

    started = time.perf_counter()
    with ThreadPoolExecutor(burst) as pool:
        outcomes = list(pool.map(one, range(burst)))
    elapsed = time.perf_counter() - started
    latencies = [ms for ms, _ in outcomes if ms is not None]
    return {"requests": burst, "succeeded": len(latencies), "seconds": elapsed, "requests_per_s": burst / elapsed,
            "p50_ms": percentile(latencies, 50) if latencies else None,
            "p95_ms": percentile(latencies, 95) if latencies else None,
            "errors": sorted({error for _, error in outcomes if error})}


def bench(url: str, repeats: int, burst: int, cat_image: Path | None = None, demo=None, *, gen_count: int = 16,
          with_gradio_client: bool = False, baseline_url: str | None = None) -> dict:
    from gradio_client import Client

    workdir = Path(tempfile.mkdtemp(prefix="tinyvision-bench-"))
    import gradio_client.client  # its per-download temp folders go to workdir, not the system temp dir

    gradio_client.client.tempfile = SimpleNamespace(gettempdir=lambda: str(workdir),
                                                    TemporaryDirectory=tempfile.TemporaryDirectory)
    client = Client(url, verbose=False, download_files=str(workdir))
    http = HTTPCaller(url)
    # Another server (say, an older app.py) timed call for call in turn with this one: both see the same load.
    baseline = HTTPCaller(baseline_url) if baseline_url else None
    results = {}
    calls = calls_for(client, workdir, cat_image, gen_count)
    for name, (endpoint, args) in calls.items():
        callers = [http] if baseline is None else [http, baseline]
        for caller in callers * 2:  # warm-up
            caller.predict(*args, api_name=endpoint)
        times = {caller: [] for caller in callers}
        for repeat in range(repeats):
            for caller in callers[::-1] if repeat % 2 else callers:  # alternate which server goes first
                times[caller] += _timed(partial(caller.predict, *args, api_name=endpoint), 1)
        results[name] = {"p50_ms": percentile(times[http], 50), "p95_ms": percentile(times[http], 95),
                         "mean_ms": statistics.fmean(times[http]), "n": repeats}
        if baseline is not None:
            results[name]["baseline_p50_ms"] = percentile(times[baseline], 50)
            results[name]["baseline_p95_ms"] = percentile(times[baseline], 95)
        if with_gradio_client:
            client.predict(*args, api_name=endpoint)
            times = _timed(partial(client.predict, *args, api_name=endpoint), repeats)
            results[name]["gradio_client_p50_ms"] = percentile(times, 50)
            results[name]["gradio_client_p95_ms"] = percentile(times, 95)
        if demo is not None:  # the handler alone, in this process: the model's share of the latency
            handler = next(fn.fn for fn in demo.fns.values() if fn.api_name == endpoint[1:])
            local = _local_args(args, endpoint)
            handler(*local)
            times = _timed(partial(handler, *local), repeats)
            results[name]["handler_p50_ms"] = percentile(times, 50)
            results[name]["handler_p95_ms"] = percentile(times, 95)
        print(f"{name}: p50 {results[name]['p50_ms']:.0f} ms, p95 {results[name]['p95_ms']:.0f} ms", flush=True)
    mix = list(calls.values())
    results["_burst"] = _burst(http.predict, mix, burst)
    if baseline is not None:
        results["_burst_baseline"] = _burst(baseline.predict, mix, burst)
    if with_gradio_client:
        results["_burst_gradio_client"] = _burst(client.predict, mix, burst)
    shutil.rmtree(workdir, ignore_errors=True)
    return results


def table(results: dict) -> str:
    rows = [r for name, r in results.items() if not name.startswith("_")]
    base = any("baseline_p50_ms" in r for r in rows)
    client = any("gradio_client_p50_ms" in r for r in rows)
    header = ("| endpoint |" + (" baseline p50 | baseline p95 |" if base else "") + " p50 (ms) | p95 (ms) |"
              + (" gradio_client p50 | gradio_client p95 |" if client else ""))
    lines = [header + " handler p50 (ms) | handler p95 (ms) | n |",
             "|---|" + "---:|" * (5 + 2 * client + 2 * base)]
    for name, r in results.items():
        if name.startswith("_"):
            continue
        cells = [f"{r['baseline_p50_ms']:.0f}", f"{r['baseline_p95_ms']:.0f}"] if base else []
        cells += [f"{r['p50_ms']:.0f}", f"{r['p95_ms']:.0f}"]
        if client:
            cells += [f"{r['gradio_client_p50_ms']:.0f}", f"{r['gradio_client_p95_ms']:.0f}"]
        cells += ([f"{r['handler_p50_ms']:.0f}", f"{r['handler_p95_ms']:.0f}"] if "handler_p50_ms" in r else ["–", "–"])
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {r['n']} |")
    for key, how in (("_burst_baseline", "over HTTP, baseline server"), ("_burst", "over HTTP"),
                     ("_burst_gradio_client", "through gradio_client")):
        if key in results:
            b = results[key]
            lines.append(f"\nBurst {how}: {b['succeeded']}/{b['requests']} concurrent mixed requests succeeded in "
                         f"{b['seconds']:.1f} s ({b['requests_per_s']:.1f} requests/s; per request p50 "
                         f"{b['p50_ms']:.0f} ms, p95 {b['p95_ms']:.0f} ms)." + (f" Errors: {b['errors']}" if b["errors"] else ""))
    machine = results.get("_machine")
    if machine:
        lines.append(f"\nLoad average (1, 5, 15 min) before / after: {machine['load_before']} / {machine['load_after']}.")
    return "\n".join(lines)


def _start_server(models_dir, port: int, timeout: float = 600):
    """``app.py`` in its own process, as the Space runs it; returns once it answers."""
    import httpx

    server = subprocess.Popen([sys.executable, str(HERE / "app.py"), "--models_dir", str(models_dir), "--offline",
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"app.py exited with {server.returncode} before it served")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/config", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise RuntimeError(f"app.py did not answer within {timeout:.0f} s")


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="Benchmark a running server instead of starting one.")
    parser.add_argument("--models_dir", default="outputs")
    parser.add_argument("--untrained_models", action="store_true",
                        help="Serve untrained models of the default sizes, made in --make_models or a temporary folder.")
    parser.add_argument("--make_models", default=None,
                        help="With --untrained_models: make them here and keep them (for --baseline_url's server).")
    parser.add_argument("--baseline_url", default=None,
                        help="Also time this server, call for call in turn with ours (a before/after under one load).")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--burst", type=int, default=32)
    parser.add_argument("--gen_count", type=int, default=16, help="Images per /generate call.")
    parser.add_argument("--cat_image", default=None)
    parser.add_argument("--gradio_client", action="store_true",
                        help="Also time every call (and the burst) through gradio_client.")
    parser.add_argument("--in_process", action="store_true",
                        help="Serve from this process (the client then shares the server's GIL) instead of app.py in a "
                             "subprocess, as the Space runs it.")
    parser.add_argument("--json", default=None, help="Also write the numbers here.")
    args = parser.parse_args(argv)
    demo = server = None
    url = args.url
    models = None
    if url is None:
        import torch

        torch.set_num_threads(1)
        models_dir = args.models_dir
        if args.untrained_models:
            if args.make_models:
                models_dir = make_untrained_models(Path(args.make_models))
            else:
                models = Path(tempfile.mkdtemp(prefix="tinyvision-bench-models-"))
                models_dir = make_untrained_models(models)
        app = _load_app()
        demo = app.build_demo(models_dir, use_hub=False)  # in this process: the handler-alone column
        port = _free_port()
        url = f"http://127.0.0.1:{port}/"
        if args.in_process:
            app.launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
        else:
            server = _start_server(models_dir, port)
    load_before = _load()
    try:
        results = bench(url, args.repeats, args.burst, Path(args.cat_image) if args.cat_image else None, demo,
                        gen_count=args.gen_count, with_gradio_client=args.gradio_client, baseline_url=args.baseline_url)
    finally:
        if demo is not None:
            demo.close()
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        if models is not None:
            shutil.rmtree(models, ignore_errors=True)
    results["_machine"] = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                           "python": platform.python_version(), "load_before": load_before, "load_after": _load(),
                           "command": "python spaces/tinyvision/bench_space.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    print()
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
