"""The explorer's server: time of an update, and a load test of the real server on loopback.

    .venv/bin/python benchmarks/bench_web.py [--steps 500] [--samples 40] [--clients 20]
                                             [--updates 50] [--deadline 180]

UPDATE: the server-side time of one update, measured through Dash's own endpoint
(``POST /_dash-update-component`` via the Flask test client, so that Dash's dispatch and the
JSON encoding of the figures count, and the network does not). The page shows 4 optimizers
(gd, momentum, Nesterov, Adam) × ``--steps`` steps on the line fit and a 150 × 150 surface:

* full update: a new start point (a click on the contour map), so every run, the scene and
  every view are made anew; the target is p50 ≤ 50 ms (the issue's);
* momentum's slider: momentum's α moves, so that run is made anew (the others come from the
  cache of runs) and the scene and views are made anew;
* Adam's slider: the same for Adam's α;
* scrubber: nothing runs; as the page already shows the scene, only the traces that move are
  rendered and sent (a patch; the scene's static traces were made with its first render). The
  first scrub of a scene is timed apart.

The baseline is the same full update with no app at all: ``Config.run()``, ``scene.build`` and
``figures.views`` called directly, and their JSON, timed in the same loop (so the app's
overhead is the difference).

LOAD: the real server (``descentlab.web.app.make_server``, threaded werkzeug) in a subprocess on
127.0.0.1 and a free port, computing one update at a time; ``--clients`` threads each send
``--updates`` POSTs to ``/_dash-update-component`` with the body the page sends
(``update_request``, with the scene it was last sent): a session that mostly scrubs, moves α of
momentum or of Adam to values of its own (new runs, answered as patches of the scene shown), and
twice sends a bad value (which must come back as a message, not a failure). Any HTTP error,
a timeout, or an answer without figures (or, for the bad values, without the message) counts as
an error. Loopback only; the whole test stops at ``--deadline`` seconds.

BROWSER: the page's own scrubbing (:mod:`descentlab.web.motion`) in Debian's Chromium driven by
Playwright (skipped, with a line saying so, when either is missing): the real server in a thread on
127.0.0.1, the explorer at ``--steps`` steps, ``--scrub`` steps of the iterate slider by keyboard.
Each step's frame time is the update's own JavaScript plus the rendering of the frame that shows
it (``descentlabMotion.times``); printed as p50/p99 next to the server's time for the same scrub
(the patch above), with the requests the page made while scrubbing (target 0), the play button's
frames per second, and the time and size of the one answer that carries every iterate's motion.
Targets: p50 ≤ 16 ms, p99 ≤ 50 ms, play ≥ 30 fps.

The script is a report: it exits with status 0 and prints ``TARGET MISSED`` or ``ERRORS`` lines
when something is off.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict

TARGET_P50_S = 0.050
TARGET_FRAME_MS = (16.0, 50.0)  # browser scrub frame p50, p99
TARGET_FPS = 30.0
OPTIMIZERS = ["gd", "momentum", "nesterov", "adam"]
SERVER = ("from descentlab.web.app import create_app, make_server; "
          "s = make_server(create_app(), '127.0.0.1', 0); print(s.server_port, flush=True); "
          "s.serve_forever()")


def controls(steps: int) -> dict:
    """The page's controls on the line fit with the problem's suggested settings (as on load)."""
    from descentlab.web.app import Explorer

    return Explorer().page_values("line-fit", optimizers=OPTIMIZERS, steps=steps) | {"upload": None}


def moved(values: dict, method: str, hyper: str, by: float) -> dict:
    """``values`` with one hyper-parameter control of ``method`` moved by ``by`` (a new dict)."""
    given = values["hyper"]
    return values | {"hyper": given | {method: given[method] | {hyper: given[method][hyper] + by}}}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), linear between order statistics."""
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


# ---- update ---------------------------------------------------------------------------------------

