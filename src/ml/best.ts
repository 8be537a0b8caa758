// The model a run ends with is its best epoch's, by validation loss, not simply the last one: a later
// epoch that overfits does not replace a better one. Validation loss rather than BLEU-4 because it is
// computed on every held-out caption each epoch (BLEU-4 on a capped sample of images), moves smoothly,
// and is what early stopping conventionally watches; BLEU-4 and the object metric are reported per epoch
// beside it. The best weights are kept in memory (one copy of the parameters); a resumed run learns its
// predecessor's best from the checkpoint (`CheckpointMeta.best`) and reloads that checkpoint's weights
// if no later epoch beats it.
import { access } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { readCheckpoint } from './checkpoint.ts';
import type { CaptionModel } from './model/captionModel.ts';

export interface BestEpoch {
  epoch: number;
  valLoss: number;
  /** the epoch-end checkpoint holding its weights */
  checkpoint: string;
}

export class BestWeights {
  private snapshot: Map<string, tf.Tensor> | null = null;

  constructor(public best: BestEpoch | null = null) {}

  /** After an epoch-end checkpoint: keeps a copy of the weights when the epoch has the lowest validation loss so far. */
  observe(epoch: number, valLoss: number | null, checkpoint: string, model: CaptionModel): void {
    if (valLoss === null || !Number.isFinite(valLoss) || (this.best && valLoss >= this.best.valLoss)) return;
    this.dispose();
    this.best = { epoch, valLoss, checkpoint };
    this.snapshot = new Map(model.weights.entries().map(([name, value]) => [name, tf.clone(value)]));
  }

  /**
   * Gives the model the best epoch's weights unless it already has them (the last epoch is the best).
   * Returns the epoch whose weights the model ends with, or null when no epoch had a validation loss.
   */
  async restore(model: CaptionModel, lastEpoch: number): Promise<BestEpoch | null> {
    const best = this.best;
    if (!best || best.epoch === lastEpoch) return best;
    let weights = this.snapshot;
    let loaded: Map<string, tf.Tensor> | null = null;
    if (!weights) {
      // a resumed run's best came from before the resume: its checkpoint, if this machine still has it
      if (
        !(await access(best.checkpoint).then(
          () => true,
          () => false,
        ))
      )
        return null;
      const ck = await readCheckpoint(best.checkpoint);
      tf.dispose([...ck.optimizer.values()]);
      weights = loaded = ck.weights;
    }
    const variables = new Map(model.weights.entries());
    for (const [name, value] of weights) (variables.get(name) as tf.Variable | undefined)?.assign(value);
    if (loaded) tf.dispose([...loaded.values()]);
    return best;
  }

  dispose(): void {
    if (this.snapshot) tf.dispose([...this.snapshot.values()]);
    this.snapshot = null;
  }
}
