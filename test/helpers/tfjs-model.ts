// Writes a tfjs LayersModel as model.json + weights.bin, the files a backbone URL or path points at
// (tfjs has no file save handler outside tfjs-node). Returns the model.json path.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      await writeFile(join(dir, 'weights.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
      const manifest = [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }];
      await writeFile(
        join(dir, 'model.json'),
        JSON.stringify({ format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest: manifest }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return join(dir, 'model.json');
}
