// Position limits. Rotary embeddings are gathered from a table of model.ropePositions rows (min of the config's
// max_position_embeddings and ROPE_TABLE_MAX): a sequence longer than that would gather past the table's end,
// which WebGPU does not report (it reads garbage or zeros) and wasm reports as an out-of-bounds Gather. Every
// job that builds sequences checks its length here first, with a message that says what to change.

/** Throws unless a prompt of `promptTokens` plus `maxNewTokens` generated tokens fits the rope table. */
export function checkGenerationFits(ropePositions: number, promptTokens: number, maxNewTokens: number): void {
  const need = promptTokens + maxNewTokens;
  if (need <= ropePositions) return;
  const room = ropePositions - promptTokens;
  throw new Error(
    `the prompt is ${promptTokens} tokens and ${maxNewTokens} new tokens were asked for, ${need} positions in all, ` +
      `but this model's position table holds ${ropePositions}: ` +
      (room > 0 ? `ask for at most ${room} new tokens (Max new tokens)` : 'shorten the conversation'),
  );
}

/** Throws unless sequences of up to `tokens` tokens (training max_len, FineWeb max tokens) fit the rope table; `what` names the setting. */
export function checkSequenceFits(ropePositions: number, tokens: number, what: string): void {
  if (tokens > ropePositions) throw new Error(`${what} is ${tokens} tokens, but this model's position table holds ${ropePositions}: use at most ${ropePositions}`);
}
