// Settings schemas (pure data, no imports outside this folder): training, encoder and caption settings.
export * from './spec.ts';
export * from './training.ts';
export * from './caption.ts';
export * from './memory.ts';
