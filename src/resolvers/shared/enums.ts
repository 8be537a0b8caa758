// GraphQL enums, registered from the Prisma enums so the two can never drift apart.
import { registerEnumType } from 'type-graphql';
import {
  BulkCaptionStatus,
  CaptionStatus,
  DatasetKind,
  DatasetStatus,
  DecodeMethod,
  EvaluationSplit,
  JobPriority,
  RunStatus,
} from '../../db/client.ts';

export { BulkCaptionStatus, CaptionStatus, DatasetKind, DatasetStatus, DecodeMethod, EvaluationSplit, JobPriority, RunStatus };

registerEnumType(DatasetKind, { name: 'DatasetKind' });
registerEnumType(DatasetStatus, { name: 'DatasetStatus' });
registerEnumType(RunStatus, { name: 'RunStatus' });
registerEnumType(CaptionStatus, { name: 'CaptionStatus' });
registerEnumType(EvaluationSplit, {
  name: 'EvaluationSplit',
  description:
    "VALIDATION: the held-out images of the split the model's run trained with (its seed and validation fraction, as `glimpse eval --split val`); TRAIN: the rest; ALL: every image",
});
registerEnumType(BulkCaptionStatus, { name: 'BulkCaptionStatus' });
registerEnumType(JobPriority, {
  name: 'JobPriority',
  description:
    "a job's place in its queue: HIGH jobs are taken first, then NORMAL, then LOW (each in creation order); caption requests have their own queue",
});
registerEnumType(DecodeMethod, { name: 'DecodeMethod', description: 'GREEDY (argmax), BEAM (beam search), SAMPLE' });

// statuses after which a training run changes no more (unless resumed): src/runs owns the run's states
export { isTerminalRun, TERMINAL_RUN_STATUSES } from '../../runs/index.ts';

export function isTerminalCaption(status: CaptionStatus): boolean {
  return status === CaptionStatus.SUCCEEDED || status === CaptionStatus.FAILED;
}
