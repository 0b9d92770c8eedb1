// Joins a call link in Debian's stock Firefox ESR (WebDriver BiDi, fake camera and microphone),
// prints {"ok": true} once `expected` remote videos play, then stays in the call until stdin closes.
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
const report = (result) => process.stdout.write(JSON.stringify(result) + "\n");
try {
  const page = await browser.newPage();
  page.on("console", (message) => process.stderr.write(`[firefox] ${message.type()}: ${message.text()}\n`));
  page.on("pageerror", (error) => process.stderr.write(`[firefox] page error: ${error}\n`));
  await page.goto(url);
  await page.waitForFunction(
    (count) => [...document.querySelectorAll('[data-participant-id]:not([data-local="true"]) video')]
      .filter((video) => video.videoWidth > 0 && !video.paused && video.currentTime > 0.5).length >= count,
    { timeout: Number(timeout), polling: 200 },
    Number(expected),
  );
  report({ ok: true, userAgent: await browser.version() });
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
