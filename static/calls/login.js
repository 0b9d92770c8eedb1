/**
 * The members' sign-in screen of a call that admits no guests: an auth
 * token (production: the app's server minted it), or a uid and the app's
 * auth key (development). Errors are shown with their codes.
 */

import { h, replaceChildren } from "./dom.js";
import { ErrorCode } from "./errors.js";
import { icon } from "./icons.js";

export const LoginMethod = Object.freeze({ AUTH_TOKEN: "authToken", AUTH_KEY: "authKey" });
const UID_ERRORS = new Set([ErrorCode.ERROR_INVALID_UID, ErrorCode.ERROR_UID_WITH_SPACE, ErrorCode.ERR_UID_NOT_FOUND]);

function field(id, label, attributes) {
  const input = h("input", { class: "cc-field", id, name: id, spellcheck: "false", autocapitalize: "off", ...attributes });
  return { input, wrapper: h("label", { class: "cc-login__field", for: id }, h("span", { class: "cc-label", text: label }), input) };
}

function methodChoice(value, id, label, checked, onChange) {
  return h(
    "label",
    { class: "cc-login__method", for: id },
    h("input", { type: "radio", name: "cc-login-method", id, value, checked, onchange: onChange }),
    h("span", { text: label }),
  );
}

export class LoginScreen {
  /**
   * @param {HTMLElement} container
   * @param {object} options
   * @param {string} options.homeUrl where "Start a new call" goes
   * @param {object} [options.error] an error to show from the start ({errorCode, errorDescription})
   * @param {function({method, uid, secret}): Promise<{data, error}>} options.signIn
   * @param {function(object): void} options.onSignedIn called with the CallUser
   */
  constructor(container, { homeUrl, error, signIn, onSignedIn }) {
    this._signIn = signIn;
    this._onSignedIn = onSignedIn;
    this._method = LoginMethod.AUTH_TOKEN;
    this._build(container, homeUrl);
    this._render();
    if (error) this._showError(error);
  }

  _build(container, homeUrl) {
    const choose = (event) => {
      this._method = event.target.value;
      this._render();
      this._clearError();
    };
    this._uid = field("cc-login-uid", "User ID", { type: "text", autocomplete: "username", maxlength: 100 });
    this._authToken = field("cc-login-auth-token", "Auth token", { type: "password", autocomplete: "current-password" });
    this._authKey = field("cc-login-auth-key", "Auth key", { type: "password", autocomplete: "off" });
    this._error = h("p", { class: "cc-login__error", role: "alert" });
    this._button = h("button", { type: "submit", class: "cc-button cc-button--primary cc-login__submit", id: "cc-login", "data-action": "login", text: "Sign in" });
    const form = h(
      "form",
      { class: "cc-login__form", id: "cc-login-form", novalidate: true, onsubmit: (event) => this._submit(event) },
      h(
        "fieldset",
        { class: "cc-login__methods" },
        h("legend", { class: "cc-label", text: "Sign in with" }),
        methodChoice(LoginMethod.AUTH_TOKEN, "cc-login-method-token", "Auth token", true, choose),
        methodChoice(LoginMethod.AUTH_KEY, "cc-login-method-key", "User ID and auth key (development)", false, choose),
      ),
      this._uid.wrapper,
      this._authToken.wrapper,
      this._authKey.wrapper,
      this._error,
      this._button,
    );
    this.root = h(
      "div",
      { class: "cc-root", "data-state": "login" },
      h(
        "div",
        { class: "cc-screen" },
        h(
          "div",
          { class: "cc-screen__card cc-login" },
          icon("lock"),
          h("h2", { class: "cc-screen__title", text: "This call needs a login" }),
          h("p", { class: "cc-screen__text", text: "Only members of its app can join. Sign in to continue." }),
          form,
          h("a", { class: "cc-login__home", href: homeUrl, text: "Start a new call instead" }),
        ),
      ),
    );
    replaceChildren(container, this.root);
  }

  _render() {
    const byKey = this._method === LoginMethod.AUTH_KEY;
    this._uid.wrapper.hidden = !byKey;
    this._authKey.wrapper.hidden = !byKey;
    this._authToken.wrapper.hidden = byKey;
  }

  _fields() {
    return this._method === LoginMethod.AUTH_KEY
      ? { uid: this._uid.input.value, secret: this._authKey.input.value }
      : { uid: "", secret: this._authToken.input.value };
  }

  async _submit(event) {
    event.preventDefault();
    if (this._button.disabled) return;
    this._clearError();
    this._button.disabled = true;
    this._button.textContent = "Signing in…";
    const { data, error } = await this._signIn({ method: this._method, ...this._fields() });
    this._button.disabled = false;
    this._button.textContent = "Sign in";
    if (error) {
      this._showError(error);
      return;
    }
    this._onSignedIn(data);
  }

  _showError(error) {
    this._error.textContent = `${error.errorDescription} (${error.errorCode})`;
    this._error.dataset.errorCode = error.errorCode;
    const input = this._inputFor(error.errorCode);
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  /** The input an error is about: the uid for uid errors, else the secret being used. */
  _inputFor(code) {
    if (this._method !== LoginMethod.AUTH_KEY) return this._authToken.input;
    return UID_ERRORS.has(code) ? this._uid.input : this._authKey.input;
  }

  _clearError() {
    this._error.textContent = "";
    delete this._error.dataset.errorCode;
    for (const { input } of [this._uid, this._authToken, this._authKey]) input.removeAttribute("aria-invalid");
  }
}
