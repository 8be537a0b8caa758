// captionStream: stored CaptionTokens first, then live ones, read after every `caption_request`
// wake-up; then one done event with the caption. A FAILED request ends with a CAPTION_FAILED error;
// a stream cut by a database outage with SERVICE_UNAVAILABLE (the request itself may still succeed:
// subscribing again replays its tokens and follows it to its end, ../shared/follow-rows.ts).
import type { CaptionStatus } from '../../db/client.ts';
import { CaptionStreamEvent } from './caption.type.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { CaptionStatus as Status, isTerminalCaption } from '../shared/enums.ts';
import { CaptionFailedError, NotFoundError } from '../shared/api-errors.ts';
import { openStream, type ReadResult } from '../shared/follow-rows.ts';
import { captionReader } from './caption-reads.ts';

const PAGE = 500;

export async function captionStream(ctx: ApiContext, requestId: string): Promise<AsyncIterableIterator<CaptionStreamEvent | Error>> {
  const wakeUps = ctx.events.subscribe('caption_request', requestId);
  const reader = captionReader(ctx.prisma, PAGE);

  let next = 0;
  async function read(): Promise<ReadResult<CaptionStreamEvent | Error>> {
    // the request's status and its new tokens in one statement (one snapshot: a request read as ended shows every
    // token written before it ended), batched with the other streams woken at the same time (./caption-reads.ts)
    const request = await reader.read({ requestId, next });
    if (!request) throw new NotFoundError('CaptionRequest', requestId);
    const tokens = request.tokens;
    const events: (CaptionStreamEvent | Error)[] = tokens.map((t) => ({
      index: t.index,
      token: t.token,
      attention: t.attention,
      gridSize: request.gridSize ?? Math.round(Math.sqrt(t.attention.length)),
      logProb: t.logProb,
      done: false,
      caption: null,
    }));
    if (tokens.length > 0) next = tokens[tokens.length - 1]!.index + 1;
    const more = tokens.length === PAGE;
    const finished = isTerminalCaption(request.status as CaptionStatus) && !more;
    if (finished) events.push(finalItem(request, next));
    return { events, more, done: finished };
  }

  return openStream(
    wakeUps,
    // batched too: a burst of new streams checks its requests in one statement (no token is past the last index)
    async () => (await reader.read({ requestId, next: 2 ** 31 - 1 })) !== null,
    () => new NotFoundError('CaptionRequest', requestId),
    read,
  );
}

function finalItem(
  request: { status: CaptionStatus; caption: string | null; gridSize: number | null; error: string | null },
  tokenCount: number,
): CaptionStreamEvent | CaptionFailedError {
  if (request.status === Status.FAILED) return new CaptionFailedError(request.error ?? 'caption request failed');
  return {
    index: tokenCount,
    token: null,
    attention: null,
    gridSize: request.gridSize,
    logProb: null,
    done: true,
    caption: request.caption,
  };
}
