// GraphQL multipart requests (https://github.com/jaydenseric/graphql-multipart-request-spec) whose files are
// buffered under the API process's own temp folder (<dataDir>/tmp/<pid>-…, src/storage/temp.ts), not os.tmpdir().
// graphql-upload's processRequest buffers each file through an fs-capacitor WriteStream it builds without options,
// so in os.tmpdir(), where a process killed mid-upload left its `capacitor-*.tmp` files for good. This is the same
// parsing with the same pieces (busboy, fs-capacitor, graphql-upload's Upload class, which the Upload scalar
// recognises) and the same errors, given to graphqlUploadExpress as its `processRequest`; the only change is
// fs-capacitor's `tmpdir` option. A file is released (deleted) when the response closes, as before; what a crash
// leaves behind is swept at the next start.
import type { IncomingMessage, ServerResponse } from 'node:http';
import busboy from 'busboy';
import { WriteStream } from 'fs-capacitor';
import type { FileUpload, ProcessRequestFunction } from 'graphql-upload/processRequest.mjs';
import Upload from 'graphql-upload/Upload.mjs';

const SPEC = 'https://github.com/jaydenseric/graphql-multipart-request-spec';

type Operations = Record<string, unknown> | Record<string, unknown>[];

/** an error graphqlUploadExpress turns into its HTTP status (src/server/app.ts answers it as JSON) */
function httpError(status: number, message: string): Error {
  return Object.assign(new Error(message), { status, statusCode: status, expose: status < 500 });
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** sets `value` at a dotted `path` of `root` (creating missing objects), refusing prototype keys */
function setPath(root: Operations, path: string, value: unknown): void {
  const keys = path.split('.');
  if (keys.some((key) => UNSAFE_KEYS.has(key))) throw new Error('unsafe path');
  let node = root as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || next === null) node[key] = {};
    else if (typeof next !== 'object') throw new Error('not an object');
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

interface Options {
  maxFieldSize?: number | undefined;
  maxFileSize?: number | undefined;
  maxFiles?: number | undefined;
}

/** graphql-upload's processRequest, with each file buffered in `tempDir()` (read per file: the folder a sweep left) */
export function processRequestIn(tempDir: () => string): ProcessRequestFunction {
  return (request: IncomingMessage, response: ServerResponse, options: Options = {}) => {
    const { maxFieldSize = 1_000_000, maxFileSize = Number.POSITIVE_INFINITY, maxFiles = Number.POSITIVE_INFINITY } = options;
    return new Promise<Operations>((resolve, reject) => {
      let released = false;
      let exitError: Error | undefined;
      let operations: Operations | undefined;
      let map: Map<string, Upload> | undefined;
      const parser = busboy({
        headers: request.headers,
        defParamCharset: 'utf8',
        limits: { fieldSize: maxFieldSize, fields: 2, fileSize: maxFileSize, files: maxFiles },
      });

      function exit(error: Error, isParserError = false): void {
        if (exitError) return;
        exitError = error;
        if (map) for (const upload of map.values()) if (!upload.file) upload.reject(exitError);
        if (isParserError) parser.destroy();
        else parser.destroy(exitError);
        request.unpipe(parser);
        // the request must go on being read after the parser is gone (see graphql-upload's processRequest)
        setImmediate(() => request.resume());
        reject(exitError);
      }

      /** reads the map field: each file's Upload placed at its paths in the operations; the error to exit with */
      function readMap(value: string, ops: Operations): Error | undefined {
        let parsed: unknown;
        try {
          parsed = JSON.parse(value);
        } catch {
          return httpError(400, `Invalid JSON in the ‘map’ multipart field (${SPEC}).`);
        }
        if (typeof parsed !== 'object' || !parsed || Array.isArray(parsed))
          return httpError(400, `Invalid type for the ‘map’ multipart field (${SPEC}).`);
        const entries = Object.entries(parsed);
        if (entries.length > maxFiles) return httpError(413, `${maxFiles} max file uploads exceeded.`);
        map = new Map();
        for (const [fieldName, paths] of entries) {
          const entry = `the ‘map’ multipart field entry key ‘${fieldName}’`;
          if (!Array.isArray(paths)) return httpError(400, `Invalid type for ${entry} array (${SPEC}).`);
          const upload = new Upload();
          map.set(fieldName, upload);
          for (const [index, path] of paths.entries()) {
            if (typeof path !== 'string') return httpError(400, `Invalid type for ${entry} array index ‘${index}’ value (${SPEC}).`);
            try {
              setPath(ops, path, upload);
            } catch {
              return httpError(400, `Invalid object path for ${entry} array index ‘${index}’ value ‘${path}’ (${SPEC}).`);
            }
          }
        }
        return undefined;
      }

      parser.on('field', (fieldName, value, { valueTruncated }) => {
        if (valueTruncated)
          return exit(httpError(413, `The ‘${fieldName}’ multipart field value exceeds the ${maxFieldSize} byte size limit.`));
        if (fieldName === 'operations') {
          try {
            operations = JSON.parse(value) as Operations;
          } catch {
            return exit(httpError(400, `Invalid JSON in the ‘operations’ multipart field (${SPEC}).`));
          }
          if (typeof operations !== 'object' || !operations)
            return exit(httpError(400, `Invalid type for the ‘operations’ multipart field (${SPEC}).`));
        } else if (fieldName === 'map') {
          if (!operations) return exit(httpError(400, `Misordered multipart fields; ‘map’ should follow ‘operations’ (${SPEC}).`));
          const error = readMap(value, operations);
          if (error) return exit(error);
          resolve(operations);
        }
      });

      parser.on('file', (fieldName, stream, { filename, encoding, mimeType: mimetype }) => {
        const ignore = () => {
          stream.on('error', () => {});
          stream.resume();
        };
        if (!map) {
          ignore();
          return exit(httpError(400, `Misordered multipart fields; files should follow ‘map’ (${SPEC}).`));
        }
        const upload = map.get(fieldName);
        if (!upload) return ignore(); // extraneous: the rest can still be processed
        let fileError: Error | undefined;
        const dir = tempDir();
        const capacitor = new WriteStream({ tmpdir: () => dir });
        capacitor.on('error', () => {
          stream.unpipe();
          stream.resume();
        });
        stream.on('limit', () => {
          fileError = httpError(413, `File truncated as it exceeds the ${maxFileSize} byte size limit.`);
          stream.unpipe();
          capacitor.destroy(fileError);
        });
        stream.on('error', (error: Error) => {
          fileError = error;
          stream.unpipe();
          capacitor.destroy(fileError);
        });
        const file: FileUpload & { capacitor: WriteStream } = {
          filename: filename ?? '',
          mimetype,
          encoding,
          createReadStream(readOptions) {
            const error = fileError ?? (released ? exitError : undefined);
            if (error) throw error;
            return capacitor.createReadStream(readOptions);
          },
          capacitor,
        };
        Object.defineProperty(file, 'capacitor', { enumerable: false, configurable: false, writable: false });
        stream.pipe(capacitor);
        upload.resolve(file);
      });

      parser.once('filesLimit', () => exit(httpError(413, `${maxFiles} max file uploads exceeded.`)));
      parser.once('finish', () => {
        request.unpipe(parser);
        request.resume();
        if (!operations) return exit(httpError(400, `Missing multipart field ‘operations’ (${SPEC}).`));
        if (!map) return exit(httpError(400, `Missing multipart field ‘map’ (${SPEC}).`));
        for (const upload of map.values()) if (!upload.file) upload.reject(httpError(400, 'File missing in the request.'));
      });
      // `on`: the same parser may emit several errors (a malformed part header and an unexpected end)
      parser.on('error', (error: Error) => exit(error, true));

      response.once('close', () => {
        released = true;
        // release the buffered files: each is deleted once its read streams are done
        if (map) for (const upload of map.values()) (upload.file as { capacitor?: WriteStream } | undefined)?.capacitor?.release();
      });
      request.once('close', () => {
        if (!request.readableEnded) exit(httpError(499, 'Request disconnected during file upload stream parsing.'));
      });
      request.pipe(parser);
    });
  };
}
