// Data preparation: streaming CSV reading, loaders for tables and image CSVs, in-memory datasets with
// subsets, validation splits and reusable batch buffers. Imports core (and storage, later).
export * from './csv.js';
export * from './dataset.js';
export * from './tabular.js';
export * from './reference-datasets.js';
