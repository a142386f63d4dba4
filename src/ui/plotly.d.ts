// The few Plotly calls the Chart component makes (plotly.js-dist-min ships no types).
declare module 'plotly.js-dist-min' {
  const Plotly: {
    react(el: HTMLElement, data: unknown[], layout?: unknown, config?: unknown): Promise<unknown>;
    purge(el: HTMLElement): void;
    Plots: { resize(el: HTMLElement): void };
  };
  export default Plotly;
}
