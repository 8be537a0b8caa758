// Documents that passed validation, by their query text: clients send the same few operations over and over
// (a thousand captionStream subscriptions are one text), and graphql-js's validation of each was ~8 % of the API's
// time under load (issue 19). Only documents that passed every rule are kept (a refused text is checked again each
// time: its errors carry their own locations and codes), the texts are within GLIMPSE_MAX_QUERY_LENGTH, and the
// cache holds a bounded number of them, least recently used out first. The schema and the rules are fixed for a
// server's life, so a text's verdict never changes.
import type { DocumentNode } from 'graphql';

/** texts kept per cache: a client cycling through more unique texts just misses */
export const DOCUMENT_CACHE_SIZE = 500;

export class DocumentCache {
  private readonly documents = new Map<string, DocumentNode>();

  constructor(private readonly size = DOCUMENT_CACHE_SIZE) {}

  get(text: string): DocumentNode | undefined {
    const document = this.documents.get(text);
    if (document) {
      // most recently used last: Map keeps insertion order
      this.documents.delete(text);
      this.documents.set(text, document);
    }
    return document;
  }

  /** a document that passed every rule */
  add(text: string, document: DocumentNode): void {
    this.documents.delete(text);
    this.documents.set(text, document);
    if (this.documents.size > this.size) this.documents.delete(this.documents.keys().next().value!);
  }
}