def bench_update(steps: int, samples: int) -> dict[str, list[float]]:
    import plotly.io.json as pio_json

    from descentlab import scene
    from descentlab.config import Config, OptimizerSpec
    from descentlab.web.app import create_app, update_request
    from descentlab.web.figures import views

    app = create_app()
    client = app.server.test_client()
    base = controls(steps)
    client.get("/")

    def post(body: dict) -> tuple[float, dict]:
        t0 = time.perf_counter()
        response = client.post("/_dash-update-component", json=body)
        elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            raise RuntimeError(f"update failed: HTTP {response.status_code}: {response.data[:200]!r}")
        answer = json.loads(response.data)["response"]
        if "view-contour" not in answer:
            raise RuntimeError(f"update gave no figures: {answer.get('message')}")
        return elapsed, answer

    times: dict[str, list[float]] = defaultdict(list)
    post(update_request(app, base, steps, steps))  # warm up imports and caches
    for i in range(samples):
        start = [1.6 + 1e-3 * (i + 1), -0.5]  # a click: everything anew
        elapsed, answer = post(update_request(app, base | {"start": start}, steps, steps, "start-store.data"))
        times["full update"].append(elapsed)
        heavy = moved(base | {"start": start}, "momentum", "lr", -0.01 * (i + 1))
        times["momentum's slider (1 run)"].append(post(update_request(app, heavy, steps, steps))[0])
        adam = moved(heavy, "adam", "lr", -0.01 * (i + 1))
        elapsed, answer = post(update_request(app, adam, steps, steps))
        times["Adam's slider (1 run)"].append(elapsed)
        key = answer["shown-store"]["data"]
        body = update_request(app, adam, (7 * i) % steps, steps, "iterate.value", shown=key)
        times["first scrub of a scene"].append(post(body)[0])
        body = update_request(app, adam, (11 * i) % steps, steps, "iterate.value", shown=key)
        times["scrubber (patch)"].append(post(body)[0])

        # the baseline: the library alone, no app, no cache
        config = Config(problem="line-fit", steps=steps, start=(1.6 + 1e-3 * (i + 1), -0.5),
                        optimizers=tuple(OptimizerSpec(n, n) for n in OPTIMIZERS))
        t0 = time.perf_counter()
        problem, trajectories = config.run()
        t1 = time.perf_counter()
        sc = scene.build(problem, trajectories, resolution=150)
        t2 = time.perf_counter()
        figures = views(sc)
        t3 = time.perf_counter()
        pio_json.to_json_plotly(figures)
        t4 = time.perf_counter()
        times["baseline: library alone"].append(t4 - t0)
        times["  Config.run()"].append(t1 - t0)
        times["  scene.build"].append(t2 - t1)
        times["  figures.views"].append(t3 - t2)
        times["  JSON"].append(t4 - t3)
    return times


# ---- load -----------------------------------------------------------------------------------------

def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.strip().isdigit():
        proc.kill()
        raise RuntimeError(f"the server did not start (it printed {line!r})")
    return proc, f"http://127.0.0.1:{int(line)}/"


