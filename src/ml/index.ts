// Public surface of the ML library for the worker and the CLI. Nothing here imports the app.
export type * from './types.ts';
export { initBackend, backendInfo, BackendError, type BackendOptions } from './backend.ts';
export { chooseOpenBlasCore, DEFAULT_BLAS_THREADS } from './kernels/native-addon.ts';

// model
export { CaptionModel, type EncoderInput } from './model/captionModel.ts';
export {
  BABY_MODEL_CONFIG,
  DEFAULT_BACKBONE_IMAGE_SIZE,
  DEFAULT_CNN_ENCODER,
  DEFAULT_MODEL_CONFIG,
  DEFAULT_TRAIN_CONFIG,
  mlConfigs,
  validateModelConfig,
  type MlConfigs,
} from './model/config.ts';
export * from './settings/index.ts';
export { ModelError, type ModelErrorCode } from './model/model-error.ts';
export { Vocabulary, captionStats, tokenize, PAD, START, END, UNK, type VocabularyJSON } from './vocab.ts';

// training and evaluation
export { train, TrainingAbortedError, type TrainOptions, type TrainResult } from './train.ts';
export { readCheckpointConfig, type CheckpointMeta, type TrainPosition } from './checkpoint.ts';
export { InputCache } from './batches.ts';
export { stepsPerEpoch } from './steps.ts';
export { DivergenceWatch, type DivergenceOptions } from './divergence.ts';
export { createInputSource, type EncoderInputSource } from './encoder-inputs.ts';
export type { BackboneAccess, BackboneFetch } from './model/backbone.ts';
export {
  EVAL_BATCH_SIZE,
  scoreEvaluation,
  splitImages,
  vocabularyCoverage,
  type CaptionExample,
  type EvalSplit,
  type EvaluationScores,
} from './evaluation-report.ts';
export { attentionByWordClass, attentionOnObjects, captionBleu, captionImages, validationLoss, type AttentionShare } from './evaluate.ts';

// inference
export { decodeBatch, decodeStream, freezeStepWeights, type FrozenStepWeights, type OnToken } from './decode/index.ts';
export { loadModel, portableConfig, saveModel, type LoadedModel, type ModelMetrics } from './saved-model.ts';
export {
  imagesDigest,
  readTrainingData,
  TRAINING_DATA_FILE,
  trainingDataRecord,
  writeTrainingData,
  type TrainingDataRecord,
} from './training-data.ts';
export { loadCaptioner, type Captioner, type ImageSource } from './captioner.ts';

// data, metrics and figures
export { loadImage, imageInfo } from './data/images.ts';
export { ImageError, DatasetError, DownloadError } from './data/data-errors.ts';
export { generateShapes } from './data/shapes.ts';
export { loadCocoCaptions, splitByImage } from './data/coco.ts';
export { downloadCoco, cocoPaths } from './data/download.ts';
export {
  evaluateCaptions,
  corpusBleu,
  ciderD,
  tokenizeCaption,
  namedPairs,
  objectScores,
  type CaptionScores,
  type ObjectScores,
} from './metrics/index.ts';
export { renderAttentionFigure, writeAttentionFigure } from './viz/index.ts';
