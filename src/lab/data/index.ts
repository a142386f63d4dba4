// Chat datasets: reading (jsonl.ts), tokenising with labels (tokenize.ts), batching (batch.ts), split (split.ts).
export * from './chat';
export * from './jsonl';
export * from './tokenize';
export * from './batch';
export * from './split';
export * from './presets';
export * from './prepare';
