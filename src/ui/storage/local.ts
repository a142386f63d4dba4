// Small settings kept in this browser's localStorage: sources, the Hub token, the judge's endpoint and key,
// form defaults. Nothing here is ever sent anywhere except to the service it belongs to.

import { reportStorageError } from './errors';

const PREFIX = 'steerlab:';

export function loadSetting<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(PREFIX + key);
    if (raw === null) return fallback;
    return JSON.parse(raw) as T;
  } catch {
    return fallback;
  }
}

export function saveSetting(key: string, value: unknown): void {
  try {
    if (value === undefined || value === null || value === '') localStorage.removeItem(PREFIX + key);
    else localStorage.setItem(PREFIX + key, JSON.stringify(value));
  } catch (e) {
    // the setting still applies now; the user is told it will not survive a reload
    reportStorageError(`the setting “${key}”`, e);
  }
}
