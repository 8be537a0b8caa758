// What the end-to-end tests share: a worker logger that prints only errors, and the captionStream
// subscription with the shape of its events.

export const quietLog = { info: (_message: string) => {}, error: (message: string, error?: unknown) => console.error(message, error) };

export const CAPTION_STREAM = `subscription($id: ID!) { captionStream(requestId: $id) { index token attention gridSize logProb done caption } }`;

export interface CaptionEvent {
  index: number;
  token: string | null;
  attention: number[] | null;
  gridSize: number | null;
  logProb: number | null;
  done: boolean;
  caption: string | null;
}
