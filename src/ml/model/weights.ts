// All trainable weights of the captioning model as named tf.Variables, created from the config
// with Keras initialisers (glorot uniform kernels, orthogonal recurrent kernel, zero biases,
// uniform ±0.05 embedding).
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../types.ts';
import { ModelError } from './model-error.ts';
import { glorotUniform, orthogonal } from './init.ts';
import { Rng } from '../random.ts';

type Init = 'glorot' | 'orthogonal' | 'zeros' | 'embedding';

interface WeightSpec {
  name: string;
  shape: number[];
  init: Init;
  fanIn?: number;
  fanOut?: number;
}

function dense(name: string, inDim: number, outDim: number, bias = true): WeightSpec[] {
  const kernel: WeightSpec = { name: `${name}/kernel`, shape: [inDim, outDim], init: 'glorot', fanIn: inDim, fanOut: outDim };
  return bias ? [kernel, { name: `${name}/bias`, shape: [outDim], init: 'zeros' }] : [kernel];
}

/** The output layer's context rows [E, U], in models whose config has deepOutput. */
export const OUTPUT_CONTEXT_KERNEL = 'decoder/fc1/context_kernel';

function weightSpecs(config: ModelConfig, channels: number): WeightSpec[] {
  const { encoderDim: E, embeddingDim: D, units: U, vocabSize: V } = config;
  const specs: WeightSpec[] = [];
  if (config.encoder.kind === 'cnn') {
    let inC = 3;
    config.encoder.channels.forEach((outC, i) => {
      // 3×3 conv stored im2col-ready: [9 · Cin, Cout]
      specs.push(
        { name: `encoder/conv${i}/kernel`, shape: [9 * inC, outC], init: 'glorot', fanIn: 9 * inC, fanOut: 9 * outC },
        { name: `encoder/conv${i}/bias`, shape: [outC], init: 'zeros' },
      );
      inC = outC;
    });
  }
  specs.push(
    ...dense('encoder/proj', channels, E),
    ...dense('attention/W1', E, U),
    ...dense('attention/W2', U, U),
    // V's bias would shift every score equally and leave the softmax unchanged: omitted
    ...dense('attention/V', U, 1, false),
    { name: 'decoder/embedding', shape: [V, D], init: 'embedding' },
    { name: 'decoder/gru/kernel', shape: [E + D, 3 * U], init: 'glorot', fanIn: E + D, fanOut: 3 * U },
    { name: 'decoder/gru/recurrent', shape: [U, 3 * U], init: 'orthogonal' },
    // Keras reset_after=true keeps two biases (its [2, 3U] bias, row by row)
    { name: 'decoder/gru/input_bias', shape: [3 * U], init: 'zeros' },
    { name: 'decoder/gru/recurrent_bias', shape: [3 * U], init: 'zeros' },
    ...dense('decoder/fc1', U, U),
    ...dense('decoder/fc2', U, V),
  );
  // the paper's deep output: fc1 also reads the step's attention context
  if (config.deepOutput) specs.push({ name: OUTPUT_CONTEXT_KERNEL, shape: [E, U], init: 'glorot', fanIn: E, fanOut: U });
  return specs;
}

function initialValue(spec: WeightSpec, rng: Rng): tf.Tensor {
  switch (spec.init) {
    case 'zeros':
      return tf.zeros(spec.shape);
    case 'orthogonal':
      return orthogonal(spec.shape[0], spec.shape[1], rng);
    case 'embedding': {
      const values = new Float32Array(spec.shape[0] * spec.shape[1]);
      for (let i = 0; i < values.length; i++) values[i] = (rng.next() * 2 - 1) * 0.05;
      return tf.tensor(values, spec.shape);
    }
    case 'glorot':
      return glorotUniform(spec.shape, spec.fanIn ?? 1, spec.fanOut ?? 1, rng);
  }
}

let instanceCounter = 0;

/** Named variables of one model instance; tf variable names are made unique per instance. */
export class ModelWeights {
  readonly names: readonly string[];
  private readonly vars = new Map<string, tf.Variable>();
  private readonly byVariableName = new Map<string, string>();

  private constructor(values: Map<string, tf.Tensor>) {
    const prefix = `glimpse${++instanceCounter}`;
    this.names = [...values.keys()];
    for (const [name, value] of values) {
      const variable = tf.variable(value, true, `${prefix}/${name}`);
      this.vars.set(name, variable);
      this.byVariableName.set(variable.name, name);
    }
  }

  /** Fresh weights for a config; `channels` is the raw feature depth (featureChannels()). */
  static create(config: ModelConfig, channels: number, seed: number): ModelWeights {
    const rng = new Rng(seed);
    const values = new Map<string, tf.Tensor>();
    for (const spec of weightSpecs(config, channels)) values.set(spec.name, initialValue(spec, rng));
    const weights = new ModelWeights(values);
    for (const value of values.values()) value.dispose();
    return weights;
  }

  /** Weights from saved tensors; every expected name must be present with the expected shape. */
  static fromTensors(config: ModelConfig, channels: number, tensors: Map<string, tf.Tensor>): ModelWeights {
    const values = new Map<string, tf.Tensor>();
    for (const spec of weightSpecs(config, channels)) {
      const value = tensors.get(spec.name);
      if (!value || !tf.util.arraysEqual(value.shape, spec.shape)) {
        throw new ModelError(
          'INVALID_ARTIFACT',
          `weight ${spec.name}: expected shape [${spec.shape}], found ${value ? `[${value.shape}]` : 'nothing'}`,
        );
      }
      values.set(spec.name, value);
    }
    return new ModelWeights(values);
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  get(name: string): tf.Variable {
    const variable = this.vars.get(name);
    if (!variable) throw new ModelError('INVALID_CONFIG', `no weight named ${name}`);
    return variable;
  }

  /** A rank-2 weight (kernels, the embedding). */
  matrix(name: string): tf.Tensor2D {
    return this.get(name) as tf.Tensor2D;
  }

  /** A rank-1 weight (biases). */
  vector(name: string): tf.Tensor1D {
    return this.get(name) as tf.Tensor1D;
  }

  /** Variables in name order (the order gradients and optimiser state use). */
  list(): tf.Variable[] {
    return this.names.map((name) => this.get(name));
  }

  /** Logical name of a tf variable name (as keys of tf.variableGrads). */
  nameOf(variableName: string): string {
    const name = this.byVariableName.get(variableName);
    if (!name) throw new ModelError('INVALID_CONFIG', `unknown variable ${variableName}`);
    return name;
  }

  entries(): [string, tf.Variable][] {
    return this.names.map((name) => [name, this.get(name)]);
  }

  dispose(): void {
    for (const variable of this.vars.values()) variable.dispose();
    this.vars.clear();
  }
}
