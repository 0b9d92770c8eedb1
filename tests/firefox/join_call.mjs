// Joins a call link in Debian's stock Firefox ESR (WebDriver BiDi, fake camera and microphone),
// prints {"ok": true, ...} once `expected` remote videos play and the camera has encoded frames on
// every simulcast layer it sends, then stays in the call until stdin closes. The report carries what
// Firefox answered (`simulcast`: the answer's a=simulcast line, `rids`: its a=rid lines) and its
// camera's outbound-rtp per layer (`outbound`: rid, framesEncoded, frameWidth, frameHeight).
// Usage: node join_call.mjs <url> <expected remote videos> <timeout ms>
import puppeteer from "puppeteer-core";

const [url, expected = "1", timeout = "30000"] = process.argv.slice(2);
const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: process.env.FIREFOX_PATH || "/usr/bin/firefox-esr",
  headless: true,
  extraPrefsFirefox: {
    "media.navigator.streams.fake": true,
    "media.navigator.permission.disabled": true,
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    // The Firefox equivalents of Chromium's test flags: gather on loopback, real host addresses.
    "media.peerconnection.ice.loopback": true,
    "media.peerconnection.ice.obfuscate_host_addresses": false,
  },
});
// Keep the SDK's peer connections (wrapping the constructor before the page's scripts run).
const KEEP_PEER_CONNECTIONS = () => {
  window.__peerConnections = [];
  const NativePeerConnection = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(...args) {
      super(...args);
      window.__peerConnections.push(this);
    }
  };
};
// The camera's layers as sent, once each has encoded `minFrames` (null until then).
const CAMERA_LAYERS = async (minFrames) => {
  const pc = window.__peerConnections.find((candidate) => candidate.connectionState === "connected");
  if (!pc || !pc.localDescription) return null;
  const outbound = [];
  (await pc.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video") {
      outbound.push({ rid: s.rid ?? null, framesEncoded: s.framesEncoded, frameWidth: s.frameWidth, frameHeight: s.frameHeight });
    }
  });
  if (!outbound.length || outbound.some((layer) => !(layer.framesEncoded >= minFrames && layer.frameHeight > 0))) return null;
  const lines = pc.localDescription.sdp.split("\r\n");
  return {
    simulcast: lines.filter((line) => line.startsWith("a=simulcast:")),
    rids: lines.filter((line) => line.startsWith("a=rid:")),
    outbound,
  };
};
const MIN_FRAMES_PER_LAYER = 30;
const report = (result) => process.stdout.write(JSON.stringify(result) + "\n");
try {
  const page = await browser.newPage();
  await page.evaluateOnNewDocument(KEEP_PEER_CONNECTIONS);
  page.on("console", (message) => process.stderr.write(`[firefox] ${message.type()}: ${message.text()}\n`));
  page.on("pageerror", (error) => process.stderr.write(`[firefox] page error: ${error}\n`));
  await page.goto(url);
  await page.waitForFunction(
    (count) => [...document.querySelectorAll('[data-participant-id]:not([data-local="true"]) video')]
      .filter((video) => video.videoWidth > 0 && !video.paused && video.currentTime > 0.5).length >= count,
    { timeout: Number(timeout), polling: 200 },
    Number(expected),
  );
  const camera = await page.waitForFunction(CAMERA_LAYERS, { timeout: Number(timeout), polling: 500 }, MIN_FRAMES_PER_LAYER);
  report({ ok: true, userAgent: await browser.version(), ...(await camera.jsonValue()) });
} catch (error) {
  report({ ok: false, error: String(error) });
  await browser.close();
  process.exit(1);
}
process.stdin.resume();
process.stdin.on("end", async () => {
  await browser.close();
  process.exit(0);
});
