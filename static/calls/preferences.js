/**
 * What this browser remembers between calls: the display name and chosen
 * devices. Storage can be unavailable (private modes, blocked cookies): then
 * nothing is remembered and nothing fails.
 */

const PREFIX = "calls.";
const KEYS = ["displayName", "audioInputDeviceId", "videoInputDeviceId", "audioOutputDeviceId"];

export function loadPreferences() {
  const preferences = {};
  for (const key of KEYS) {
    try {
      const value = window.localStorage.getItem(PREFIX + key);
      if (value) preferences[key] = value;
    } catch {
      return {};
    }
  }
  return preferences;
}

export function savePreferences(preferences) {
  for (const key of KEYS) {
    if (typeof preferences[key] !== "string") continue;
    try {
      if (preferences[key]) window.localStorage.setItem(PREFIX + key, preferences[key]);
      else window.localStorage.removeItem(PREFIX + key);
    } catch {
      return;
    }
  }
}
