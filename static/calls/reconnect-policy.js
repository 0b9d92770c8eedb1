/**
 * The reconnect policy: after the signaling socket drops, try again at once, then
 * after growing pauses (never more than RETRY_CAP_MS apart), until an attempt
 * succeeds, one fails in a way retrying cannot fix, or GIVE_UP_AFTER_MS have passed.
 *
 * What an attempt does (resume the same participant, or join again after a server
 * restart) is the session's business (session.js); this only decides when.
 */

export const RETRY_DELAYS_MS = Object.freeze([0, 250, 500, 1000, 2000]);
export const GIVE_UP_AFTER_MS = 60_000;

export class Reconnector {
  /**
   * @param {object} options
   * @param {function(): Promise<void>} options.attempt one try; rejects when it did not work
   * @param {function(Error): boolean} options.isFinal whether an attempt's error ends the retrying
   * @param {function(Error): void} options.onGiveUp called once, with the last error, when retrying stops unsuccessfully
   */
  constructor({ attempt, isFinal, onGiveUp }) {
    this._attempt = attempt;
    this._isFinal = isFinal;
    this._onGiveUp = onGiveUp;
    this._cancelled = false;
    this._timer = null;
    this._wake = null;
  }

  /** Start retrying; resolves when an attempt has succeeded, retrying was given up, or cancel() was called. */
  async run() {
    const startedAt = Date.now();
    for (let index = 0; !this._cancelled; index += 1) {
      await this._pause(RETRY_DELAYS_MS[Math.min(index, RETRY_DELAYS_MS.length - 1)]);
      if (this._cancelled) return;
      try {
        await this._attempt();
        return;
      } catch (error) {
        if (this._cancelled) return;
        if (this._isFinal(error) || Date.now() - startedAt >= GIVE_UP_AFTER_MS) {
          this._onGiveUp(error);
          return;
        }
      }
    }
  }

  cancel() {
    this._cancelled = true;
    clearTimeout(this._timer);
    if (this._wake) this._wake();
  }

  _pause(ms) {
    if (!ms) return Promise.resolve();
    return new Promise((resolve) => {
      this._wake = resolve;
      this._timer = setTimeout(resolve, ms);
    });
  }
}
