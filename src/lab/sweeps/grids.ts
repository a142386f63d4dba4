// The paper's sweep grids (SCIENCE.md), in a module without engine imports so the page can plan, count and
// resume sweeps point by point.

/** Fig 4a: each vector rescaled to these multiples of its own norm. */
export const EFFICIENCY_SCALES = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
/** Fig 4b: the noise fractions ε. */
export const STABILITY_EPS = [0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/** The sweeps' sizes as the paper ran them (SCIENCE.md), and the sweep panels' starting values: rows, seeds, documents. */
export const PAPER_SWEEPS = { efficiencyRows: 100, stabilityRows: 100, stabilitySeeds: 10, finewebDocs: 50, finewebMaxTokens: 512, finewebPoints: 9, finewebSeeds: 3 };
