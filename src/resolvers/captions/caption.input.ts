import { Field, ID, InputType } from 'type-graphql';
import type { FileUpload } from 'graphql-upload/processRequest.mjs';
import { CAPTION_SETTINGS as C, DECODE_METHOD_SETTING } from '../../ml/settings/index.ts';
import { MAX_MODEL_REF } from '../../registry/model-ref.ts';
import { DecodeMethod } from '../shared/enums.ts';
import { SettingField } from '../shared/setting-field.ts';
import { GraphQLUpload } from '../shared/upload.scalar.ts';

@InputType({
  description: 'Exactly one of `modelId` and `model`, and exactly one of `image` (multipart upload) and `imageBase64`, must be given',
})
export class RequestCaptionInput {
  @Field(() => ID, { nullable: true, description: 'the model by id (or give `model`)' })
  modelId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: `the model by reference: "name@alias" (the version the alias points at when the request is made), "name:version" or a model id; at most ${MAX_MODEL_REF} characters`,
  })
  model?: string | null;

  @Field(() => GraphQLUpload, { nullable: true, description: 'JPEG, PNG or WebP as a GraphQL multipart upload' })
  image?: Promise<FileUpload> | null;

  @Field(() => String, { nullable: true, description: 'JPEG, PNG or WebP bytes in base64 (a data: URL prefix is allowed)' })
  imageBase64?: string | null;

  @Field(() => DecodeMethod, {
    nullable: true,
    defaultValue: DECODE_METHOD_SETTING.default.toUpperCase(),
    description: DECODE_METHOD_SETTING.description,
  })
  method?: DecodeMethod | null;

  @SettingField(C.beamWidth)
  beamWidth?: number | null;

  @SettingField(C.maxLength)
  maxLength?: number | null;

  @SettingField(C.temperature)
  temperature?: number | null;
}
