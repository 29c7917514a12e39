"""Headless Chromium for page tests: installed with apt when missing (CI starts from a fresh machine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser")
# Flags that work on this machine kind: no sandbox as root, nothing fetched from the network.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
)


class ChromiumUnavailable(Exception):
    """apt itself is not there: the only case in which a page test may be skipped."""


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_chromium(timeout: float = 900) -> str:
    """The chromium binary, installing Debian's package first if needed (we are root on CI)."""
    found = find_chromium()
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise ChromiumUnavailable(
            "chromium is not installed and apt-get is unavailable to install it "
            "(install Debian's `chromium` package to run the page tests)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", "DPkg::Lock::Timeout=300"]  # another apt run (unattended upgrades) may hold the lock
    for command in ([apt, *wait, "update"], [apt, *wait, "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    found = find_chromium()
    if not found:
        raise RuntimeError("apt-get installed chromium but no chromium binary is on PATH")
    return found


@dataclass
class PageLoad:
    dom: str
    stderr: str
    screenshot: Path | None


def load_page(
    binary: str, page: Path, screenshot: Path | None = None, width: int = 1400, height: int = 2000, timeout: float = 120
) -> PageLoad:
    """Load a local page twice (DOM dump, then screenshot) in a fresh profile; collect console output."""
    url = page.resolve().as_uri()
    stderr = []
    with tempfile.TemporaryDirectory(prefix="dr-chromium-") as profile:
        common = [
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            f"--window-size={width},{height}",
        ]
        dumped = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=timeout)
        stderr.append(dumped.stderr)
        if dumped.returncode != 0:
            raise RuntimeError(f"chromium --dump-dom failed ({dumped.returncode}):\n{dumped.stderr[-3000:]}")
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            shot = subprocess.run(
                [*common, f"--screenshot={screenshot}", url], capture_output=True, text=True, timeout=timeout
            )
            stderr.append(shot.stderr)
            if shot.returncode != 0 or not screenshot.exists():
                raise RuntimeError(f"chromium --screenshot failed ({shot.returncode}):\n{shot.stderr[-3000:]}")
    return PageLoad(dom=dumped.stdout, stderr="\n".join(stderr), screenshot=screenshot)


def console_errors(stderr: str) -> list[str]:
    """Lines where the page itself complained: script errors or console messages, failed loads."""
    markers = ("Uncaught", "CONSOLE", "console", "Failed to load resource", "Refused to")
    return [line for line in stderr.splitlines() if any(m in line for m in markers)]


# Measures the laid-out page in the browser: the test copies the page and appends this script (the pages
# themselves carry none), Chromium runs it on load and --dump-dom returns what it wrote.
LAYOUT_PROBE = r"""
<script>
(function () {
  const vw = window.innerWidth, vh = window.innerHeight;
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\s+/).join(".") : "");
  const out = {vw: vw, vh: vh, scrollWidth: document.documentElement.scrollWidth, overflowing: [], marks: {}};
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest(".scroll") && !el.classList.contains("scroll")) continue;  // wide tables scroll in their box
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > vw + 1 || r.left < -1)) out.overflowing.push(describe(el));
  }
  for (const [name, selector] of Object.entries(MARKS)) {
    out.marks[name] = Array.from(document.querySelectorAll(selector)).map((el) => {
      const r = el.getBoundingClientRect();
      const box = el.closest(".scroll");
      const clip = box ? box.getBoundingClientRect() : {left: 0, right: vw};
      return {text: el.textContent.trim().slice(0, 60), top: r.top, bottom: r.bottom, left: r.left, right: r.right,
              visible: r.width > 0 && r.top >= 0 && r.bottom <= vh && r.left >= Math.max(0, clip.left) - 1 &&
                       r.right <= Math.min(vw, clip.right) + 1};
    });
  }
  document.body.setAttribute("data-layout", JSON.stringify(out));
})();
</script>
"""


def measure_layout(
    binary: str, page: Path, marks: dict[str, str], width: int, height: int, screenshot: Path | None = None
) -> dict:
    """Where things are on the first screen: {vw, vh, scrollWidth, overflowing: [...], marks: {name: [boxes]}}.

    marks maps a name to a CSS selector; each matching element reports its box and whether it is fully
    visible in the first screen (inside the viewport and inside the scroll box that holds it)."""
    import html as html_lib
    import json
    import re

    probe = LAYOUT_PROBE.replace("MARKS", json.dumps(marks))
    text = page.read_text()
    copy = page.with_name(f".layout-{width}-{page.name}")
    copy.write_text(text.replace("</body>", probe + "</body>") if "</body>" in text else text + probe)
    try:
        loaded = load_page(binary, copy, screenshot, width=width, height=height)
    finally:
        copy.unlink(missing_ok=True)
    found = re.search(r'data-layout="([^"]*)"', loaded.dom)
    if not found:
        raise RuntimeError(f"the layout probe did not run on {page}:\n{loaded.stderr[-2000:]}")
    return json.loads(html_lib.unescape(found.group(1)))
