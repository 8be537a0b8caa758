import { createHash } from 'node:crypto';
import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { DecodeMethod, type CaptionRequest as CaptionRequestRow } from '../../db/client.ts';
import { RequestCaptionInput } from './caption.input.ts';
import { captionStream } from './caption.stream.ts';
import { CaptionRequest, CaptionStreamEvent, CaptionToken } from './caption.type.ts';
import type { ApiContext } from '../shared/api-context.ts';
import { NotFoundError, ServiceOverloadedError } from '../shared/api-errors.ts';
import { decodeBase64, readUpload, sniffImage } from './image-bytes.ts';
import { pgPoolOf } from '../../db/client.ts';
import { admitCaption } from '../../queue/caption-admission.ts';
import { exactlyOne } from '../shared/validate.ts';
import { CAPTION_SETTINGS, DECODE_METHOD_SETTING } from '../../ml/settings/index.ts';
import { settingsFrom } from '../shared/setting-field.ts';
import { findModelByRef } from '../models/model.mapper.ts';
import { loadModel } from '../models/model-registry.batch.ts';
import { Model } from '../models/model.type.ts';

function toCaptionRequest({ imageBytes: _bytes, ...row }: CaptionRequestRow): CaptionRequest {
  return { ...row, timings: row.timings as Record<string, unknown> | null };
}

/** Decoding settings checked against the caption settings schema (absent or null → the default). */
function decodingParameters(input: RequestCaptionInput) {
  const { beamWidth, maxLength, temperature } = settingsFrom(CAPTION_SETTINGS, { ...input, method: undefined }, 'input');
  const method = input.method ?? (DECODE_METHOD_SETTING.default.toUpperCase() as DecodeMethod);
  return { method, beamWidth, maxLength, temperature };
}

async function imageBytes(input: RequestCaptionInput, maxBytes: number): Promise<Buffer> {
  const source = exactlyOne('input', { image: input.image, imageBase64: input.imageBase64 });
  return source === 'image'
    ? readUpload('input.image', input.image!, maxBytes)
    : decodeBase64('input.imageBase64', input.imageBase64!, maxBytes);
}

@Resolver(() => CaptionRequest)
export class CaptionResolver {
  @Mutation(() => CaptionRequest, {
    description:
      'Queue an image for captioning; follow it with captionStream. BAD_USER_INPUT: oversize or not JPEG/PNG/WebP; ' +
      'The model by `modelId` or by `model` ("name@alias", "name:version" or an id, resolved when the request is made: the request records that exact version). ' +
      'BAD_USER_INPUT: not exactly one of modelId and model, a bad reference; NOT_FOUND: no such model; SERVICE_OVERLOADED (retryable, extensions.retryAfterSeconds): too many requests waiting. ' +
      'Multipart uploads need an `apollo-require-preflight: true` header (CSRF prevention).',
  })
  async requestCaption(
    @Arg('input', () => RequestCaptionInput) input: RequestCaptionInput,
    @Ctx() ctx: ApiContext,
  ): Promise<CaptionRequest> {
    const parameters = decodingParameters(input);
    const by = exactlyOne('input', { modelId: input.modelId, model: input.model });
    const bytes = await imageBytes(input, ctx.limits.maxImageBytes);
    const field = input.image ? 'input.image' : 'input.imageBase64';
    const mimeType = sniffImage(field, bytes, ctx.limits.maxImagePixels);
    // input errors first; then the reference, resolved now: the request records the exact version
    const modelId = by === 'modelId' ? input.modelId! : (await findModelByRef(ctx, 'input.model', input.model!)).id;
    const pool = pgPoolOf(ctx.prisma);
    if (!pool) throw new Error('requestCaption needs a Prisma client made by createPrisma (its pool runs the statement)');
    // one statement: the model checked FOR SHARE, the queue's depth, the row and its job (src/queue/caption-admission.ts)
    const admission = await admitCaption(
      pool,
      {
        modelId,
        imageBytes: bytes,
        imageHash: createHash('sha256').update(bytes).digest('hex'),
        mimeType,
        createdByKey: ctx.caller.keyName,
        ...parameters,
      },
      ctx.limits.captionQueueLimit,
    );
    if (admission.outcome === 'no-model') throw new NotFoundError('Model', input.model ?? modelId);
    if (admission.outcome === 'queue-full') {
      const limit = ctx.limits.captionQueueLimit;
      throw new ServiceOverloadedError('CAPTION_QUEUE_FULL', `${limit} caption requests are waiting (GLIMPSE_CAPTION_QUEUE_LIMIT)`, {
        limit,
      });
    }
    return admission.request as CaptionRequest;
  }

  @Query(() => CaptionRequest, { description: 'NOT_FOUND for an unknown id' })
  async captionRequest(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<CaptionRequest> {
    const row = await ctx.prisma.captionRequest.findUnique({ where: { id } });
    if (row === null) throw new NotFoundError('CaptionRequest', id);
    return toCaptionRequest(row);
  }

  @FieldResolver(() => Model, {
    description: 'the exact model version that answers it (name, version), whatever alias it was requested through',
  })
  async model(@Root() request: CaptionRequest, @Ctx() ctx: ApiContext): Promise<Model> {
    const model = await loadModel(ctx, request.modelId);
    if (model === null) throw new NotFoundError('Model', request.modelId);
    return model;
  }

  @FieldResolver(() => [CaptionToken])
  tokens(@Root() request: CaptionRequest, @Ctx() ctx: ApiContext): Promise<CaptionToken[]> {
    return ctx.prisma.captionToken.findMany({ where: { requestId: request.id }, orderBy: { index: 'asc' } });
  }

  @Subscription(() => CaptionStreamEvent, {
    description:
      'Stored tokens, then live ones, each with its attention weights; then one event with done = true and the ' +
      'caption, and the stream completes. A failed request ends with a CAPTION_FAILED error. NOT_FOUND for an unknown id.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { requestId: string }, ApiContext>) =>
      captionStream(context, args.requestId),
  })
  captionStream(@Root() item: CaptionStreamEvent | Error, @Arg('requestId', () => ID) _requestId: string): CaptionStreamEvent {
    if (item instanceof Error) throw item;
    return item;
  }
}
