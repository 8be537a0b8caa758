// The raw feature grid [B, L, C] the encoder projects: its depth C for a config.
import type { ModelConfig } from '../types.ts';
import { ModelError } from './model-error.ts';

/** Channels the CNN appends to every cell of its feature grid: the cell's x and y. */
export const CELL_COORDINATES = 2;

/** Channels per cell of the raw feature grid: the CNN's last stage + coordinates, or the backbone's depth. */
export function featureChannels(config: ModelConfig, backboneChannels?: number): number {
  if (config.encoder.kind === 'cnn') return config.encoder.channels[config.encoder.channels.length - 1] + CELL_COORDINATES;
  if (!backboneChannels) throw new ModelError('INVALID_CONFIG', 'pretrained encoder: feature depth unknown');
  return backboneChannels;
}
