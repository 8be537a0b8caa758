// The caption page's conversation with the API: upload an image as a caption request, then follow
// its captionStream word by word.
import { query, subscribe } from './api.ts';
import type { CaptionWord } from './caption-words.ts';

export interface StreamEvent extends CaptionWord {
  index: number;
  done: boolean;
  caption: string | null;
}

const REQUEST = `mutation Caption($input: RequestCaptionInput!) { requestCaption(input: $input) { id status } }`;
const STREAM = `subscription Stream($id: ID!) { captionStream(requestId: $id) { index token attention gridSize done caption } }`;

const readAsDataUrl = (file: Blob): Promise<string> =>
  new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(reader.error ?? new Error('could not read the file'));
    reader.readAsDataURL(file);
  });

/** Uploads the image for `model` (a model id or a reference such as "name@alias"); resolves to the caption request's id. */
export async function requestCaption(file: Blob, model: string, method: string): Promise<string> {
  const input = { model, method, imageBase64: await readAsDataUrl(file) };
  return (await query<{ requestCaption: { id: string } }>(REQUEST, { input })).requestCaption.id;
}

/** Follows a request's words and its end; returns the unsubscribe function. */
export function followCaption(
  requestId: string,
  on: { word: (event: StreamEvent) => void; done: (caption: string) => void; error: (error: Error) => void },
): () => void {
  return subscribe<{ captionStream: StreamEvent }>(
    STREAM,
    { id: requestId },
    ({ captionStream: event }) => (event.done ? on.done(event.caption ?? '') : on.word(event)),
    on.error,
  );
}
