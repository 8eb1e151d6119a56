"""Drive the running demo in headless Chromium: each tab's main action, what the page shows, a screenshot.

    python spaces/tinyvision/app.py --models_dir outputs/ --port 7860 &
    python spaces/tinyvision/screenshots.py --url http://127.0.0.1:7860/ --cat_image cat.png

Used by ``tests/test_space.py`` (tiny models) and to make the committed ``screenshots/`` (real models).
Chromium is Debian's (``/usr/bin/chromium``) driven by Playwright for Python through ``executable_path``
(no browser download), with the flags that keep it quiet on a closed network.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def launch_browser(playwright, executable_path: str = CHROMIUM):
    return playwright.chromium.launch(executable_path=executable_path, headless=True, args=CHROMIUM_FLAGS)


def _upload(page, elem_id: str, path) -> None:
    page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))
    page.locator(f"#{elem_id} img").first.wait_for(state="visible")


def capture(url: str, out_dir, *, classify_image=None, cat_image=None, executable_path: str = CHROMIUM,
            timeout_s: float = 60, prefix: str = "", sketch: bool = False, generator: str | None = None,
            scene: bool = False) -> dict:
    """Open ``url``, run every tab that has its controls, screenshot each; return what the page showed.

    The result maps each tab to the text (or count) read off the page after its action, and
    ``screenshots`` to the PNG files written to ``out_dir``. A tab whose models are missing is
    screenshotted as it is (its message) and reported under ``missing``. ``sketch`` also draws on the
    sketchpad and classifies the drawing: slow here (the canvas is WebGL, which headless Chromium without a
    GPU renders in software: about 2 s per mouse event on a busy 2-core machine), so the tests leave it out.
    ``scene`` ticks *Photo-like scene* before making the clock (the photo reader's screenshot). The clock tab's
    headline is a time or, from the photo reader, "No clock found".
    """
    from playwright.sync_api import expect, sync_playwright

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classify_image = Path(classify_image or HERE / "examples" / "fashion_mnist" / "07_sneaker.png")
    timeout_ms = timeout_s * 1000
    seen: dict = {"screenshots": [], "missing": [], "console_errors": []}

    clock = [time.perf_counter()]

    def mark(label: str) -> None:
        now = time.perf_counter()
        seen.setdefault("timings", {})[label] = round(now - clock[0], 2)
        clock[0] = now

    def shot(name: str, page) -> None:
        mark(name)
        path = out_dir / f"{prefix}{name}.png"
        page.screenshot(path=str(path), full_page=True)
        seen["screenshots"].append(path)

    with sync_playwright() as playwright:
        browser = launch_browser(playwright, executable_path)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
            page.set_default_timeout(timeout_ms)
            page.on("pageerror", lambda error: seen["console_errors"].append(str(error)))
            page.goto(url, wait_until="domcontentloaded")
            expect(page.get_by_role("tab", name="Classify")).to_be_visible(timeout=timeout_ms)

            # ------------------------------------------------------------------ Classify: upload → top-5
            page.get_by_role("tab", name="Classify").click()
            if page.locator("#classify-button").count():
                _upload(page, "classify-image", classify_image)
                page.locator("#classify-button").click()
                result = page.locator("#classify-result")
                expect(result.locator("[data-testid=label-output-value], .output-class").first).to_be_visible(
                    timeout=timeout_ms)
                expect(result).to_contain_text(re.compile(r"\d+(\.\d+)?%"), timeout=timeout_ms)
                seen["classify"] = result.inner_text()
                shot("classify", page)
            if page.locator("#classify-button").count() and sketch:
                # ... and a sketch: drag the mouse over the sketchpad's canvas, then classify the drawing.
                result = page.locator("#classify-result")
                page.get_by_role("tab", name="Sketch").click()
                page.locator("#classify-sketch button[aria-label='Brush']").click()
                canvas = page.locator("#classify-sketch canvas").first
                canvas.wait_for(state="visible")
                box = canvas.bounding_box()
                x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
                for stroke in (((0.42, 0.1), (0.40, 0.92)), ((0.58, 0.1), (0.60, 0.92)), ((0.42, 0.1), (0.58, 0.1))):
                    (ax, ay), (bx, by) = stroke
                    page.mouse.move(x0 + ax * w, y0 + ay * h)
                    page.mouse.down()
                    page.mouse.move(x0 + bx * w, y0 + by * h, steps=3)
                    page.mouse.up()
                mark("draw")
                page.locator("#classify-sketch-button").click()
                expect(page.locator("#classify-result .progress-text, #classify-result .eta-bar")).to_have_count(
                    0, timeout=timeout_ms)
                expect(result).to_contain_text(re.compile(r"\d+(\.\d+)?%"), timeout=timeout_ms)
                seen["classify_sketch"] = result.inner_text()
                shot("classify-sketch", page)
            elif not page.locator("#classify-button").count():
                seen["missing"].append("classify")
                shot("classify", page)

            # ---------------------------------------------- Tell the time: make a clock → it is read
            page.get_by_role("tab", name="Tell the time").click()
            if scene:
                page.locator("#scene-checkbox input").check()
            page.locator("#make-clock-button").click()
            expect(page.locator("#clock-image img").first).to_be_visible(timeout=timeout_ms)
            if page.locator("#read-clock-button").count():
                headline = page.locator("#clock-headline")
                expect(headline).to_contain_text(re.compile("The clock reads|No clock found"), timeout=timeout_ms)
                expect(page.locator("#clock-overlay img").first).to_be_visible(timeout=timeout_ms)
                seen["clock"] = headline.inner_text()
            else:
                seen["missing"].append("clock")
            seen["set_time"] = page.locator("#set-time textarea, #set-time input").first.input_value()
            shot("tell-the-time", page)

            # ---------------------------------------- Generate cats: grid, interpolation, reconstruction
            page.get_by_role("tab", name="Generate cats").click()
            if page.locator("#generate-button").count():
                if generator:  # "GAN" or "VAE"; default: the tab's first
                    page.get_by_label(generator, exact=True).check()
                page.locator("#generate-button").click()
                grid = page.locator("#cats-grid img").first  # one PNG: the cats in rows of 8
                expect(grid).to_be_visible(timeout=timeout_ms)
                seen["cats_grid_width"] = grid.evaluate("img => img.naturalWidth")
                page.locator("#interpolate-button").click()
                expect(page.locator("#cats-strip img").first).to_be_visible(timeout=timeout_ms)
                seen["strip_width"] = page.locator("#cats-strip img").first.evaluate("img => img.naturalWidth")
                if page.locator("#reconstruct-button").count() and cat_image is not None:
                    _upload(page, "cat-image", cat_image)
                    page.locator("#reconstruct-button").click()
                    expect(page.locator("#cat-reconstruction img").first).to_be_visible(timeout=timeout_ms)
                    seen["reconstruction_width"] = page.locator("#cat-reconstruction img").first.evaluate(
                        "img => img.naturalWidth")
            else:
                seen["missing"].append("cats")
            seen["cats_text"] = page.locator("body").inner_text()
            shot("generate-cats", page)
        finally:
            browser.close()
    return seen


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--out_dir", default=str(HERE / "screenshots"))
    parser.add_argument("--classify_image", default=None)
    parser.add_argument("--cat_image", default=None)
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--sketch", action="store_true", help="Also draw on the sketchpad (slow without a GPU).")
    parser.add_argument("--generator", default=None, help="GAN or VAE for the cats tab (default: the first).")
    parser.add_argument("--scene", action="store_true",
                        help="Tell the time: make a photo-like scene, not a drawn clock.")
    args = parser.parse_args(argv)
    seen = capture(args.url, args.out_dir, classify_image=args.classify_image, cat_image=args.cat_image,
                   executable_path=args.chromium, timeout_s=180, sketch=args.sketch, generator=args.generator,
                   scene=args.scene)
    for key, value in seen.items():
        if key != "cats_text":
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
