// The variables of section `limits` (request, upload and query bounds; docs/security.md): a part of the one
// table in ./variables.ts, kept apart only for its size.
import { byteSize, integer } from './parse.ts';
import { fills, GiB, MiB, type Variable } from './variable.ts';

export const LIMIT_VARIABLES = {
  GLIMPSE_MAX_IMAGE_BYTES: fills('maxImageBytes', {
    section: 'limits',
    default: '`10485760` (10 MiB)',
    doc: 'largest image requestCaption accepts',
    parse: integer(10 * MiB, 1024, 100 * MiB),
  }),
  GLIMPSE_BACKBONE_MAX_BYTES: fills('backboneDownloads.maxBytes', {
    section: 'limits',
    default: '`536870912` (512 MiB)',
    doc: 'most bytes one backbone load downloads or reads',
    parse: integer(512 * MiB, 1024, 64 * GiB),
  }),
  GLIMPSE_BACKBONE_TIMEOUT_SECONDS: fills('backboneDownloads.timeoutSeconds', {
    section: 'limits',
    default: '`30`',
    doc: 'longest silence while a backbone download connects or reads',
    parse: integer(30, 1, 3600),
  }),
  GLIMPSE_MAX_SYNTHETIC_IMAGES: fills('maxSyntheticImages', {
    section: 'limits',
    default: '`20000`',
    doc: 'largest synthetic set createDataset accepts',
    parse: integer(20_000, 1, 1_000_000),
  }),
  GLIMPSE_MAX_DATASET_UPLOAD_BYTES: fills('maxDatasetUploadBytes', {
    section: 'limits',
    default: '`200MiB`',
    doc: 'largest zip createDataset(archive) accepts',
    parse: byteSize(200 * MiB, 1024, 16 * GiB),
  }),
  // the decode budget of an uploaded zip's images (src/sources/archive-images.ts). Defaults: a 24-megapixel 8-bit
  // RGB photo decodes to 72 MB (under 128 MiB); a 200 MiB zip of COCO-sized JPEGs (~160 KB, 640×480) holds ~1,300
  // of them, 1.2 GB decoded (under 2 GiB); one core decodes ~40–60 MB/s on a loaded machine, so 2 GiB takes under a
  // minute (120 s leaves room for waiting behind another upload).
  GLIMPSE_MAX_DECODED_IMAGE_BYTES: fills('datasetChecks.maxImageDecodedBytes', {
    section: 'limits',
    default: '`128MiB`',
    doc: 'bytes one image of an uploaded zip may decode to: width × height × channels × bytes per sample, from its header',
    parse: byteSize(128 * MiB, 1024, 2 ** 40),
  }),
  GLIMPSE_MAX_DATASET_DECODED_BYTES: fills('datasetChecks.maxDecodedBytes', {
    section: 'limits',
    default: '`2GiB`',
    doc: 'the same summed over all captioned images of one uploaded zip',
    parse: byteSize(2 * GiB, 1024, 2 ** 50),
  }),
  GLIMPSE_DATASET_CHECK_SECONDS: fills('datasetChecks.seconds', {
    section: 'limits',
    default: '`120`',
    doc: "longest one uploaded zip's unpack and image checks may take, waiting for a check thread included",
    parse: integer(120, 1, 86_400),
  }),
  GLIMPSE_DATASET_CHECK_THREADS: fills('datasetChecks.threads', {
    section: 'limits',
    default: '`1`',
    doc: 'API worker threads decoding uploaded images, one image each, shared by all uploads',
    parse: integer(1, 1, 64),
  }),
  GLIMPSE_MAX_QUERY_LENGTH: fills('queryLimits.maxLength', {
    section: 'limits',
    default: '`32768`',
    doc: 'characters of a GraphQL query',
    parse: integer(32_768, 1024, 10_000_000),
  }),
  GLIMPSE_MAX_QUERY_TOKENS: fills('queryLimits.maxTokens', {
    section: 'limits',
    default: '`2000`',
    doc: 'lexical tokens of a GraphQL query',
    parse: integer(2000, 100, 1_000_000),
  }),
  GLIMPSE_MAX_QUERY_DEPTH: fills('queryLimits.maxDepth', {
    section: 'limits',
    default: '`10`',
    doc: 'nesting of selections',
    parse: integer(10, 3, 1000),
  }),
  GLIMPSE_MAX_QUERY_ALIASES: fills('queryLimits.maxAliases', {
    section: 'limits',
    default: '`15`',
    doc: 'aliases per operation',
    parse: integer(15, 1, 100_000),
  }),
  GLIMPSE_MAX_QUERY_DIRECTIVES: fills('queryLimits.maxDirectives', {
    section: 'limits',
    default: '`50`',
    doc: 'directives per operation',
    parse: integer(50, 1, 100_000),
  }),
  GLIMPSE_MAX_QUERY_COST: fills('queryLimits.maxCost', {
    section: 'limits',
    default: '`50000`',
    doc: 'estimated rows per operation',
    parse: integer(50_000, 100, 1_000_000_000),
  }),
  GLIMPSE_MUTATIONS_PER_MINUTE: fills('mutationsPerMinute', {
    section: 'limits',
    default: '`120`',
    doc: 'mutations per client IP address per minute (callers without a valid API key); 0 = unlimited',
    parse: integer(120, 0, 1_000_000),
  }),
  // a key is one tenant, often a proxy for many users behind one address: its budget is its own, and the
  // address it comes from is not charged
  GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY: fills('mutationsPerMinutePerKey', {
    section: 'limits',
    default: '`1200`',
    doc: 'mutations per valid API key per minute, whatever address they come from, for keys without a budget of their own (setApiKeyBudget); 0 = unlimited',
    parse: integer(1200, 0, 1_000_000),
  }),
  // admission by queue depth (src/queue/caption-admission.ts): 500 waiting is ~35 s of decoding at the demo
  // model's batched rate on 2 cores; past it a client is told to come back instead of waiting minutes
  GLIMPSE_CAPTION_QUEUE_LIMIT: fills('captionQueueLimit', {
    section: 'limits',
    default: '`500`',
    doc: 'caption jobs waiting for a worker beyond which requestCaption answers SERVICE_OVERLOADED (retryable)',
    parse: integer(500, 1, 10_000_000),
  }),
  // a browser tab holds one WebSocket (the dashboard and the IDE multiplex on it) and one or two subscriptions;
  // 100 × 20 is 2,000 streams per address at most, each re-reading the database at least every 5 s
  GLIMPSE_WS_CONNECTIONS_PER_ADDRESS: fills('webSocketLimits.connectionsPerAddress', {
    section: 'limits',
    default: '`100`',
    doc: 'open WebSockets per client IP address; 0 = unlimited',
    parse: integer(100, 0, 1_000_000),
  }),
  GLIMPSE_WS_SUBSCRIPTIONS_PER_CONNECTION: fills('webSocketLimits.subscriptionsPerConnection', {
    section: 'limits',
    default: '`20`',
    doc: 'operations running at once on one WebSocket; 0 = unlimited',
    parse: integer(20, 0, 1_000_000),
  }),
  GLIMPSE_MAX_IMAGE_PIXELS: fills('maxImagePixels', {
    section: 'limits',
    default: '`40000000`',
    doc: 'largest caption image in pixels',
    parse: integer(40_000_000, 1024, 1_000_000_000),
  }),
} satisfies Record<string, Variable<unknown>>;
