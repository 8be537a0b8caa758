// What express's body parsers refuse (a JSON body over the limit, malformed JSON), answered as GraphQL-shaped JSON.
import type { ErrorRequestHandler } from 'express';

/** Body parsers' errors (e.g. a JSON body over the limit) as GraphQL-shaped JSON. */
export function bodyErrors(maxImageBytes: number): ErrorRequestHandler {
  return (error, _req, res, next) => {
    const status = typeof error?.status === 'number' ? error.status : 500;
    if (status >= 500) return next(error);
    if (status === 413) {
      // the only large thing a request legitimately carries is a caption image (base64 or upload)
      const message = `the request body exceeds ${error.limit ?? 'the limit of'} bytes: caption images may be at most ${maxImageBytes} bytes (GLIMPSE_MAX_IMAGE_BYTES)`;
      res.status(413).json({ errors: [{ message, extensions: { code: 'BAD_USER_INPUT', field: 'body', limit: maxImageBytes } }] });
      return;
    }
    res.status(status).json({ errors: [{ message: error.message, extensions: { code: 'BAD_REQUEST' } }] });
  };
}
