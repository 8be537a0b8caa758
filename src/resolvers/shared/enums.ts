// GraphQL enums, registered from the Prisma enums so the two can never drift apart.
import { registerEnumType } from 'type-graphql';
import { CaptionStatus, DatasetKind, DatasetStatus, DecodeMethod, RunStatus } from '../../db/client.ts';

export { CaptionStatus, DatasetKind, DatasetStatus, DecodeMethod, RunStatus };

registerEnumType(DatasetKind, { name: 'DatasetKind' });
registerEnumType(DatasetStatus, { name: 'DatasetStatus' });
registerEnumType(RunStatus, { name: 'RunStatus' });
registerEnumType(CaptionStatus, { name: 'CaptionStatus' });
registerEnumType(DecodeMethod, { name: 'DecodeMethod', description: 'GREEDY (argmax), BEAM (beam search), SAMPLE' });

/** Statuses after which a training run changes no more (unless resumed). */
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED];

export function isTerminalRun(status: RunStatus): boolean {
  return TERMINAL_RUN_STATUSES.includes(status);
}

export function isTerminalCaption(status: CaptionStatus): boolean {
  return status === CaptionStatus.SUCCEEDED || status === CaptionStatus.FAILED;
}
