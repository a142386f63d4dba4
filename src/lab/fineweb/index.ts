// FineWeb documents for the pre-training KL test: sources, the rows API, parquet range reads, caching.
export * from './source';
export * from './hubRows';
export * from './parquet';
export * from './cache';
