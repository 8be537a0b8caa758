// The rows of the side-by-side table (the PyTorch script prints the same names).
export const ROWS = ['train step b16', 'train step b64', 'greedy 20 b1', 'greedy 20 b16', 'beam 3 20 b1', 'beam 3 20 b16'] as const;
export type RowName = (typeof ROWS)[number];

/** Rows cheap enough for the stock-speed `cpu` backend (a cpu training step takes tens of seconds). */
export const CHEAP_ROWS: readonly RowName[] = ['greedy 20 b1', 'beam 3 20 b1'];

export type RowTimes = Partial<Record<RowName, number>>;
