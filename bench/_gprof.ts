import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/ml/backend.ts';
import { decodeBatch } from '../src/ml/decode.ts';
import { CaptionModel } from '../src/ml/model/captionModel.ts';
import { Vocabulary } from '../src/ml/vocab.ts';
import { BACKBONE_CHANNELS, features, REFERENCE_CONFIG, VOCAB } from './shapes.ts';
await initBackend('wasm');
const model = CaptionModel.create(REFERENCE_CONFIG, 1, BACKBONE_CHANNELS);
const vocab = Vocabulary.fromJSON({ words: ['<pad>', '<start>', '<end>', '<unk>', ...Array.from({ length: VOCAB - 4 }, (_, i) => `w${i}`)], maxLength: 21 });
const x = features(Number(process.env.B ?? 1), 3);
const run = () => decodeBatch(model, vocab, x, { method: (process.env.M ?? 'greedy') as 'greedy', maxLength: 21 });
await run(); await run();
const t0 = performance.now(); for (let i = 0; i < 5; i++) await run(); console.log('ms', (performance.now() - t0) / 5);
const prof = await tf.profile(async () => { await run(); });
const acc = new Map<string, { ms: number; n: number }>();
for (const k of prof.kernels) { const key = `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join('')}`; const e = acc.get(key) ?? { ms: 0, n: 0 }; e.ms += Number(k.kernelTimeMs); e.n++; acc.set(key, e); }
console.log('kernels', prof.kernels.length, 'sum', prof.kernels.reduce((s, k) => s + Number(k.kernelTimeMs), 0).toFixed(1));
console.log([...acc].sort((a, b) => b[1].ms - a[1].ms).slice(0, 18).map(([k, e]) => `${e.ms.toFixed(1)} x${e.n} ${k}`).join('\n'));