def warm_up(url: str, steps: int) -> None:
    """Load the page and make one update, so that imports and the first render are not timed."""
    from descentlab.web.app import create_app, update_request

    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
    body = json.dumps(update_request(create_app(), controls(steps), steps, steps)).encode()
    request = urllib.request.Request(url + "_dash-update-component", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()


def session(client: int, updates: int, steps: int) -> list[tuple[str, dict]]:
    """One user's updates: (kind, controls + scrubber) in the order the page would send them."""
    rng = random.Random(client)
    base = controls(steps)
    state = dict(base)
    plan = []
    bad_at = {updates // 3, 2 * updates // 3}
    for k in range(updates):
        if k in bad_at:
            bad = state["hyper"] | {"momentum": state["hyper"]["momentum"] | {"beta": "high"}}
            plan.append(("bad value", state | {"hyper": bad, "iterate": steps}))
            continue
        roll = rng.random()
        if roll < 0.2:
            state = moved(state, "momentum", "lr", rng.uniform(-0.5, 0.2))
            plan.append(("slider", state | {"iterate": steps}))
        elif roll < 0.3:
            state = moved(state, "adam", "lr", rng.uniform(-0.5, 0.2))
            plan.append(("slider", state | {"iterate": steps}))
        else:
            plan.append(("scrub", state | {"iterate": rng.randrange(steps + 1)}))
    return plan


def load_test(url: str, clients: int, updates: int, steps: int, deadline_s: float) -> dict:
    from descentlab.web.app import create_app, update_request

    app = create_app()  # only to build the request bodies exactly as the page does
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + deadline_s
    done = [0]

    def client_thread(c: int) -> None:
        shown = None
        for kind, values in session(c, updates, steps):
            if time.perf_counter() > stop_at:
                return
            iterate = values.pop("iterate")
            changed = "iterate.value" if kind == "scrub" else "steps.value"
            body = json.dumps(update_request(app, values, iterate, steps, changed, shown=shown)).encode()
            request = urllib.request.Request(url + "_dash-update-component", data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    payload = response.read()
                    status = response.status
            except (urllib.error.URLError, OSError) as err:
                with lock:
                    errors.append(f"{kind}: {err}")
                continue
            elapsed = time.perf_counter() - t0
            answer = json.loads(payload).get("response", {})
            message = answer.get("message", {}).get("children") or ""
            expected = "momentum: beta (β) must be a number"
            ok = status == 200 and (message.startswith(expected) if kind == "bad value"
                                    else "view-contour" in answer and not message)
            with lock:
                latencies[kind].append(elapsed)
                latencies["all"].append(elapsed)
                done[0] += 1
                if not ok:
                    errors.append(f"{kind}: HTTP {status}, answer {str(answer)[:120]}")
            if ok and "shown-store" in answer:
                shown = answer["shown-store"]["data"]

    threads = [threading.Thread(target=client_thread, args=(c,)) for c in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latencies": latencies, "errors": errors, "done": done[0], "wall": time.perf_counter() - t0,
            "planned": clients * updates}


# ---- browser ---------------------------------------------------------------------------------------

FRAME_JS = "() => descentlabMotion.times"


def bench_browser(steps: int, scrub: int) -> dict | str:
    """Scrub ``scrub`` steps by keyboard in Chromium and play 2 s: frame times, requests, fps;
    or a line saying why the browser part did not run."""
    import logging
    import pathlib

    chromium = pathlib.Path(os.environ.get("DESCENTLAB_CHROMIUM", "/usr/bin/chromium"))
    if not (chromium.is_file() and os.access(chromium, os.X_OK)):
        return f"not run: no Chromium at {chromium} (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "not run: no playwright (pip install playwright; its browsers are not needed)"
    from descentlab.web.app import create_app, make_server
    from descentlab.web.motion import size

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = create_app()
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    label = ("(t) => { const e = document.querySelector('#iterate-label');"
             " return e !== null && e.innerText.includes(t); }")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1500, "height": 950})
            page.set_default_timeout(60_000)
            page.goto(f"http://127.0.0.1:{server.server_port}/")
            page.wait_for_selector("#view-contour .js-plotly-plot .main-svg")
            page.wait_for_function(label, arg="iterate t = ")
            page.locator("#steps").fill(str(steps))
            page.wait_for_function(label, arg=f"of {steps}")
            thumb = page.locator("#iterate [role=slider]")
            thumb.focus()
            thumb.press("Home")
            page.wait_for_function(f"() => (descentlabMotion.motion || {{}}).last === {steps}")
            page.wait_for_function(label, arg=f"iterate t = 0 of {steps}")
            page.wait_for_function("() => descentlabMotion.rested(0)")  # its work at rest done
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url) if "_dash-update" in r.url else None)
            page.evaluate("() => { descentlabMotion.times = []; }")
            n = min(scrub, steps)
            for t in range(1, n + 1):
                thumb.press("ArrowRight")
                page.wait_for_function(label, arg=f"iterate t = {t} of {steps}")
            page.wait_for_function(f"() => descentlabMotion.times.length >= {n}")
            times = page.evaluate(FRAME_JS)
            page.click("#play")
            page.wait_for_function("() => descentlabMotion.played > 5")
            a = page.evaluate("() => [descentlabMotion.played, performance.now()]")
            page.wait_for_timeout(2000)
            b = page.evaluate("() => [descentlabMotion.played, performance.now()]")
            page.click("#play")
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    values = app.explorer.page_values(steps=steps)
    explorer = type(app.explorer)()  # a fresh cache: the motion's first making, timed
    t0 = time.perf_counter()
    motion = explorer.motion(values, None)
    made = time.perf_counter() - t0
    return {"times": times, "requests": len(requests), "fps": (b[0] - a[0]) / ((b[1] - a[1]) / 1000),
            "motion_s": made, "motion_bytes": size(motion)}


