/**
 * The idle timeout of calls-api §4: alone in the call for
 * `idleTimeoutPeriodBeforePrompt` ms, the person is asked whether they are
 * still there; without an answer for `idleTimeoutPeriodAfterPrompt` ms more,
 * the call is left (onSessionTimedOut). Someone joining cancels it.
 */

export class IdleTimer {
  /**
   * @param {object} options
   * @param {number} options.beforePrompt ms alone before the prompt
   * @param {number} options.afterPrompt ms after the prompt before leaving
   * @param {function(number): void} options.prompt show the prompt (argument: ms left)
   * @param {function(): void} options.dismiss hide the prompt
   * @param {function(): void} options.timeOut leave the call
   */
  constructor({ beforePrompt, afterPrompt, prompt, dismiss, timeOut }) {
    this._beforePrompt = beforePrompt;
    this._afterPrompt = afterPrompt;
    this._prompt = prompt;
    this._dismiss = dismiss;
    this._timeOut = timeOut;
    this._timer = null;
    this._prompting = false;
  }

  /** Tell the timer whether this browser is alone in the call. */
  setAlone(alone) {
    if (alone && !this._timer) this._arm();
    else if (!alone) this.cancel();
  }

  /** New periods (the session's, from the server), used from the next time the timer is armed. */
  setPeriods(beforePrompt, afterPrompt) {
    this._beforePrompt = beforePrompt;
    this._afterPrompt = afterPrompt;
  }

  /** "Stay": start counting again. */
  stay() {
    this.cancel();
    this._arm();
  }

  cancel() {
    clearTimeout(this._timer);
    this._timer = null;
    if (this._prompting) {
      this._prompting = false;
      this._dismiss();
    }
  }

  _arm() {
    this._timer = setTimeout(() => {
      this._prompting = true;
      this._prompt(this._afterPrompt);
      this._timer = setTimeout(() => {
        this._timer = null;
        this._prompting = false;
        this._dismiss();
        this._timeOut();
      }, this._afterPrompt);
    }, this._beforePrompt);
  }
}
