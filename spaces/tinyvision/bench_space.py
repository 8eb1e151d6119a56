"""CPU latency of every endpoint of the demo, as a client sees it (HTTP, queue, upload and download included).

    python spaces/tinyvision/bench_space.py --models_dir outputs/ --repeats 30 [--json bench.json]
    python spaces/tinyvision/bench_space.py --url http://127.0.0.1:7860/    # a server already running

Starts the app on 127.0.0.1 (one torch thread per request, as the Space runs) unless ``--url`` is given,
then calls each named endpoint ``--repeats`` times in a row after two warm-up calls and prints p50 / p95 in
milliseconds as a Markdown table, beside the same percentiles of the handler alone (called in-process: the
model's share; the rest is HTTP, queue, upload and download); finally a burst of ``--burst`` concurrent requests (mixed
endpoints) measures throughput through the queue.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

HERE = Path(__file__).resolve().parent


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


def calls_for(client, workdir: Path, cat_image: Path | None) -> dict[str, tuple]:
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
    calls["render_clock"] = ("/render_clock", (4, 20, 30, 7))
    scenes = any(item["parameter_name"] == "scene" for item in api["/render_clock"]["parameters"])
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
            calls[f"generate ({model}, 8 images)"] = ("/generate", (model, 0, 8))
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


def bench(url: str, repeats: int, burst: int, cat_image: Path | None = None, demo=None) -> dict:
    from gradio_client import Client

    workdir = Path(tempfile.mkdtemp(prefix="tinyvision-bench-"))
    import gradio_client.client  # its per-download temp folders go to workdir, not the system temp dir

    gradio_client.client.tempfile = SimpleNamespace(gettempdir=lambda: str(workdir),
                                                    TemporaryDirectory=tempfile.TemporaryDirectory)
    client = Client(url, verbose=False, download_files=str(workdir))
    results = {}
    calls = calls_for(client, workdir, cat_image)
    for name, (endpoint, args) in calls.items():
        for _ in range(2):
            client.predict(*args, api_name=endpoint)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            client.predict(*args, api_name=endpoint)
            times.append((time.perf_counter() - started) * 1000)
        results[name] = {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95),
                         "mean_ms": statistics.fmean(times), "n": repeats}
        if demo is not None:  # the handler alone, in this process: the model's share of the latency
            handler = next(fn.fn for fn in demo.fns.values() if fn.api_name == endpoint[1:])
            local = _local_args(args, endpoint)
            handler(*local)
            handler_times = []
            for _ in range(repeats):
                started = time.perf_counter()
                handler(*local)
                handler_times.append((time.perf_counter() - started) * 1000)
            results[name]["handler_p50_ms"] = percentile(handler_times, 50)
            results[name]["handler_p95_ms"] = percentile(handler_times, 95)
        print(f"{name}: p50 {results[name]['p50_ms']:.0f} ms, p95 {results[name]['p95_ms']:.0f} ms", flush=True)
    mix = list(calls.values())
    started = time.perf_counter()
    jobs = [client.submit(*mix[i % len(mix)][1], api_name=mix[i % len(mix)][0]) for i in range(burst)]
    finished = [job.result(timeout=600) for job in jobs]
    elapsed = time.perf_counter() - started
    results["_burst"] = {"requests": burst, "succeeded": sum(r is not None for r in finished), "seconds": elapsed,
                         "requests_per_s": burst / elapsed}
    shutil.rmtree(workdir, ignore_errors=True)
    return results


def table(results: dict) -> str:
    lines = ["| endpoint | p50 (ms) | p95 (ms) | handler p50 (ms) | handler p95 (ms) | n |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        if not name.startswith("_"):
            handler = (f"{r['handler_p50_ms']:.0f} | {r['handler_p95_ms']:.0f}" if "handler_p50_ms" in r else "– | –")
            lines.append(f"| {name} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {handler} | {r['n']} |")
    b = results["_burst"]
    lines.append(f"\nBurst: {b['succeeded']}/{b['requests']} concurrent mixed requests succeeded in "
                 f"{b['seconds']:.1f} s ({b['requests_per_s']:.1f} requests/s).")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="Benchmark a running server instead of starting one.")
    parser.add_argument("--models_dir", default="outputs")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--burst", type=int, default=32)
    parser.add_argument("--cat_image", default=None)
    parser.add_argument("--json", default=None, help="Also write the numbers here.")
    args = parser.parse_args(argv)
    demo = None
    url = args.url
    if url is None:
        import torch

        torch.set_num_threads(1)
        app = _load_app()
        demo = app.build_demo(args.models_dir, use_hub=False)
        port = _free_port()
        app.launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
        url = f"http://127.0.0.1:{port}/"
    try:
        results = bench(url, args.repeats, args.burst, Path(args.cat_image) if args.cat_image else None, demo)
    finally:
        if demo is not None:
            demo.close()
    results["_machine"] = {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()}
    print()
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