# ---- report ---------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=500, help="steps per optimizer (default 500)")
    parser.add_argument("--samples", type=int, default=40, help="timed updates of each kind (default 40)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients in the load test")
    parser.add_argument("--updates", type=int, default=50, help="updates per client in the load test")
    parser.add_argument("--deadline", type=float, default=180.0,
                        help="stop the load test after this many seconds")
    parser.add_argument("--scrub", type=int, default=100,
                        help="browser scrub steps by keyboard (default 100)")
    parser.add_argument("--no-browser", action="store_true", help="leave out the browser part")
    args = parser.parse_args(argv)
    for name in ("steps", "samples", "clients", "updates", "scrub"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")

    print(f"descentlab explorer, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}")
    print(f"\nUPDATE: 4 optimizers × {args.steps} steps + a 150 × 150 surface, server side, "
          f"{args.samples} samples each")
    times = bench_update(args.steps, args.samples)
    print(f"{'':28s}{'p50':>10s}{'p99':>11s}")
    for kind, values in times.items():
        print(f"{kind:28s}{ms(statistics.median(values))} {ms(percentile(values, 99))}")
    p50 = statistics.median(times["full update"])
    base = statistics.median(times["baseline: library alone"])
    print(f"full update / library alone = {p50 / base:.2f}")
    verdict = "ok" if p50 <= TARGET_P50_S else "TARGET MISSED"
    print(f"full update p50 = {p50 * 1000:.1f} ms (target ≤ {TARGET_P50_S * 1000:.0f} ms): {verdict}")

    if not args.no_browser:
        print(f"\nBROWSER: {min(args.scrub, args.steps)} keyboard scrub steps in Chromium, line fit, "
              f"the featured optimizers × {args.steps} steps")
        found = bench_browser(args.steps, args.scrub)
        if isinstance(found, str):
            print(found)
        else:
            frames, server = found["times"], times["scrubber (patch)"]
            f50, f99 = statistics.median(frames), percentile(frames, 99)
            print(f"{'scrub, one step':28s}{'p50':>10s}{'p99':>11s}")
            print(f"{'  server (patch, above)':28s}{ms(statistics.median(server))} "
                  f"{ms(percentile(server, 99))}")
            print(f"{'  browser frame (no server)':28s}{f50:7.1f} ms {f99:7.1f} ms   "
                  f"(min {min(frames):.1f} ms)")
            print(f"requests while scrubbing: {found['requests']}; "
                  f"play: {found['fps']:.1f} frames per second")
            print(f"motion of a scene (sent once): made in {ms(found['motion_s'])}, "
                  f"{found['motion_bytes'] / 1e6:.2f} MB of JSON")
            ok = f50 <= TARGET_FRAME_MS[0] and f99 <= TARGET_FRAME_MS[1] and found["fps"] >= TARGET_FPS \
                and found["requests"] == 0
            print(f"browser scrub p50 ≤ {TARGET_FRAME_MS[0]:g} ms, p99 ≤ {TARGET_FRAME_MS[1]:g} ms, play ≥ "
                  f"{TARGET_FPS:g} fps, 0 requests: {'ok' if ok else 'TARGET MISSED'}")

    print(f"\nLOAD: {args.clients} clients × {args.updates} updates on 127.0.0.1 (server in a subprocess)")
    proc, url = start_server()
    try:
        warm_up(url, args.steps)
        result = load_test(url, args.clients, args.updates, args.steps, args.deadline)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lat = result["latencies"]
    for kind in ("all", "slider", "scrub", "bad value"):
        if lat.get(kind):
            print(f"{kind:12s} n = {len(lat[kind]):5d}   p50 {ms(statistics.median(lat[kind]))}   "
                  f"p99 {ms(percentile(lat[kind], 99))}")
    print(f"{result['done']} of {result['planned']} updates in {result['wall']:.1f} s "
          f"({result['done'] / result['wall']:.0f} per second), errors: {len(result['errors'])}")
    if result["done"] < result["planned"]:
        print(f"DEADLINE: stopped after {args.deadline:g} s")
    if result["errors"]:
        print("ERRORS:", *result["errors"][:5], sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
