// Typed errors of the model library; callers switch on `code`.

export type ModelErrorCode =
  | 'INVALID_CONFIG'
  | 'EMPTY_DATASET'
  | 'INVALID_ARTIFACT'
  | 'INCOMPATIBLE_CHECKPOINT'
  | 'INCOMPATIBLE_MODEL'
  | 'BACKBONE_LOAD_FAILED';

export class ModelError extends Error {
  readonly code: ModelErrorCode;

  constructor(code: ModelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelError';
    this.code = code;
  }
}
