// Settings schemas (pure data, no imports outside this folder): training, encoder and caption settings,
// the memory estimate and the plan of a run under a budget.
export * from './spec.ts';
export * from './training.ts';
export * from './caption.ts';
export * from './memory.ts';
export * from './plan.ts';
export * from './epochs.ts';
export * from './warm-start.ts';
