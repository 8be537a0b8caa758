import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/ml/backend.ts';
console.log(JSON.stringify(await initBackend('wasm', { wasmThreads: Number(process.env.T ?? 2) })));
const a = tf.randomNormal([1024, 2048]), b = tf.randomNormal([2048, 256]);
const x = tf.randomNormal([16, 64, 512]);
for (const [name, f] of [['matmul', () => tf.matMul(a, b)], ['sigmoid', () => tf.sigmoid(x)], ['conv', () => tf.conv2d(tf.randomNormal([4, 64, 64, 32]) as tf.Tensor4D, tf.randomNormal([3, 3, 32, 64]) as tf.Tensor4D, 1, 'same')]] as const) {
  f().dispose();
  const c0 = process.cpuUsage(); const t1 = performance.now();
  for (let i = 0; i < 10; i++) f().dataSync();
  const wall = performance.now() - t1; const cpu = process.cpuUsage(c0);
  console.log(name, (wall / 10).toFixed(1), 'ms/call, cpu/wall', ((cpu.user + cpu.system) / 1000 / wall).toFixed(2));
}
