// useState that survives switching panels (a panel unmounts when another is shown): values live in memory for
// the page's lifetime, keyed by name. The guided walkthrough writes settings here with setSticky.

import { useCallback, useState } from 'react';

const memory = new Map<string, unknown>();

export function useSticky<T>(key: string, initial: T | (() => T)): [T, (v: T) => void] {
  const [value, setValue] = useState<T>(() => (memory.has(key) ? (memory.get(key) as T) : typeof initial === 'function' ? (initial as () => T)() : initial));
  const set = useCallback(
    (v: T) => {
      memory.set(key, v);
      setValue(v);
    },
    [key],
  );
  return [value, set];
}

export function setSticky(key: string, value: unknown): void {
  memory.set(key, value);
}

export function getSticky<T>(key: string): T | undefined {
  return memory.get(key) as T | undefined;
}
